"""Sending rounds against a real SMTP server process (aiosmtpd), with the harness's clock, which the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cercle_notifications.adapters.smtp import PermanentFailure, SmtpMailer
from cercle_notifications.adapters.templates import EmailTemplates
from cercle_notifications.domain import model
from cercle_notifications.domain.model import DeliveryStatus, EmailKind, SkipReason
from cercle_notifications.service_layer import reactions
from cercle_notifications.service_layer.sending import DeliverySender, SendingPolicy
from cercle_shared.contracts.registration import CommunityCreated
from devtools.ports import free_port
from devtools.smtp import LocalSmtp
from tests.support.harness import harness

from .factories import confirmed, contact_changed, new_id, session_scheduled

MAIL_FROM = "Cercle <no-reply@cercle.local>"
POLICY = {"max_attempts": 3, "backoff_initial": 10, "backoff_max": 60, "wait_timeout": 3600, "lease": 60}


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture
def h(smtp, tmp_path, tmp_path_factory):
    """The service, its "send-emails" job configured as `make_sender` configures a sender."""
    yield from harness(
        "notifications",
        tmp_path,
        tmp_path_factory.getbasetemp(),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from=MAIL_FROM,
        sender_max_attempts=POLICY["max_attempts"],
        sender_backoff_initial=POLICY["backoff_initial"],
        sender_backoff_max=POLICY["backoff_max"],
        contact_wait_timeout=POLICY["wait_timeout"],
    )


@pytest.fixture
def clock(h):
    return h.clock


@pytest.fixture
def make_sender(uow_factory, clock):
    def make(port: int, mailer=None, **policy) -> DeliverySender:
        return DeliverySender(
            uow_factory,
            EmailTemplates(),
            mailer or SmtpMailer("127.0.0.1", port, timeout=5),
            SendingPolicy(mail_from=MAIL_FROM, **{**POLICY, **policy}),
            clock=clock,
        )

    return make


@pytest.fixture
def confirmation(apply, uow_factory, clock):
    """confirmation(language=..., email_consent=...) -> (member_id, email, delivery_id): a due confirmation."""

    def make(
        *, language: str = "fr", email_consent: bool = True, name: str = "Marie Tremblay", email: str | None = None
    ) -> tuple[str, str, str]:
        member, session, community = new_id(), new_id(), new_id()
        email = email or f"{member[:8]}@example.org"
        apply(
            reactions.contact_changed,
            contact_changed(member, email=email, language=language, email_consent=email_consent, name=name),
        )
        apply(
            reactions.community_named,
            CommunityCreated(
                community_id=community,
                name_fr="CoP SMET Laval",
                name_en="Laval workplace health CoP",
                kind="community_of_practice",
                regions=["13"],
                cadence=6,
                status="active",
                created_at=clock.now,
            ),
        )
        apply(reactions.session_scheduled, session_scheduled(session, community_id=community))
        apply(reactions.registration_confirmed, confirmed(member, session, community))
        with uow_factory() as uow:
            [delivery] = uow.deliveries.of_member(member)
            delivery.created_at = delivery.next_attempt_at = clock.now  # on the test's clock
            uow.commit()
            return member, email, delivery.id

    return make


def to(smtp: LocalSmtp, email: str):
    return [m for m in smtp.messages() if email in m["To"]]


def delivery(uow_factory, delivery_id: str) -> model.Delivery:
    with uow_factory() as uow:
        return uow.deliveries.get(delivery_id)


def recorded_events(h) -> list[dict]:
    return [row["data"] for row in h.published()]


def test_sends_a_due_delivery_once_with_a_message_id_derived_from_the_delivery(
    smtp, confirmation, uow_factory, h, clock
):
    member, email, delivery_id = confirmation(language="en")
    h.run_job("send-emails")
    h.run_job("send-emails")
    [message] = to(smtp, email)
    assert message["Subject"] == "Registration confirmed: Nature et santé mentale"
    assert message["Message-ID"] == f"<{delivery_id}@cercle.local>"
    assert message["Content-Language"] == "en"
    body = message.get_body(("plain",)).get_content()
    assert "Laval workplace health CoP" in body
    assert "1:30 PM" in body
    sent = delivery(uow_factory, delivery_id)
    assert (sent.status, sent.recipient, sent.attempts, sent.sent_at) == (DeliveryStatus.SENT, email, 1, clock.now)
    [event] = recorded_events(h)
    assert event == {
        "delivery_id": delivery_id,
        "member_id": member,
        "kind": EmailKind.REGISTRATION_CONFIRMED,
        "language": "en",
        "status": "sent",
        "occurred_at": event["occurred_at"],
        "session_id": sent.session_id,
    }


def test_the_outcome_is_published_in_the_correlation_of_the_event_that_owed_the_email(
    smtp, make_sender, apply, uow_factory, h, clock
):
    member, session = new_id(), new_id()
    apply(reactions.contact_changed, contact_changed(member, email=f"{member[:8]}@example.org"))
    apply(reactions.session_scheduled, session_scheduled(session))
    owing = apply(reactions.registration_confirmed, confirmed(member, session))
    with uow_factory() as uow:
        [owed] = uow.deliveries.of_member(member)
        owed.next_attempt_at = clock.now
        uow.commit()
    make_sender(smtp.port).send_due()
    outbox = h.runtime.tables.outbox
    with h.runtime.db_factory() as db:
        [headers] = db.scalars(select(outbox.c.headers)).all()
    assert headers["ce_correlationid"] == owing.event_id


def test_an_unreachable_server_is_retried_with_back_off_then_the_delivery_fails(
    make_sender, confirmation, uow_factory, h, clock
):
    _, _, delivery_id = confirmation()
    sender = make_sender(free_port())  # nothing listens there

    sender.send_due()
    first = delivery(uow_factory, delivery_id)
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)
    assert first.next_attempt_at == clock.now + timedelta(seconds=10)
    assert "Connection" in first.last_error or "refused" in first.last_error.lower()

    sender.send_due()  # not due yet
    assert delivery(uow_factory, delivery_id).attempts == 1

    clock.advance(seconds=10)
    sender.send_due()
    second = delivery(uow_factory, delivery_id)
    assert (second.attempts, second.next_attempt_at) == (2, clock.now + timedelta(seconds=20))
    assert recorded_events(h) == []

    clock.advance(seconds=20)
    sender.send_due()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    [event] = recorded_events(h)
    assert event["status"] == "failed"
    assert event["delivery_id"] == delivery_id


def test_a_retry_succeeds_once_the_server_is_back(make_sender, confirmation, uow_factory, clock, tmp_path):
    _, email, delivery_id = confirmation()
    server = LocalSmtp(tmp_path / "late-mail")
    sender = make_sender(server.port)
    sender.send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.PENDING
    with server:
        clock.advance(seconds=10)
        sender.send_due()
        assert delivery(uow_factory, delivery_id).status == DeliveryStatus.SENT
        assert len(to(server, email)) == 1


def test_a_refusal_for_good_fails_at_once(make_sender, confirmation, uow_factory):
    class Refusing:
        def send(self, message):
            raise PermanentFailure("550 mailbox unavailable")

    _, _, delivery_id = confirmation()
    make_sender(0, mailer=Refusing()).send_due()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts, failed.last_error) == (DeliveryStatus.FAILED, 1, "550 mailbox unavailable")


def test_without_email_consent_nothing_is_sent_and_the_delivery_is_skipped(
    smtp, make_sender, confirmation, uow_factory, h
):
    _, email, delivery_id = confirmation(email_consent=False)
    make_sender(smtp.port).send_due()
    skipped = delivery(uow_factory, delivery_id)
    assert (skipped.status, skipped.reason, skipped.attempts) == (
        DeliveryStatus.SKIPPED,
        SkipReason.NO_EMAIL_CONSENT,
        0,
    )
    assert to(smtp, email) == []
    assert recorded_events(h) == []


def test_preferences_apply_when_sending(smtp, make_sender, confirmation, uow_factory):
    member, email, _ = confirmation(language="fr")
    with uow_factory() as uow:
        uow.preferences.add(model.Preferences(member, language="en"))
        uow.commit()
    make_sender(smtp.port).send_due()
    assert to(smtp, email)[0]["Subject"].startswith("Registration confirmed")

    other, other_email, other_delivery = confirmation()
    with uow_factory() as uow:
        uow.preferences.add(model.Preferences(other, opt_out=[EmailKind.REGISTRATION_CONFIRMED]))
        uow.commit()
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, other_delivery).reason == SkipReason.OPTED_OUT
    assert to(smtp, other_email) == []


def test_a_delivery_claimed_by_a_sender_that_died_is_sent_after_its_lease_with_the_same_message_id(
    smtp, make_sender, confirmation, uow_factory, clock
):
    _, email, delivery_id = confirmation()
    sender = make_sender(smtp.port)
    sender.claim(delivery_id)  # claimed, then the process "dies" before sending
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.SENDING
    sender.send_due()
    assert to(smtp, email) == []  # the lease still holds
    clock.advance(seconds=60)
    sender.send_due()
    [message] = to(smtp, email)
    assert message["Message-ID"] == f"<{delivery_id}@cercle.local>"
    assert delivery(uow_factory, delivery_id).attempts == 2


def test_a_delivery_waiting_for_its_contact_expires_after_the_bound(make_sender, apply, uow_factory, clock):
    member, session = new_id(), new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.registration_confirmed, confirmed(member, session))
    with uow_factory() as uow:
        [waiting] = uow.deliveries.of_member(member)
        waiting.created_at = clock.now
        uow.commit()
        delivery_id = waiting.id
    sender = make_sender(0)
    clock.advance(seconds=3599)
    sender.send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.WAITING_CONTACT
    clock.advance(seconds=2)
    sender.send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.EXPIRED


def test_a_delivery_that_cannot_be_rendered_does_not_hold_up_the_others(
    smtp, make_sender, confirmation, uow_factory, clock
):
    _, _, broken_id = confirmation()
    _, email, good_id = confirmation()
    with uow_factory() as uow:
        broken = uow.deliveries.get(broken_id)
        broken.kind = "no_such_template"
        broken.next_attempt_at = clock.now - timedelta(seconds=1)  # first in line
        uow.commit()
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, good_id).status == DeliveryStatus.SENT
    assert len(to(smtp, email)) == 1
    # rendering is pure work on stored values: what fails now would fail at every retry, so it fails at once
    failed = delivery(uow_factory, broken_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (DeliveryStatus.FAILED, 0, None)
    assert "no_such_template" in failed.last_error


# --- stored values the sender cannot trust: never retried forever (issue 8, item 11) ---------------------------


def _envelope_to(smtp: LocalSmtp, email: str):
    return [m for m in smtp.messages() if m["X-Envelope-To"] == email]


@pytest.mark.parametrize(
    "name",
    [
        "Marie\r\nBcc: intrus@example.org",
        "Marie\nTremblay",
        "Marie\rTremblay",
        "Marie\x00\x07Tremblay",
        "Marie\u2028Tremblay",
        "Marie\tTremblay\x85",
    ],
)
def test_a_display_name_with_line_breaks_or_control_characters_is_sent_on_one_line(
    smtp, confirmation, uow_factory, h, name
):
    # Stored before names were validated, or arriving so on the contacts topic: the email still goes, once.
    member, email, delivery_id = confirmation(language="en")
    with uow_factory() as uow:
        uow.contacts.get(member).display_name = name  # as stored before names were checked
        uow.commit()
    h.run_job("send-emails")
    sent = delivery(uow_factory, delivery_id)
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 1, None)
    [message] = _envelope_to(smtp, email)
    [address] = message["To"].addresses
    assert address.addr_spec == email
    assert address.display_name == " ".join(name.replace("\x00", " ").replace("\x07", " ").replace("\x85", " ").split())
    assert message["Bcc"] is None
    assert not any(_envelope_to(smtp, "intrus@example.org"))
    greeting = message.get_body(("plain",)).get_content().splitlines()[0]
    assert greeting == f"Hello {address.display_name},"


@pytest.mark.parametrize(
    "title",
    ["Nature\r\nBcc: intrus@example.org", "Nature\x00et santé", "Nature\u2029mentale"],
)
def test_a_session_title_with_control_characters_makes_a_one_line_subject(
    smtp, make_sender, apply, uow_factory, clock, title
):
    member, session = new_id(), new_id()
    email = f"{member[:8]}@example.org"
    apply(reactions.contact_changed, contact_changed(member, email=email, language="en"))
    apply(reactions.session_scheduled, session_scheduled(session))
    apply(reactions.registration_confirmed, confirmed(member, session))
    with uow_factory() as uow:
        uow.sessions.get(session).title = title  # as stored before titles were checked
        [owed] = uow.deliveries.of_member(member)
        owed.next_attempt_at = clock.now
        uow.commit()
        delivery_id = owed.id
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.SENT
    [message] = _envelope_to(smtp, email)
    assert message["Subject"] == "Registration confirmed: " + " ".join(
        title.replace("\x00", " ").replace("\u2029", " ").split()
    )
    assert message["Bcc"] is None


@pytest.mark.parametrize(
    "address",
    [
        "marie@example.org\r\nBcc: intrus@example.org",
        "<marie@example.org>",
        "Marie <marie@example.org>",
        "not an address",
        "marie@",
        "@example.org",
        "marie tremblay@example.org",
        "marie@exa mple.org",
        "marie@example..org",
        "marie..tremblay@example.org",
        "marie@\x00example.org",
    ],
)
def test_an_address_that_is_not_one_fails_the_delivery_at_once_with_the_reason(
    smtp, make_sender, confirmation, uow_factory, h, address
):
    _, _, delivery_id = confirmation(email=address)
    make_sender(smtp.port).send_due()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (DeliveryStatus.FAILED, 0, None)
    assert failed.last_error.startswith("the email cannot be built:")
    assert "address" in failed.last_error
    assert not any(_envelope_to(smtp, "intrus@example.org"))
    [event] = recorded_events(h)
    assert (event["delivery_id"], event["status"]) == (delivery_id, "failed")
    # and it is never tried again
    h.advance(days=30)
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.FAILED
    assert len(recorded_events(h)) == 1


def test_an_address_with_an_internationalized_domain_is_sent_to_its_ascii_form(
    smtp, make_sender, confirmation, uow_factory
):
    _, _, delivery_id = confirmation(email="marie@exämple.org")
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, delivery_id).recipient == "marie@exämple.org"
    [message] = _envelope_to(smtp, "marie@xn--exmple-cua.org")
    assert message["To"].addresses[0].domain == "xn--exmple-cua.org"


def test_an_address_with_a_non_ascii_local_part_is_sent_where_the_server_speaks_smtputf8(
    smtp, make_sender, confirmation, uow_factory
):
    _, _, delivery_id = confirmation(email="marié@example.org")
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.SENT
    assert len(_envelope_to(smtp, "marié@example.org")) == 1


def test_a_non_ascii_local_part_on_a_server_without_smtputf8_fails_at_once(confirmation, make_sender, uow_factory):
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        _, _, delivery_id = confirmation(email="marié@example.org")
        make_sender(port).send_due()
    finally:
        controller.stop()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 1)
    assert "SMTPUTF8" in failed.last_error


def test_a_kind_without_templates_fails_at_once_with_the_reason(make_sender, confirmation, uow_factory, h):
    _, _, delivery_id = confirmation()
    with uow_factory() as uow:
        uow.deliveries.get(delivery_id).kind = "no_such_template"
        uow.commit()
    make_sender(0).send_due()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (DeliveryStatus.FAILED, 0, None)
    assert failed.last_error.startswith("the email cannot be built:")
    assert "no_such_template" in failed.last_error


def test_details_that_cannot_be_read_fail_at_once(make_sender, confirmation, uow_factory):
    _, _, delivery_id = confirmation()
    with uow_factory() as uow:
        uow.deliveries.get(delivery_id).details = {"previous_starts_at": "yesterday", "previous_ends_at": None}
        uow.commit()
    make_sender(0).send_due()
    failed = delivery(uow_factory, delivery_id)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 0)
    assert failed.last_error.startswith("the email cannot be built:")


def test_a_session_at_the_edge_of_the_calendar_is_still_written_out(smtp, make_sender, apply, uow_factory, clock):
    # 9999-12-31 23:30 UTC is already next year in Tokyo: no date can say it there, so the email says it in UTC.
    member, session = new_id(), new_id()
    email = f"{member[:8]}@example.org"
    apply(reactions.contact_changed, contact_changed(member, email=email, language="en"))
    scheduled = session_scheduled(session).model_copy(
        update={
            "starts_at": datetime(9999, 12, 31, 22, tzinfo=UTC),
            "ends_at": datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
            "timezone": "Asia/Tokyo",
        }
    )
    apply(reactions.session_scheduled, scheduled)
    apply(reactions.registration_confirmed, confirmed(member, session))
    with uow_factory() as uow:
        [owed] = uow.deliveries.of_member(member)
        owed.next_attempt_at = clock.now
        uow.commit()
        delivery_id = owed.id
    make_sender(smtp.port).send_due()
    assert delivery(uow_factory, delivery_id).status == DeliveryStatus.SENT
    body = _envelope_to(smtp, email)[0].get_body(("plain",)).get_content()
    assert "December 31, 9999" in body


def test_a_display_name_with_a_line_break_arriving_on_the_contacts_topic_is_sent_on_one_line(smtp, confirmation, h):
    _, email, _ = confirmation(name="Marie\r\nBcc: intrus@example.org", language="en")
    h.run_job("send-emails")
    [message] = _envelope_to(smtp, email)
    assert message["To"].addresses[0].display_name == "Marie Bcc: intrus@example.org"
    assert not _envelope_to(smtp, "intrus@example.org")
