import pytest
from sqlalchemy import select

from cercle_insights.adapters import orm
from cercle_insights.service_layer import views
from cercle_shared.errors import NotFound
from cercle_shared.privacy import erasure_key

from . import events as ev
from .conftest import NOW, OPERATOR


@pytest.fixture
def community(project):
    community_id = ev.new_id()
    project(ev.community_created(community_id))
    return community_id


def test_join_leave_and_rejoin_count_one_active_member_and_two_joins(project, stats, community):
    first = ev.joined(community, "m1", at=ev.day(0))
    project(first, ev.left(first, at=ev.day(10)), ev.joined(community, "m1", at=ev.day(20)))

    members = stats(community).members
    assert (members.active, members.joined_to_date, members.left_to_date) == (1, 2, 1)


def test_average_tenure_measures_ongoing_memberships_until_now(project, stats, community):
    ended = ev.joined(community, "m1", at=ev.day(0))
    project(ended, ev.left(ended, at=ev.day(10)), ev.joined(community, "m2", at=ev.day(80)))

    assert stats(community, now=ev.day(100)).members.average_tenure_days == 15.0  # (10 + 20) / 2


def test_no_membership_means_no_tenure(stats, community):
    members = stats(community).members
    assert members.average_tenure_days is None
    assert members.active == 0


def test_active_members_are_counted_per_role(project, stats, community):
    facilitator = ev.joined(community, "m1")
    project(facilitator, ev.joined(community, "m2"), ev.role_changed(facilitator, "facilitator"))

    assert stats(community).members.active_by_role == {"participant": 1, "facilitator": 1, "coordinator": 0}


def test_the_same_join_told_twice_counts_once(project, stats, community):
    join = ev.joined(community, "m1")
    project(join, join.model_copy(update={"joined_at": ev.day(5)}))

    members = stats(community).members
    assert (members.active, members.joined_to_date) == (1, 1)


def test_a_membership_arriving_before_its_community_waits_in_a_placeholder(project, stats):
    community = ev.new_id()
    project(ev.joined(community, "m1"))
    with pytest.raises(NotFound):
        stats(community)  # not described yet: not served

    project(ev.community_created(community))
    assert stats(community).members.active == 1


def test_sessions_and_registrations_may_arrive_before_everything_else(project, stats):
    community, session = ev.new_id(), ev.new_id()
    project(ev.confirmed(community, session, "m1"), ev.scheduled(community, session), ev.community_created(community))

    figures = stats(community)
    assert figures.registrations.confirmed == 1
    assert figures.sessions.total == 1


def test_a_promotion_moves_a_registration_from_waitlisted_to_confirmed(project, stats, community):
    session = ev.new_id()
    waiting = ev.waitlisted(community, session, "m2")
    project(ev.scheduled(community, session, capacity=1), ev.confirmed(community, session, "m1"), waiting)
    assert (stats(community).registrations.confirmed, stats(community).registrations.waitlisted) == (1, 1)

    project(ev.promoted(waiting))
    registrations = stats(community).registrations
    assert (registrations.confirmed, registrations.waitlisted) == (2, 0)


def test_cancellations_decrement_what_they_cancel(project, stats, community):
    session = ev.new_id()
    seat, waiting = ev.confirmed(community, session, "m1"), ev.waitlisted(community, session, "m2")
    project(seat, waiting, ev.confirmed(community, session, "m3"))

    project(ev.registration_cancelled(seat, "confirmed"), ev.registration_cancelled(waiting, "waitlisted"))
    registrations = stats(community).registrations
    assert (registrations.confirmed, registrations.waitlisted, registrations.cancelled) == (1, 0, 2)


def test_registrations_of_a_cancelled_session_no_longer_count(project, stats, community):
    kept, dropped = ev.scheduled(community), ev.scheduled(community)
    project(kept, dropped, ev.confirmed(community, kept.session_id, "m1"))
    project(ev.confirmed(community, dropped.session_id, "m1"), ev.waitlisted(community, dropped.session_id, "m2"))

    project(ev.ses.SessionCancelled(session_id=dropped.session_id, community_id=community, cancelled_at=ev.day(2)))
    registrations = stats(community).registrations
    assert (registrations.confirmed, registrations.waitlisted) == (1, 0)


