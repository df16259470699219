"""Reminders before a session, through the real consumer path, the scheduler's job and a real SMTP server, on the
harness's clock."""

from __future__ import annotations

from datetime import timedelta

from cercle_notifications.domain.model import DeliveryStatus, EmailKind, SkipReason
from cercle_notifications.domain.timed import TimedSkipReason, TimedStatus

from .conftest import HAND_OVER, SEND, calendar_of, event_of, local

SESSION = local(2026, 9, 15, 18)  # Tuesday 18:00 in Montréal (EDT)
SEVEN_DAYS, ONE_DAY = local(2026, 9, 8, 18), local(2026, 9, 14, 18)


def test_a_confirmed_member_gets_a_reminder_at_each_default_offset_with_the_invitation(world):
    member, email = world.person(language="en")
    session = world.schedule(SESSION)
    world.confirm(member, session)

    planned = world.timed(member)
    assert [(m.offset, m.due_at, m.not_after) for m in planned] == [
        ("P7D", SEVEN_DAYS, SESSION),
        ("P1D", ONE_DAY, SESSION),
    ]
    world.run_until(SEVEN_DAYS - timedelta(minutes=1))
    assert world.inbox(email, "Reminder") == []

    world.run_until(SEVEN_DAYS)
    [first] = world.inbox(email, "Reminder")
    assert first["Subject"] == "Reminder: Nature et santé mentale, in 7 days"
    assert "in 7 days" in first.get_body(("plain",)).get_content()
    calendar = calendar_of(first)
    assert str(calendar["METHOD"]) == "REQUEST"
    event = event_of(first)
    assert str(event["UID"]) == f"{session}@sessions.cercle"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == SESSION
    assert str(event["ATTENDEE"]) == f"mailto:{email}"

    world.run_until(ONE_DAY)
    reminders = world.inbox(email, "Reminder")
    assert [m["Subject"] for m in reminders] == [
        "Reminder: Nature et santé mentale, in 7 days",
        "Reminder: Nature et santé mentale, tomorrow",
    ]
    assert [m.status for m in world.timed(member)] == [TimedStatus.HANDED_OVER, TimedStatus.HANDED_OVER]


def test_each_reminder_is_sent_once_however_often_the_jobs_run(world, h):
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.confirm(member, session)  # the same fact told twice (another event id)
    world.run_until(ONE_DAY)
    for _ in range(3):
        h.run_job(HAND_OVER)
        h.run_job(SEND)
    assert len(world.inbox(email, "Rappel")) == 2  # both offsets were due: each once


def test_a_member_who_books_after_a_reminders_moment_gets_only_the_later_ones(world):
    world.h.clock.now = local(2026, 9, 10, 9)
    member, _ = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    assert [m.offset for m in world.timed(member) if m.status == TimedStatus.PLANNED] == ["P1D"]


def test_a_reschedule_moves_the_reminders_and_the_invitation_carries_the_new_sequence(world):
    member, email = world.person(language="en")
    session = world.schedule(SESSION)
    world.confirm(member, session)
    later = local(2026, 9, 22, 18, 30)
    world.reschedule(session, later, sequence=1)

    assert [(m.offset, m.due_at, m.not_after) for m in world.timed(member)] == [
        ("P7D", local(2026, 9, 15, 18, 30), later),
        ("P1D", local(2026, 9, 21, 18, 30), later),
    ]
    world.run_until(ONE_DAY)  # the old moment: nothing
    assert world.inbox(email, "Reminder") == []
    # the reschedule's own email carries the updated invitation
    [moved] = world.inbox(email, "Change:")
    assert (str(calendar_of(moved)["METHOD"]), int(event_of(moved)["SEQUENCE"])) == ("REQUEST", 1)

    world.run_until(local(2026, 9, 21, 18, 30))
    reminders = world.inbox(email, "Reminder")
    assert len(reminders) == 2
    event = event_of(reminders[-1])
    assert (int(event["SEQUENCE"]), event.decoded("DTSTART")) == (1, later)


def test_a_reminder_already_sent_goes_again_for_the_new_time_after_a_reschedule(world):
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.run_until(SEVEN_DAYS)
    world.reschedule(session, local(2026, 9, 29, 18), sequence=1)
    world.run_until(local(2026, 9, 22, 18))
    assert len(world.inbox(email, "Rappel")) == 2  # the 7-day one, for each date


