"""Ten updates sent at once with the same If-Match, on PostgreSQL: exactly one wins, the others are told their
version is stale (409/412), never a 500 -- for every sessions route that takes If-Match (issue 8: item 6)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from cercle_shared.contracts import registration as reg
from tests.support.services import auth, running_service

from .helpers import apply_directly, in_days, session_body

pytestmark = pytest.mark.integration

RACERS = 10
OPERATOR = auth()


def _race(send: Callable[[int], object]) -> list:
    barrier = threading.Barrier(RACERS)

    def go(i: int):
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(go, range(RACERS)))


def _one_winner(responses) -> None:
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, [(r.status_code, r.text) for r in responses]
    assert set(codes) <= {200, 409, 412}, [(r.status_code, r.text) for r in responses if r.status_code != 200]
    for loser in (r for r in responses if r.status_code != 200):
        assert loser.headers["content-type"].startswith("application/problem+json")


def _community(api, community_id: str) -> None:
    apply_directly(
        api.app_state,
        reg.CommunityCreated(
            community_id=community_id,
            name_fr="CoP",
            name_en="CoP",
            kind="community_of_practice",
            regions=["06"],
            cadence=6,
            status="active",
            created_at=datetime.now(UTC),
        ),
    )


def test_parallel_session_updates_with_one_etag_have_one_winner(kafka, pg_url):
    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        _community(api, "c-race")
        created = api.post("/v1/communities/c-race/sessions", json=session_body(capacity=5), headers=OPERATOR)
        assert created.status_code == 201, created.text
        url = f"/v1/sessions/{created.json()['id']}"
        etag = created.headers["ETag"]

        responses = _race(
            lambda i: api.patch(url, json={"title": f"Titre {i}"}, headers={**OPERATOR, "If-Match": etag})
        )
        _one_winner(responses)
        # moves too (they raise the calendar sequence and publish a reschedule)
        etag = api.get(url, headers=OPERATOR).headers["ETag"]
        responses = _race(
            lambda i: api.patch(
                url,
                json={"starts_at": in_days(20 + i), "ends_at": in_days(20 + i, 2)},
                headers={**OPERATOR, "If-Match": etag},
            )
        )
        _one_winner(responses)
        read = api.get(url, headers=OPERATOR).json()
        assert read["version"] == 3
        assert read["sequence"] == 1


def test_parallel_cycle_updates_with_one_etag_have_one_winner(kafka, pg_url):
    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        _community(api, "c-race")
        now = datetime.now(UTC)
        created = api.post(
            "/v1/communities/c-race/cycles",
            json={
                "label": "2030-2031",
                "starts_on": (now + timedelta(days=30)).date().isoformat(),
                "ends_on": (now + timedelta(days=300)).date().isoformat(),
                "proposals_close_at": (now + timedelta(days=10)).isoformat(),
                "voting_opens_at": (now + timedelta(days=10)).isoformat(),
                "voting_closes_at": (now + timedelta(days=20)).isoformat(),
            },
            headers=OPERATOR,
        )
        assert created.status_code == 201, created.text
        url = f"/v1/cycles/{created.json()['id']}"
        etag = api.get(url, headers=OPERATOR).headers["ETag"]
        responses = _race(
            lambda i: api.patch(
                url,
                json={"voting_closes_at": (now + timedelta(days=21 + i)).isoformat(), "label": f"2030-31 ({i})"},
                headers={**OPERATOR, "If-Match": etag},
            )
        )
        _one_winner(responses)
        assert api.get(url, headers=OPERATOR).json()["version"] == 2


def test_cycle_cursors_page_and_refuse_a_value_that_is_not_a_date_on_postgresql(kafka, pg_url):
    """The cycles list sorts by a DATE column: on PostgreSQL a bad cursor value would fail in the query."""
    import base64

    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        _community(api, "c-pages")
        now = datetime.now(UTC)
        for year in range(3):
            start = now + timedelta(days=30 + 400 * year)
            response = api.post(
                "/v1/communities/c-pages/cycles",
                json={
                    "label": f"an {year}",
                    "starts_on": start.date().isoformat(),
                    "ends_on": (start + timedelta(days=300)).date().isoformat(),
                    "proposals_close_at": (now + timedelta(days=10)).isoformat(),
                    "voting_opens_at": (now + timedelta(days=10)).isoformat(),
                    "voting_closes_at": (now + timedelta(days=20)).isoformat(),
                },
                headers=OPERATOR,
            )
            assert response.status_code == 201, response.text
        labels, cursor = [], None
        while True:
            page = api.get(
                "/v1/communities/c-pages/cycles",
                params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                headers=OPERATOR,
            ).json()
            labels += [c["label"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert labels == ["an 0", "an 1", "an 2"]
        crafted = base64.urlsafe_b64encode(b'["not-a-date", "id"]').decode().rstrip("=")
        refused = api.get("/v1/communities/c-pages/cycles", params={"cursor": crafted}, headers=OPERATOR)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "cursor"
