"""Many members ask for the last seats at the same moment, on PostgreSQL: nobody is overbooked."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from cercle_shared.contracts import registration as reg
from tests.support.services import auth, running_service

from .helpers import apply_directly, session_body

pytestmark = pytest.mark.integration

CAPACITY = 3
CROWD = 12


def test_concurrent_registrations_never_overbook_and_positions_are_unique(kafka, pg_url):
    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        now = datetime.now(UTC)
        apply_directly(
            api.app_state,
            reg.CommunityCreated(
                community_id="c-rush",
                name_fr="CoP",
                name_en="CoP",
                kind="community_of_practice",
                regions=["06"],
                cadence=6,
                status="active",
                created_at=now,
            ),
        )
        members = [f"m-rush-{i}" for i in range(CROWD)]
        for m in members:
            apply_directly(
                api.app_state,
                reg.MembershipJoined(
                    membership_id=f"ms-{m}", community_id="c-rush", member_id=m, role="participant", joined_at=now
                ),
            )
        session = api.post(
            "/v1/communities/c-rush/sessions", json=session_body(capacity=CAPACITY), headers=auth()
        ).json()

        barrier = threading.Barrier(CROWD)

        def register(member_id):
            barrier.wait()
            return api.post(
                f"/v1/sessions/{session['id']}/registrations", json={}, headers=auth("member", member_id=member_id)
            )

        with ThreadPoolExecutor(CROWD) as pool:
            responses = list(pool.map(register, members))

        assert [r.status_code for r in responses] == [201] * CROWD, [r.text for r in responses if r.status_code != 201]
        results = [r.json() for r in responses]
        assert sum(r["status"] == "confirmed" for r in results) == CAPACITY
        positions = sorted(r["position"] for r in results if r["status"] == "waitlisted")
        assert positions == list(range(1, CROWD - CAPACITY + 1))
        read = api.get(f"/v1/sessions/{session['id']}", headers=auth()).json()
        assert (read["confirmed"], read["waitlisted"]) == (CAPACITY, CROWD - CAPACITY)

        # and the last seat freed by a cancellation goes to exactly one waiting member
        confirmed = next(r for r in results if r["status"] == "confirmed")
        first_waiting = next(r for r in results if r.get("position") == 1)
        cancelled = api.delete(f"/v1/sessions/{session['id']}/registrations/{confirmed['id']}", headers=auth())
        assert cancelled.status_code == 200
        listed = {
            r["id"]: r for r in api.get(f"/v1/sessions/{session['id']}/registrations", headers=auth()).json()["items"]
        }
        assert listed[first_waiting["id"]]["status"] == "confirmed"
        assert sum(r["status"] == "confirmed" for r in listed.values()) == CAPACITY