def test_a_cancelled_session_drops_the_reminders_and_tells_confirmed_members_with_method_cancel(world):
    member, email = world.person()
    waiting, waiting_email = world.person(name="Luc Gagnon")
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.waitlist(waiting, session)
    world.run_until(SEVEN_DAYS)  # the 7-day reminder went, with the invitation
    world.cancel_session(session)

    assert [m.status for m in world.timed(member)] == [TimedStatus.HANDED_OVER, TimedStatus.CANCELLED]
    world.run_until(ONE_DAY)
    assert len(world.inbox(email, "Rappel")) == 1
    [cancelled] = world.inbox(email, "annulée")
    assert str(calendar_of(cancelled)["METHOD"]) == "CANCEL"
    event = event_of(cancelled)
    assert (str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])) == (
        f"{session}@sessions.cercle",
        1,
        "CANCELLED",
    )
    [told] = world.inbox(waiting_email, "annulée")  # waitlisted: told, but no calendar entry to remove
    assert [p for p in told.walk() if p.get_content_type() == "text/calendar"] == []


def test_a_cancelled_registration_drops_her_reminders_and_removes_the_event_from_her_calendar(world):
    member, email = world.person()
    other, other_email = world.person(name="Luc Gagnon")
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.confirm(other, session)
    world.cancel_registration(member, session)

    assert {m.status for m in world.timed(member)} == {TimedStatus.CANCELLED}
    assert {m.status for m in world.timed(other)} == {TimedStatus.PLANNED}
    world.run_until(ONE_DAY)
    assert world.inbox(email, "Rappel") == []
    assert len(world.inbox(other_email, "Rappel")) == 2
    [cancelled] = [m for m in world.inbox(email) if "cancel.ics" in str(m)]
    assert str(calendar_of(cancelled)["METHOD"]) == "CANCEL"


def test_a_waitlisted_member_gets_reminders_once_promoted(world):
    from cercle_shared.contracts import sessions as ses

    member, _ = world.person()
    session = world.schedule(SESSION)
    registration = world.waitlist(member, session)
    assert world.timed(member) == []
    world.h.publish(
        ses.SessionRegistrationPromoted(
            registration_id=registration,
            session_id=session,
            community_id=world.community_id,
            member_id=member,
            promoted_at=world.h.clock.now,
        )
    )
    assert [m.offset for m in world.timed(member)] == ["P7D", "P1D"]


def test_a_reminder_whose_moment_passed_while_the_service_was_down_is_skipped_and_recorded(world):
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.run_until(SESSION + timedelta(minutes=5))  # down from booking until after the start

    assert [(m.status, m.reason) for m in world.timed(member)] == [
        (TimedStatus.SKIPPED, TimedSkipReason.TOO_LATE),
        (TimedStatus.SKIPPED, TimedSkipReason.TOO_LATE),
    ]
    assert world.inbox(email, "Rappel") == []


def test_a_reminder_handed_over_but_not_sent_before_the_start_is_skipped_as_too_late(world, h):
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    h.clock.now = ONE_DAY
    h.run_job(HAND_OVER)  # handed over, then the sender is down until after the start
    world.run_until(SESSION + timedelta(hours=1))
    with h.uow() as uow:
        reminders = [d for d in uow.deliveries.of_member(member) if d.kind == EmailKind.SESSION_REMINDER]
    assert {(d.status, d.reason) for d in reminders} == {(DeliveryStatus.SKIPPED, SkipReason.TOO_LATE)}
    assert world.inbox(email, "Rappel") == []


def test_a_reminder_still_before_the_start_goes_once_after_a_restart(world, h, tmp_path):
    from tests.support.harness import ServiceHarness

    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    h.runtime.engine.dispose()  # the service stops before the 7-day moment...

    h.clock.now = SEVEN_DAYS + timedelta(days=2)  # ...and comes back two days after it
    restarted = ServiceHarness("notifications", h.database_url, clock=h.clock, settings_overrides=h.settings_overrides)
    try:
        for _ in range(2):
            restarted.run_job(HAND_OVER)
            restarted.run_job(SEND)
    finally:
        restarted.runtime.engine.dispose()
    assert [m["Subject"] for m in world.inbox(email, "Rappel")] == ["Rappel : Nature et santé mentale, dans 7 jours"]


