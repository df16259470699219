"""One member votes from several tabs at the same moment, on PostgreSQL: the ballot rules hold, and no 500."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from cercle_shared.contracts import registration as reg
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES

pytestmark = pytest.mark.integration

TABS = 8


@pytest.fixture
def sessions(pg_url):
    upgrade(SERVICES["sessions"].bootstrap().MIGRATIONS, pg_url)
    h = ServiceHarness("sessions", pg_url)
    yield h
    h.runtime.engine.dispose()


def _open_vote(h: ServiceHarness, *, votes_per_member: int, themes: int) -> tuple[str, list[str], dict]:
    """A community with one member, a cycle with `themes` proposed themes, and the clock inside its voting window."""
    now = h.clock.now
    h.publish(
        reg.CommunityCreated(
            community_id="c-vote",
            name_fr="CoP",
            name_en="CoP",
            kind="community_of_practice",
            regions=["06"],
            cadence=6,
            status="active",
            created_at=now,
        )
    )
    h.publish(
        reg.MembershipJoined(
            membership_id="ms-vote", community_id="c-vote", member_id="m-vote", role="participant", joined_at=now
        )
    )
    day = timedelta(days=1)
    cycle = h.api.post(
        "/v1/communities/c-vote/cycles",
        headers=h.as_operator(),
        json={
            "label": "2026-2027",
            "starts_on": str((now + 30 * day).date()),
            "ends_on": str((now + 300 * day).date()),
            "proposals_close_at": (now + 5 * day).isoformat(),
            "voting_opens_at": (now + 5 * day).isoformat(),
            "voting_closes_at": (now + 10 * day).isoformat(),
            "votes_per_member": votes_per_member,
        },
    )
    assert cycle.status_code == 201, cycle.text
    member = h.as_member("m-vote", "c-vote")
    ids = []
    for i in range(themes):
        theme = h.api.post(
            f"/v1/cycles/{cycle.json()['id']}/themes", json={"title": f"Thème {i}", "need": "besoin"}, headers=member
        )
        assert theme.status_code == 201, theme.text
        ids.append(theme.json()["id"])
    h.advance(days=6)
    return cycle.json()["id"], ids, member


def _all_at_once(h: ServiceHarness, cycle_id: str, member: dict, theme_ids: list[str]) -> list[int]:
    barrier = threading.Barrier(len(theme_ids))

    def vote(theme_id: str) -> int:
        barrier.wait()
        return h.api.post(f"/v1/cycles/{cycle_id}/votes", json={"theme_id": theme_id}, headers=member).status_code

    with ThreadPoolExecutor(len(theme_ids)) as pool:
        return list(pool.map(vote, theme_ids))


def _stored_votes(h: ServiceHarness, cycle_id: str) -> list[str]:
    with h.runtime.engine.connect() as db:
        return [
            row.theme_id for row in db.execute(text("SELECT theme_id FROM votes WHERE cycle_id = :c"), {"c": cycle_id})
        ]


def test_the_same_vote_sent_from_several_tabs_at_once_is_counted_once(sessions):
    cycle_id, (theme,), member = _open_vote(sessions, votes_per_member=3, themes=1)

    codes = _all_at_once(sessions, cycle_id, member, [theme] * TABS)

    assert sorted(codes) == [201] + [409] * (TABS - 1)
    assert _stored_votes(sessions, cycle_id) == [theme]
    assert len(sessions.published("ballot.cast")) == 1


def test_votes_for_many_themes_at_once_never_exceed_the_members_votes(sessions):
    cycle_id, themes, member = _open_vote(sessions, votes_per_member=3, themes=TABS)

    codes = _all_at_once(sessions, cycle_id, member, themes)

    assert sorted(codes) == [201] * 3 + [409] * (TABS - 3)
    assert len(_stored_votes(sessions, cycle_id)) == 3
    assert len(sessions.published("vote.cast")) == 3
