"""A hostile-but-valid event (it passes its contract) never makes a projection fail forever (issue 8, item 11's class).

Each one once raised in the reaction, so the consumer retried it and dead-lettered it: the fact was lost for good.
Now each is applied, with what it says made storable: a naive time is read as UTC, a time past the calendar's edge
is clamped, a count is kept within what a database column holds, free text loses what no database takes (NUL, lone
surrogates) and is cut to its column, a region that is not one is dropped, and a kind, status, role or mode this
version does not know (a newer producer's) is kept as the string it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cercle_insights.adapters import orm
from cercle_insights.domain.model import Community, CommunitySession, Membership
from cercle_insights.service_layer import reactions
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import EventContext
from tests.support.services import auth

from . import events as ev
from .conftest import NOW

EDGE_WEST = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))  # past year 9999 once in UTC
EDGE_EAST = datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))  # before year 1 once in UTC
MAX_INT = 2**31 - 1


def held(community_id: str, session_id: str, *, at: datetime) -> ses.SessionHeld:
    return ses.SessionHeld(session_id=session_id, community_id=community_id, starts_at=at, held_at=at)


def attendance(community_id: str, session_id: str, *, present: int, absent: int) -> ses.SessionAttendanceRecorded:
    return ses.SessionAttendanceRecorded(
        session_id=session_id,
        community_id=community_id,
        confirmed=present,
        present=present,
        absent=absent,
        recorded_at=ev.day(1),
    )


def status_changed(community_id: str) -> reg.CommunityStatusChanged:
    return reg.CommunityStatusChanged(community_id=community_id, status="paused", changed_at=ev.day(1))


def stored(insights, cls, key):
    with insights.uow() as uow:
        return uow.db.get(cls, key)


@pytest.mark.parametrize("at", [datetime(2026, 9, 1, 12), EDGE_WEST, EDGE_EAST], ids=["naive", "west", "east"])
def test_membership_times_that_are_naive_or_past_the_calendar_edge_are_applied(insights, project, at):
    community, member = ev.new_id(), ev.new_id()
    membership = ev.joined(community, member, at=at)
    project(ev.community_created(community), membership, ev.left(membership, at=at), ev.erased(member, at=at))
    kept = stored(insights, Membership, membership.membership_id)
    assert kept.joined_at.tzinfo is not None
    assert kept.left_at is not None
    assert kept.member_id is None
    response = insights.api.get(f"/v1/communities/{community}/stats", headers=auth("operator"))
    assert response.status_code == 200, response.text
    assert response.json()["members"]["left_to_date"] == 1


def test_a_naive_time_is_read_as_utc(insights, project):
    community, session = ev.new_id(), ev.new_id()
    project(ev.community_created(community))
    naive = ev.scheduled(community, session).model_copy(
        update={"starts_at": datetime(2026, 12, 1, 18), "ends_at": datetime(2026, 12, 1, 20)}
    )
    project(naive)
    assert stored(insights, CommunitySession, session).starts_at == datetime(2026, 12, 1, 18, tzinfo=UTC)


@pytest.mark.parametrize("at", [EDGE_WEST, EDGE_EAST], ids=["west", "east"])
def test_session_times_past_the_calendar_edge_are_clamped(insights, project, at):
    community, session = ev.new_id(), ev.new_id()
    project(ev.community_created(community))
    edge = ev.scheduled(community, session).model_copy(update={"starts_at": at, "ends_at": at})
    project(edge, held(community, session, at=at))
    kept = stored(insights, CommunitySession, session)
    assert kept.starts_at in (datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))
    assert insights.api.get(f"/v1/communities/{community}/stats", headers=auth("operator")).status_code == 200


@pytest.mark.parametrize(("given", "kept"), [(10**30, MAX_INT), (-(10**30), 0), (-5, 0), (12, 12)])
def test_counts_are_kept_within_what_a_column_holds(insights, project, stats, given, kept):
    community, session = ev.new_id(), ev.new_id()
    project(
        ev.community_created(community),
        ev.scheduled(community, session).model_copy(update={"capacity": given}),
        attendance(community, session, present=given, absent=given),
    )
    session_row = stored(insights, CommunitySession, session)
    assert (session_row.capacity, session_row.present, session_row.absent) == (kept, kept, kept)
    figures = stats(community)
    assert figures.attendance.present == kept


@pytest.mark.parametrize(
    "name",
    ["CoP\x00Laval", "CoP \ud800 Laval", "CoP " + "L" * 5000, "CoP\r\nLaval"],
    ids=["nul", "surrogate", "overlong", "crlf"],
)
def test_free_text_is_made_storable(insights, project, name):
    community = ev.new_id()
    project(ev.community_created(community, name=name, domain="d" * 500))
    kept = stored(insights, Community, community)
    for text, column in ((kept.name_fr, orm.communities.c.name_fr), (kept.domain, orm.communities.c.domain)):
        assert len(text) <= column.type.length
        assert "\x00" not in text
        text.encode()  # no lone surrogate left
    assert kept.name_fr.startswith("CoP")
    listed = insights.api.get("/v1/communities", headers=auth("operator"))
    assert listed.status_code == 200, listed.text


def test_regions_that_are_not_regions_are_dropped(insights, project):
    def in_region(code: str) -> int:
        response = insights.api.get(f"/v1/regions/{code}/stats", headers=auth("operator"))
        assert response.status_code == 200, response.text
        return response.json()["communities"]["total"]

    before = in_region("13"), in_region("06")
    community = ev.new_id()
    project(ev.community_created(community, regions=["13", "999", "x" * 300, "", "13", "06"]))
    assert stored(insights, Community, community).regions == ["06", "13"]
    assert (in_region("13"), in_region("06")) == (before[0] + 1, before[1] + 1)


def test_kinds_statuses_roles_and_modes_this_version_does_not_know_are_kept(insights):
    """A newer producer's values, once the contracts widen (today's contract refuses them at the door, so the
    reactions are run here as the consumer runs them, with events built past the contract)."""
    community, session, member = ev.new_id(), ev.new_id(), ev.new_id()

    def apply(reaction, event, **unknown):
        event = type(event).model_construct(**{**event.model_dump(), **unknown})
        with insights.uow() as uow:
            reaction(event, uow, EventContext(ev.new_id(), "test", "/cercle/test", NOW, "test", ""))
            uow.commit()

    apply(reactions.community_created, ev.community_created(community), kind="study_group", status="archived")
    apply(reactions.membership_joined, ev.joined(community, member), role="mentor")
    apply(reactions.session_scheduled, ev.scheduled(community, session), mode="walking")
    apply(reactions.community_status_changed, status_changed(community), status="dormant-for-a-very-long-while")
    kept = stored(insights, Community, community)
    assert kept.kind == "study_group"
    assert kept.status == "dormant-fo"  # cut to its column
    assert stored(insights, CommunitySession, session).mode == "walking"
    stats = insights.api.get(f"/v1/communities/{community}/stats", headers=auth("operator"))
    assert stats.status_code == 200, stats.text
    assert stats.json()["community"]["status"] == "dormant-fo"
    assert stats.json()["members"]["active"] == 1
    assert insights.api.get("/v1/communities", headers=auth("operator")).status_code == 200
    assert insights.api.get("/v1/regions/13/stats", headers=auth("operator")).status_code == 200
