from datetime import timedelta

from cercle_notifications.domain import model
from cercle_notifications.service_layer import handlers

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
        uow.session.expunge_all()
    return {d.member_id: d for d in rows}


def registered_session(apply):
    """A session with one confirmed, one waitlisted and one cancelled registration."""
    session = new_id()
    apply(handlers.on_session_scheduled, session_scheduled(session))
    seated, waiting, gone = new_id(), new_id(), new_id()
    for member in (seated, waiting, gone):
        apply(handlers.on_contact_changed, contact_changed(member, email=f"{member[:8]}@example.org"))
    apply(handlers.on_registration_confirmed, confirmed(seated, session))
    apply(handlers.on_registration_waitlisted, waitlisted(waiting, session))
    leaving = confirmed(gone, session)
    apply(handlers.on_registration_confirmed, leaving)
    apply(handlers.on_registration_cancelled, registration_cancelled(gone, session, leaving.registration_id))
    return session, seated, waiting, gone


def test_a_new_time_is_announced_to_everyone_still_registered_with_the_previous_time(apply, uow_factory):
    session, seated, waiting, _ = registered_session(apply)
    apply(
        handlers.on_session_rescheduled,
        rescheduled(session, starts_at=STARTS + timedelta(days=7), ends_at=STARTS + timedelta(days=7, hours=2)),
    )
    notices = kinds_by_member(uow_factory, model.RESCHEDULED)
    assert set(notices) == {seated, waiting}
    assert notices[seated].details["previous_starts_at"] == STARTS.isoformat()
    assert notices[seated].status == model.PENDING


def test_a_new_capacity_alone_is_not_news(apply, uow_factory):
    session, *_ = registered_session(apply)
    apply(handlers.on_session_rescheduled, rescheduled(session, capacity=40))
    assert kinds_by_member(uow_factory, model.RESCHEDULED) == {}


def test_a_cancelled_registration_is_confirmed_to_the_member(apply, uow_factory):
    _, _, _, gone = registered_session(apply)
    assert set(kinds_by_member(uow_factory, model.REGISTRATION_CANCELLED)) == {gone}


def test_a_promotion_is_announced_and_counts_as_registered(apply, uow_factory):
    session = new_id()
    member = new_id()
    apply(handlers.on_session_scheduled, session_scheduled(session))
    apply(handlers.on_contact_changed, contact_changed(member))
    waiting = waitlisted(member, session)
    apply(handlers.on_registration_waitlisted, waiting)
    apply(handlers.on_registration_promoted, promoted(member, session, waiting.registration_id))
    assert set(kinds_by_member(uow_factory, model.PROMOTED)) == {member}
    with uow_factory() as uow:
        assert uow.replicas.registration(waiting.registration_id).status == model.REGISTERED


def test_a_cancelled_session_is_announced_and_its_other_emails_are_no_longer_sent(apply, uow_factory):
    session, seated, waiting, _ = registered_session(apply)
    apply(handlers.on_session_cancelled, session_cancelled(session, reason="Tempête"))
    notices = kinds_by_member(uow_factory, model.SESSION_CANCELLED)
    assert set(notices) == {seated, waiting}
    assert notices[seated].details["reason"] == "Tempête"
    with uow_factory() as uow:
        scheduled = uow.replicas.session(session)
        contact = uow.replicas.contact(seated)
        assert model.decide(model.CONFIRMED, contact, None, scheduled).reason == model.SESSION_WAS_CANCELLED
        assert model.decide(model.SESSION_CANCELLED, contact, None, scheduled).send
