"""The notifications service on a real broker, PostgreSQL and a real SMTP server process.

Events are published the way the other services publish them (CloudEvents, Kafka binary binding).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from cercle_shared.contracts import CATALOG, topics
from cercle_shared.contracts.registration import MemberErased
from cercle_shared.messaging.envelope import Envelope
from devtools.smtp import LocalSmtp
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service
from tests.unit.notifications.factories import (
    STARTS,
    confirmed,
    contact_changed,
    new_id,
    rescheduled,
    session_scheduled,
)

pytestmark = pytest.mark.integration

TIMEOUT = 60


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture(scope="module")
def api(kafka, postgres, smtp):
    name = f"notifications_{uuid.uuid4().hex[:10]}"
    url = postgres.create_database(name)
    try:
        with running_service(
            "notifications",
            url,
            kafka.bootstrap,
            caught_up=True,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            sender_poll_interval=0.05,
            sender_backoff_initial=0.2,
        ) as client:
            yield client
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="module")
def producer(kafka):
    client = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    yield client
    client.close()


def publish(producer: KafkaProducer, event_or_envelope) -> Envelope:
    envelope = (
        event_or_envelope
        if isinstance(event_or_envelope, Envelope)
        else Envelope.wrap(event_or_envelope, source="/cercle/test")
    )
    key, value, headers = envelope.to_kafka()
    topic = CATALOG.by_type(envelope.type).topic.name
    producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(30)
    return envelope


def mail_to(smtp: LocalSmtp, address: str):
    return [m for m in smtp.messages() if address in m["X-Envelope-To"]]


def deliveries(api, **params) -> list[dict]:
    response = api.get("/v1/deliveries", params=params, headers=auth("operator"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def every_delivery(api) -> list[dict]:
    """Every page, newest first: this service's new consumer group also reads the earlier tests' events on the shared
    broker, and their deliveries may outnumber a page (and be recorded after this test's, while it catches up)."""
    found, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        response = api.get("/v1/deliveries", params=params, headers=auth("operator"))
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def member_with_contact(producer, *, language="fr", email_consent=True) -> tuple[str, str]:
    member = new_id()
    email = f"{member[:8]}@example.org"
    publish(producer, contact_changed(member, email=email, language=language, email_consent=email_consent))
    return member, email


def test_a_confirmation_is_emailed_once_in_the_members_language(api, smtp, producer, kafka):
    member, email = member_with_contact(producer, language="en")
    session = new_id()
    publish(producer, session_scheduled(session, title="Nature and mental health"))
    with TopicReader(kafka.bootstrap, topics.DELIVERIES.name) as reader:
        confirmation = publish(producer, confirmed(member, session))

        [message] = wait_until(lambda: mail_to(smtp, email), TIMEOUT, message="the confirmation email")
        assert message["Subject"] == "Registration confirmed: Nature and mental health"
        assert message["Content-Language"] == "en"
        assert "1:30 PM – 4:00 PM (Eastern Time)" in message.get_body(("plain",)).get_content()

        # The SMTP server has the email before the sender records it as sent: wait for the record.
        [delivery] = wait_until(
            lambda: [d for d in deliveries(api, member_id=member) if d["status"] == "sent"],
            TIMEOUT,
            message="the delivery recorded as sent",
        )
        assert (delivery["language"], delivery["recipient"]) == ("en", email)
        assert len(deliveries(api, member_id=member)) == 1
        assert message["Message-ID"] == f"<{delivery['id']}@cercle.local>"
        [recorded] = reader.wait_for(
            lambda rs: [r for r in rs if r.envelope.data["delivery_id"] == delivery["id"]],
            TIMEOUT,
            message="EmailDeliveryRecorded",
        )
        assert recorded.key == member
        assert recorded.envelope.data["status"] == "sent"
        assert recorded.envelope.correlation_id == confirmation.id

    # The same event again (a redelivery), then a later one on the same partition as a marker.
    publish(producer, confirmation)
    other, other_email = member_with_contact(producer)
    publish(producer, confirmed(other, session))
    wait_until(lambda: mail_to(smtp, other_email), TIMEOUT, message="the marker email")
    assert len(mail_to(smtp, email)) == 1
    assert len(deliveries(api, member_id=member)) == 1


def test_a_confirmation_arriving_before_the_contact_is_sent_in_french_once_the_contact_arrives(api, smtp, producer):
    member, session = new_id(), new_id()
    email = f"{member[:8]}@example.org"
    publish(producer, session_scheduled(session))
    publish(producer, confirmed(member, session))
    wait_until(
        lambda: [d for d in deliveries(api, member_id=member) if d["status"] == "waiting_contact"],
        TIMEOUT,
        message="a delivery waiting for its contact",
    )
    assert mail_to(smtp, email) == []

    publish(producer, contact_changed(member, email=email, language="fr"))
    [message] = wait_until(lambda: mail_to(smtp, email), TIMEOUT, message="the confirmation email")
    assert message["Subject"] == "Inscription confirmée : Nature et santé mentale"
    body = message.get_body(("plain",)).get_content()
    assert "mardi 3 mars 2026, de 13 h 30 à 16 h (heure de l'Est)" in body
    assert "Lieu : Maison du citoyen, Laval" in body


def test_without_email_consent_nothing_is_sent(api, smtp, producer):
    member, email = member_with_contact(producer, email_consent=False)
    session = new_id()
    publish(producer, session_scheduled(session))
    publish(producer, confirmed(member, session))
    [delivery] = wait_until(
        lambda: [d for d in deliveries(api, member_id=member) if d["status"] == "skipped"],
        TIMEOUT,
        message="a skipped delivery",
    )
    assert delivery["reason"] == "no_email_consent"
    assert mail_to(smtp, email) == []


def test_a_tombstone_removes_the_contact(api, producer):
    member, _ = member_with_contact(producer)

    def contact():
        with api.app_state.runtime.uow() as uow:
            return uow.contacts.get(member)

    wait_until(lambda: contact() is not None, TIMEOUT, message="the contact replica")
    producer.send(topics.MEMBER_CONTACTS.name, key=member.encode(), value=None).get(30)
    wait_until(lambda: contact() is None, TIMEOUT, message="the contact to be removed")


def test_erasure_anonymizes_the_members_deliveries(api, smtp, producer):
    member, email = member_with_contact(producer)
    session = new_id()
    publish(producer, session_scheduled(session))
    publish(producer, confirmed(member, session))
    [sent] = wait_until(
        lambda: [d for d in deliveries(api, member_id=member) if d["status"] == "sent"],
        TIMEOUT,
        message="the sent delivery",
    )

    publish(producer, MemberErased(member_id=member, erased_at=datetime.now(UTC)))
    wait_until(lambda: deliveries(api, member_id=member) == [], TIMEOUT, message="the deliveries to be anonymized")
    everything = every_delivery(api)
    [anonymous] = [d for d in everything if d["id"] == sent["id"]]
    assert (anonymous["member_id"], anonymous["recipient"], anonymous["anonymized"]) == (None, None, True)
    assert (anonymous["status"], anonymous["kind"], anonymous["attempts"]) == ("sent", sent["kind"], 1)
    assert email not in str(everything)


def test_a_new_time_is_emailed_to_the_registered_member(api, smtp, producer):
    member, email = member_with_contact(producer, language="en")
    session = new_id()
    publish(producer, session_scheduled(session))
    publish(producer, confirmed(member, session))
    wait_until(lambda: mail_to(smtp, email), TIMEOUT, message="the confirmation email")

    later = STARTS + timedelta(days=7)
    publish(producer, rescheduled(session, starts_at=later, ends_at=later + timedelta(hours=2)))
    messages = wait_until(
        lambda: [m for m in mail_to(smtp, email) if m["Subject"].startswith("Change")],
        TIMEOUT,
        message="the change email",
    )
    body = messages[0].get_body(("plain",)).get_content()
    # Summer time began on March 8: the same UTC hour is an hour later on the wall clock.
    assert "When: Tuesday, March 10, 2026, 2:30 PM – 4:30 PM (Eastern Time)" in body
    assert "(Previously: Tuesday, March 3, 2026, 1:30 PM – 4:00 PM (Eastern Time))" in body