def test_sessions_are_counted_by_status_and_cancelled_ones_are_left_out_of_the_total(project, stats, community):
    past, upcoming, dropped = (ev.scheduled(community, starts_at=ev.day(d)) for d in (50, 150, 160))
    project(past, upcoming, dropped)
    project(
        ev.ses.SessionHeld(
            session_id=past.session_id, community_id=community, starts_at=past.starts_at, held_at=ev.day(50)
        ),
        ev.ses.SessionCancelled(session_id=dropped.session_id, community_id=community, cancelled_at=ev.day(60)),
    )

    sessions = stats(community, now=ev.day(100)).sessions
    assert (sessions.total, sessions.upcoming, sessions.held, sessions.cancelled) == (2, 1, 1, 1)


def test_corrected_attendance_replaces_the_first_record(project, stats, community):
    session = ev.scheduled(community, starts_at=ev.day(50))
    record = {"session_id": session.session_id, "community_id": community, "confirmed": 10, "recorded_at": ev.day(50)}
    project(
        session,
        ev.ses.SessionAttendanceRecorded(present=6, absent=4, **record),
        ev.ses.SessionAttendanceRecorded(present=8, absent=2, **record),
    )

    attendance = stats(community).attendance
    assert (attendance.sessions_recorded, attendance.present, attendance.absent, attendance.rate) == (1, 8, 2, 0.8)


def test_erasure_ends_memberships_and_drops_the_member_id_but_keeps_the_counts(project, stats, db_factory, community):
    session = ev.new_id()
    erased_member = ev.joined(community, "gone", at=ev.day(0))
    project(erased_member, ev.joined(community, "stays", at=ev.day(0)))
    project(ev.confirmed(community, session, "gone"), ev.waitlisted(community, session, "stays"))

    project(ev.erased("gone", at=ev.day(40)))

    figures = stats(community, now=ev.day(100))
    assert (figures.members.active, figures.members.joined_to_date, figures.members.left_to_date) == (1, 2, 1)
    assert figures.members.average_tenure_days == 70.0  # (40 + 100) / 2: the erased tenure still counts
    assert (figures.registrations.confirmed, figures.registrations.waitlisted) == (1, 1)
    with db_factory() as db:
        for table in (orm.memberships, orm.session_registrations):
            assert db.scalars(select(table.c.id).where(table.c.member_id == "gone")).all() == []
        assert db.scalars(select(orm.erased_members.c.key)).all() == [erasure_key("gone")]  # a digest, not the id


def test_a_late_leave_after_erasure_keeps_the_earlier_real_end(project, stats, community):
    membership = ev.joined(community, "gone", at=ev.day(0))
    project(membership, ev.erased("gone", at=ev.day(40)), ev.left(membership, at=ev.day(30)))

    members = stats(community, now=ev.day(100)).members
    assert (members.active, members.left_to_date, members.average_tenure_days) == (0, 1, 30.0)


def test_events_of_an_erased_member_arriving_late_are_kept_anonymous(project, stats, db_factory, community):
    project(ev.erased("gone", at=ev.day(40)))
    project(ev.joined(community, "gone", at=ev.day(0)), ev.confirmed(community, ev.new_id(), "gone"))

    figures = stats(community, now=ev.day(100))
    assert (figures.members.active, figures.members.joined_to_date, figures.members.left_to_date) == (0, 1, 1)
    assert figures.registrations.confirmed == 1
    with db_factory() as db:
        assert db.scalars(select(orm.memberships.c.member_id)).all() == [None]
        assert db.scalars(select(orm.session_registrations.c.member_id)).all() == [None]


def test_an_update_moves_the_community_between_regions(project, uow, community):
    project(ev.joined(community, "m1"), ev.community_updated(community, regions=["15"], status="paused"))

    laval = views.region_stats(uow(), OPERATOR, "13", NOW)
    laurentides = views.region_stats(uow(), OPERATOR, "15", NOW)
    assert laval.communities["total"] == 0
    assert (laurentides.communities["total"], laurentides.communities["paused"]) == (1, 1)
    assert laurentides.figures.members.active == 1


def test_a_status_change_is_projected(project, uow, community):
    project(ev.reg.CommunityStatusChanged(community_id=community, status="closed", changed_at=ev.day(1)))

    assert views.community_stats(uow(), OPERATOR, community, NOW).community.status == "closed"


def test_projecting_events_publishes_nothing(insights, project, community):
    project(ev.joined(community, "m1"), ev.erased("m1", at=ev.day(1)))

    assert insights.published() == []
