from datetime import timedelta

from cercle_notifications.domain import model
from cercle_notifications.domain.model import DeliveryStatus, EmailKind, RegistrationStatus, SkipReason
from cercle_notifications.service_layer import reactions

from .factories import (
    STARTS,
    confirmed,
    contact_changed,
    new_id,
    promoted,
    registration_cancelled,
    rescheduled,
    session_cancelled,
    session_scheduled,
    waitlisted,
)


def kinds_by_member(uow_factory, kind):
    with uow_factory() as uow:
        rows = uow.deliveries.page(member_id=None, status=None, kind=kind, cursor=None, limit=100)[0]
    return {d.member_id: d for d in rows}


def registered_session(apply):
    """A session with one confirmed, one waitlisted and one cancelled registration."""
    session = new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    seated, waiting, gone = new_id(), new_id(), new_id()
    for member in (seated, waiting, gone):
        apply(reactions.contact_changed, contact_changed(member, email=f"{member[:8]}@example.org"))
    apply(reactions.registration_confirmed, confirmed(seated, session))
    apply(reactions.registration_waitlisted, waitlisted(waiting, session))
    leaving = confirmed(gone, session)
    apply(reactions.registration_confirmed, leaving)
    apply(reactions.registration_cancelled, registration_cancelled(gone, session, leaving.registration_id))
    return session, seated, waiting, gone


def test_a_new_time_is_announced_to_everyone_still_registered_with_the_previous_time(apply, uow_factory):
    session, seated, waiting, _ = registered_session(apply)
    apply(
        reactions.session_rescheduled,
        rescheduled(session, starts_at=STARTS + timedelta(days=7), ends_at=STARTS + timedelta(days=7, hours=2)),
    )
    notices = kinds_by_member(uow_factory, EmailKind.SESSION_RESCHEDULED)
    assert set(notices) == {seated, waiting}
    assert notices[seated].details["previous_starts_at"] == STARTS.isoformat()
    assert notices[seated].status == DeliveryStatus.PENDING


def test_a_new_capacity_alone_is_not_news(apply, uow_factory):
    session, *_ = registered_session(apply)
    apply(reactions.session_rescheduled, rescheduled(session, capacity=40))
    assert kinds_by_member(uow_factory, EmailKind.SESSION_RESCHEDULED) == {}


def test_a_cancelled_registration_is_confirmed_to_the_member(apply, uow_factory):
    _, _, _, gone = registered_session(apply)
    assert set(kinds_by_member(uow_factory, EmailKind.REGISTRATION_CANCELLED)) == {gone}


def test_a_promotion_is_announced_and_counts_as_registered(apply, uow_factory):
    session = new_id()
    member = new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.contact_changed, contact_changed(member))
    waiting = waitlisted(member, session)
    apply(reactions.registration_waitlisted, waiting)
    apply(reactions.registration_promoted, promoted(member, session, waiting.registration_id))
    assert set(kinds_by_member(uow_factory, EmailKind.REGISTRATION_PROMOTED)) == {member}
    with uow_factory() as uow:
        assert uow.registrations.get(waiting.registration_id).status == RegistrationStatus.CONFIRMED


def test_a_cancelled_session_is_announced_and_its_other_emails_are_no_longer_sent(apply, uow_factory):
    session, seated, waiting, _ = registered_session(apply)
    apply(reactions.session_cancelled, session_cancelled(session, reason="Tempête"))
    notices = kinds_by_member(uow_factory, EmailKind.SESSION_CANCELLED)
    assert set(notices) == {seated, waiting}
    assert notices[seated].details["reason"] == "Tempête"
    with uow_factory() as uow:
        scheduled = uow.sessions.get(session)
        contact = uow.contacts.get(seated)
        assert (
            model.decide(EmailKind.REGISTRATION_CONFIRMED, contact, None, scheduled).reason
            == SkipReason.SESSION_CANCELLED
        )
        assert model.decide(EmailKind.SESSION_CANCELLED, contact, None, scheduled).send
