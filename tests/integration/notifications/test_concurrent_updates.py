"""Ten members' devices save the same preferences at the same moment with one ETag, on PostgreSQL: exactly one
wins (200), the others are told it changed (409/412), never a 500 (issue 8, item 6)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES, auth

pytestmark = pytest.mark.integration

CROWD = 10


@pytest.fixture
def notifications(new_database) -> Iterator[ServiceHarness]:
    """The real app on PostgreSQL (no broker needed: preferences are plain HTTP)."""
    url = new_database("notifications")
    upgrade(SERVICES["notifications"].bootstrap().MIGRATIONS, url)
    h = ServiceHarness("notifications", url)
    yield h
    h.runtime.engine.dispose()


def put_all(h: ServiceHarness, member: str, headers: dict[str, str]) -> list:
    barrier = threading.Barrier(CROWD)
    languages = ["fr", "en"] * (CROWD // 2)

    def put(n: int):
        barrier.wait()
        return h.api.put(
            f"/v1/members/{member}/preferences",
            json={"language": languages[n], "opt_out": ["session_registration_waitlisted"] if n % 3 else []},
            headers=headers,
        )

    with ThreadPoolExecutor(CROWD) as pool:
        return list(pool.map(put, range(CROWD)))


def assert_one_winner(responses) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses if r.status_code == 500]
    assert statuses[200] == 1, statuses
    assert statuses[409] + statuses[412] == CROWD - 1, statuses
    for loser in (r for r in responses if r.status_code != 200):
        assert loser.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("saved_before", [False, True], ids=["first-save", "update"])
def test_ten_parallel_updates_with_one_etag_make_one_winner(notifications, saved_before):
    member = f"m-{uuid.uuid4().hex[:8]}"
    headers = auth("member", member_id=member)
    if saved_before:
        first = notifications.api.put(
            f"/v1/members/{member}/preferences", json={"language": "fr", "opt_out": []}, headers=headers
        )
        assert first.status_code == 200, first.text
    etag = notifications.api.get(f"/v1/members/{member}/preferences", headers=headers).headers["ETag"]

    responses = put_all(notifications, member, {**headers, "If-Match": etag})

    assert_one_winner(responses)
    [winner] = [r for r in responses if r.status_code == 200]
    stored = notifications.api.get(f"/v1/members/{member}/preferences", headers=headers)
    assert stored.json() == winner.json()
    assert stored.headers["ETag"] == winner.headers["ETag"] != etag


def test_ten_parallel_first_saves_without_if_match_never_answer_500(notifications):
    """Without If-Match the last write wins; racing to create the row, the losers are told to read again."""
    member = f"m-{uuid.uuid4().hex[:8]}"
    responses = put_all(notifications, member, auth("member", member_id=member))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses if r.status_code not in (200, 409)]
    assert statuses[200] >= 1
