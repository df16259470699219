"""The Delivery aggregate alone: its life, and the outcome event it records."""

from datetime import UTC, datetime, timedelta

from cercle_notifications.domain import events, model
from cercle_notifications.domain.model import DeliveryStatus, EmailKind, SkipReason

AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
RETRY = model.RetryPolicy(max_attempts=2, backoff_initial=10, backoff_max=60)


def claimed() -> model.Delivery:
    delivery = model.Delivery.create(
        source_event_id="evt-1",
        kind=EmailKind.REGISTRATION_CONFIRMED,
        member_id="m-1",
        session_id="s-1",
        details={},
        contact_known=True,
        session_known=True,
        at=AT,
    )
    delivery.start_attempt(language="en", message_id="<x@cercle.local>", at=AT, lease=timedelta(seconds=60))
    return delivery


def test_a_delivery_waits_for_what_it_lacks_then_becomes_pending():
    delivery = model.Delivery.create(
        source_event_id="evt-1",
        kind=EmailKind.REGISTRATION_CONFIRMED,
        member_id="m-1",
        session_id="s-1",
        details={},
        contact_known=False,
        session_known=False,
        at=AT,
    )
    assert delivery.status == DeliveryStatus.WAITING_CONTACT
    delivery.reconsider(contact_known=True, session_known=False, at=AT)
    assert delivery.status == DeliveryStatus.WAITING_SESSION
    delivery.reconsider(contact_known=True, session_known=True, at=AT)
    assert (delivery.status, delivery.is_due(AT)) == (DeliveryStatus.PENDING, True)


def test_a_sent_email_records_its_outcome_once():
    delivery = claimed()
    delivery.mark_sent("marie@example.org", AT)
    assert delivery.recorded_events == [
        events.EmailDeliveryRecorded(
            delivery_id=delivery.id,
            member_id="m-1",
            kind=EmailKind.REGISTRATION_CONFIRMED,
            language="en",
            status=DeliveryStatus.SENT,
            occurred_at=AT,
            session_id="s-1",
        )
    ]


def test_a_failed_attempt_is_retried_silently_and_only_giving_up_is_recorded():
    delivery = claimed()
    delivery.mark_attempt_failed("421 busy", permanent=False, retry=RETRY, at=AT)
    assert (delivery.status, delivery.next_attempt_at, delivery.recorded_events) == (
        DeliveryStatus.PENDING,
        AT + timedelta(seconds=10),
        [],
    )
    delivery.start_attempt(language="en", message_id="<x@cercle.local>", at=AT, lease=timedelta(seconds=60))
    delivery.mark_attempt_failed("421 busy", permanent=False, retry=RETRY, at=AT)
    [outcome] = delivery.recorded_events
    assert (delivery.status, outcome.status) == (DeliveryStatus.FAILED, DeliveryStatus.FAILED)


def test_a_delivery_erased_while_it_was_being_sent_keeps_its_anonymous_outcome_and_records_nothing():
    delivery = claimed()
    delivery.anonymize(AT)
    delivery.mark_attempt_failed("421 busy", permanent=False, retry=RETRY, at=AT)
    assert (delivery.status, delivery.reason, delivery.member_id) == (
        DeliveryStatus.SKIPPED,
        SkipReason.MEMBER_ERASED,
        None,
    )
    delivery.mark_sent("marie@example.org", AT)
    assert (delivery.recipient, delivery.recorded_events) == (None, [])


def test_an_unexpected_error_before_the_claim_counts_as_an_attempt():
    delivery = model.Delivery.create(
        source_event_id="evt-1",
        kind=EmailKind.REGISTRATION_CONFIRMED,
        member_id="m-1",
        session_id="s-1",
        details={},
        contact_known=True,
        session_known=True,
        at=AT,
    )
    delivery.mark_broken("TemplateNotFound", retry=RETRY, at=AT)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.PENDING, 1, "TemplateNotFound")


def test_changed_preferences_are_recorded():
    preferences = model.Preferences("m-1")
    preferences.change(language="en", opt_out=[EmailKind.SESSION_RESCHEDULED], at=AT)
    assert preferences.recorded_events == [
        events.PreferencesChanged("m-1", "en", (EmailKind.SESSION_RESCHEDULED.value,))
    ]