def test_a_member_without_email_consent_gets_no_reminder(world):
    member, email = world.person(consent=False)
    session = world.schedule(SESSION)
    world.confirm(member, session)
    world.run_until(ONE_DAY)
    assert world.inbox(email) == []


def test_a_member_who_does_not_want_reminders_gets_none_and_the_skip_is_recorded(world, h):
    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    response = h.api.put(
        f"/v1/members/{member}/preferences",
        json={"opt_out": [EmailKind.SESSION_REMINDER.value]},
        headers=h.as_member(member),
    )
    assert response.status_code == 200, response.text
    world.run_until(ONE_DAY)
    assert world.inbox(email, "Rappel") == []
    assert {m.reason for m in world.timed(member)} == {TimedSkipReason.NOT_WANTED}


def test_the_day_before_across_the_end_of_daylight_saving_time_is_the_same_wall_clock_time(world):
    """Booked in September (EDT, UTC-4) for a session on Sunday November 1 at 18:00 (EST, UTC-5): the reminders are
    at 18:00 on the wall, not 24 hours of elapsed time before (which would read 19:00)."""
    member, email = world.person(language="en")
    starts = local(2026, 11, 1, 18)  # Sunday: clocks fell back at 2:00 that morning
    session = world.schedule(starts)
    world.confirm(member, session)
    seven, one = world.timed(member)
    assert seven.due_at == local(2026, 10, 25, 18) == starts - timedelta(days=7, hours=1)
    assert one.due_at == local(2026, 10, 31, 18) == starts - timedelta(days=1, hours=1)
    world.run_until(local(2026, 10, 31, 17, 59))
    assert len(world.inbox(email, "Reminder")) == 1  # the 7-day one
    world.run_until(local(2026, 10, 31, 18))
    assert [m["Subject"] for m in world.inbox(email, "Reminder")][-1] == "Reminder: Nature et santé mentale, tomorrow"


def test_the_day_before_across_the_start_of_daylight_saving_time_is_the_same_wall_clock_time(world):
    world.h.clock.now = local(2026, 2, 20, 12)
    member, _ = world.person()
    starts = local(2026, 3, 9, 18)  # Monday after clocks spring forward (March 8)
    session = world.schedule(starts)
    world.confirm(member, session)
    seven, one = world.timed(member)
    assert (seven.due_at, one.due_at) == (local(2026, 3, 2, 18), local(2026, 3, 8, 18))
    assert seven.due_at == starts - timedelta(days=7) + timedelta(hours=1)


def test_a_member_who_stopped_the_reminders_category_gets_no_reminder_and_no_brief(world, h):
    member, email = world.person()
    world.join(member, "facilitator")
    session = world.schedule(SESSION)
    world.confirm(member, session)
    response = h.api.put(
        f"/v1/members/{member}/preferences", json={"categories": {"reminders": False}}, headers=h.as_member(member)
    )
    assert response.status_code == 200, response.text
    world.run_until(ONE_DAY)
    assert world.inbox(email, "Rappel") == []
    assert world.inbox(email, "Demain") == []
    assert {(m.kind, m.reason) for m in world.timed(member)} == {
        ("session_reminder", TimedSkipReason.NOT_WANTED),
        ("facilitator_brief", TimedSkipReason.NOT_WANTED),
    }


def test_a_message_of_a_kind_this_version_does_not_know_is_skipped_without_holding_up_the_others(world, h):
    from cercle_notifications.domain.timed import TimedKey
    from cercle_notifications.service_layer import timed

    member, email = world.person()
    session = world.schedule(SESSION)
    world.confirm(member, session)
    with h.uow() as uow:
        timed.plan(uow, TimedKey(member, "future:1", "kind_from_the_future"), due_at=SEVEN_DAYS, at=h.clock.now)
        uow.commit()
    world.run_until(SEVEN_DAYS)
    assert len(world.inbox(email, "Rappel")) == 1
    [unknown] = [m for m in world.timed(member) if m.kind == "kind_from_the_future"]
    assert (unknown.status, unknown.reason) == (TimedStatus.SKIPPED, TimedSkipReason.UNKNOWN_KIND)
