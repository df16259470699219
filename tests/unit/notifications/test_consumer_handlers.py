from datetime import UTC, datetime

from cercle_notifications.domain import model
from cercle_notifications.domain.model import DeliveryStatus, EmailKind, SkipReason
from cercle_notifications.service_layer import reactions
from cercle_shared.contracts.registration import MemberErased

from .factories import confirmed, contact_changed, new_id, session_scheduled, waitlisted


def deliveries_of(uow_factory, member_id=None):
    with uow_factory() as uow:
        return uow.deliveries.page(member_id=member_id, status=None, kind=None, cursor=None, limit=100)[0]


def all_deliveries(uow_factory):
    return deliveries_of(uow_factory)


def test_a_confirmation_records_one_pending_delivery_when_contact_and_session_are_known(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.contact_changed, contact_changed(member))
    apply(reactions.session_scheduled, session_scheduled(session))
    ctx = apply(reactions.registration_confirmed, confirmed(member, session))
    [delivery] = deliveries_of(uow_factory, member)
    assert (delivery.status, delivery.kind, delivery.source_event_id) == (
        DeliveryStatus.PENDING,
        EmailKind.REGISTRATION_CONFIRMED,
        ctx.event_id,
    )


def test_the_same_event_twice_records_one_delivery(apply, uow_factory):
    member, session = new_id(), new_id()
    event = confirmed(member, session)
    apply(reactions.registration_confirmed, event, event_id="evt-1")
    apply(reactions.registration_confirmed, event, event_id="evt-1")
    assert len(deliveries_of(uow_factory, member)) == 1


def test_a_confirmation_before_the_contact_waits_for_it(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.registration_confirmed, confirmed(member, session))
    assert deliveries_of(uow_factory, member)[0].status == DeliveryStatus.WAITING_CONTACT
    apply(reactions.contact_changed, contact_changed(member))
    assert deliveries_of(uow_factory, member)[0].status == DeliveryStatus.PENDING


def test_a_confirmation_before_the_session_waits_for_it(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.contact_changed, contact_changed(member))
    apply(reactions.registration_waitlisted, waitlisted(member, session, position=3))
    [delivery] = deliveries_of(uow_factory, member)
    assert (delivery.status, delivery.details["position"]) == (DeliveryStatus.WAITING_SESSION, 3)
    apply(reactions.session_scheduled, session_scheduled(session))
    assert deliveries_of(uow_factory, member)[0].status == DeliveryStatus.PENDING


def test_a_tombstone_removes_the_contact_and_skips_what_was_not_sent(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.contact_changed, contact_changed(member))
    apply(reactions.registration_confirmed, confirmed(member, session))
    apply(reactions.contact_removed, member)
    with uow_factory() as uow:
        assert uow.contacts.get(member) is None
    [delivery] = deliveries_of(uow_factory, member)
    assert (delivery.status, delivery.reason) == (DeliveryStatus.SKIPPED, SkipReason.CONTACT_REMOVED)


def test_erasure_anonymizes_deliveries_and_forgets_contact_and_preferences(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.contact_changed, contact_changed(member))
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.registration_confirmed, confirmed(member, session))
    with uow_factory() as uow:
        [delivery] = uow.deliveries.of_member(member)
        delivery.status, delivery.recipient = DeliveryStatus.SENT, "marie@example.org"
        uow.preferences.add(model.Preferences(member, language="en"))
        uow.commit()
    apply(reactions.member_erased, MemberErased(member_id=member, erased_at=datetime.now(UTC)))
    assert deliveries_of(uow_factory, member) == []
    [anonymous] = all_deliveries(uow_factory)
    assert (anonymous.member_id, anonymous.recipient, anonymous.anonymized) == (None, None, True)
    assert (anonymous.status, anonymous.kind) == (DeliveryStatus.SENT, EmailKind.REGISTRATION_CONFIRMED)
    with uow_factory() as uow:
        assert uow.contacts.get(member) is None
        assert uow.preferences.get(member) is None
        assert uow.registrations.of_member(member) == []


def test_events_about_a_member_that_arrive_after_the_erasure_leave_no_trace(apply, uow_factory):
    member, session = new_id(), new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.member_erased, MemberErased(member_id=member, erased_at=datetime.now(UTC)))
    # topics are not ordered with one another: these were published before the erasure, consumed after it
    apply(reactions.contact_changed, contact_changed(member))
    apply(reactions.registration_confirmed, confirmed(member, session))
    assert all(d.member_id != member for d in all_deliveries(uow_factory))
    with uow_factory() as uow:
        assert uow.contacts.get(member) is None


def test_an_event_redelivered_through_the_consumer_records_one_delivery_and_publishes_nothing(h):
    member, session = new_id(), new_id()
    h.publish(contact_changed(member))
    h.publish(session_scheduled(session))
    event = confirmed(member, session)
    first = h.publish(event, event_id="evt-redelivered")
    h.publish(event, event_id="evt-redelivered")
    [delivery] = deliveries_of(h.uow, member)
    assert (delivery.status, delivery.source_event_id) == (DeliveryStatus.PENDING, first)
    assert h.published() == []
