"""A member edits her action plan from several devices at once with one ETag, on PostgreSQL: exactly one change
wins, the others are told it changed (409/412 problem details), never a 500; the road gets one step, not several."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from cercle_shared.contracts import registration as reg
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES

pytestmark = pytest.mark.integration

DEVICES = 8


@pytest.fixture
def insights(pg_url) -> Iterator[ServiceHarness]:
    upgrade(SERVICES["insights"].bootstrap().MIGRATIONS, pg_url)
    h = ServiceHarness("insights", pg_url)
    now = h.clock.now
    h.publish(
        reg.CommunityCreated(
            community_id="c-plan",
            name_fr="CoP",
            name_en="CoP",
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=now,
        )
    )
    h.publish(
        reg.MembershipJoined(
            membership_id="ms-plan", community_id="c-plan", member_id="ana", role="participant", joined_at=now
        )
    )
    yield h
    h.runtime.engine.dispose()


def _open_plan(h: ServiceHarness) -> tuple[str, str]:
    opened = h.api.post(
        "/v1/action-plans",
        json={"title": "Pauses actives", "theme_id": "t-plan", "community_id": "c-plan"},
        headers=h.as_member("ana"),
    )
    assert opened.status_code == 201, opened.text
    return opened.json()["id"], opened.headers["ETag"]


def _all_at_once(send, n: int = DEVICES) -> list:
    barrier = threading.Barrier(n)

    def one(i: int):
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _assert_one_winner(responses, winner: int) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses if r.status_code >= 500]
    assert statuses[winner] == 1, statuses
    assert statuses[409] + statuses[412] == len(responses) - 1, statuses
    for loser in (r for r in responses if r.status_code != winner):
        assert loser.headers["content-type"].startswith("application/problem+json")


def test_parallel_edits_of_one_plan_with_one_etag_have_one_winner(insights):
    plan_id, etag = _open_plan(insights)
    headers = {**insights.as_member("ana"), "If-Match": etag}

    responses = _all_at_once(
        lambda i: insights.api.patch(f"/v1/action-plans/{plan_id}", json={"title": f"Titre {i}"}, headers=headers)
    )

    _assert_one_winner(responses, 200)
    winner = next(r for r in responses if r.status_code == 200).json()
    stored = insights.api.get(f"/v1/action-plans/{plan_id}", headers=insights.as_member("ana")).json()
    assert stored["title"] == winner["title"]


def test_parallel_steps_of_one_plan_with_one_etag_record_one_step(insights):
    plan_id, etag = _open_plan(insights)
    headers = {**insights.as_member("ana"), "If-Match": etag}

    responses = _all_at_once(
        lambda i: insights.api.post(
            f"/v1/action-plans/{plan_id}/steps",
            json={"step": "allies_found", "notes": f"appareil {i}"},
            headers=headers,
        )
    )

    _assert_one_winner(responses, 201)
    with insights.runtime.engine.connect() as db:
        steps = db.execute(
            text("SELECT step FROM action_plan_steps WHERE plan_id = :p ORDER BY step"), {"p": plan_id}
        ).all()
    assert [s.step for s in steps] == ["allies_found", "need_sensed"]
