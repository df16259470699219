"""The secured broker refuses what the ACL table forbids and allows what it grants (real Kafka, real SCRAM)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

from cercle_ops import broker
from cercle_shared.contracts import access, topics
from cercle_shared.messaging.security import aiokafka_config
from cercle_shared.settings import KafkaSettings

pytestmark = pytest.mark.integration


async def _produce(settings: KafkaSettings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **aiokafka_config(settings)
    )
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), 20)
    finally:
        await producer.stop()


async def _read_one(settings: KafkaSettings, topic: str, group: str, wanted: bytes) -> bytes:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        **aiokafka_config(settings),
    )
    await consumer.start()
    try:
        while True:
            record = await asyncio.wait_for(consumer.getone(), 20)
            if record.value == wanted:
                return record.value
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def partner(secured_kafka):
    org = f"acme{uuid.uuid4().hex[:6]}"
    credentials = broker.grant_partner(secured_kafka.admin, org)
    yield credentials
    broker.revoke_partner(secured_kafka.admin, org)


def _partner_settings(secured_kafka, partner) -> KafkaSettings:
    return secured_kafka.settings(partner.username, partner.password)


async def test_a_partner_reading_member_contacts_gets_an_authorization_error(secured_kafka, partner):
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(
            _partner_settings(secured_kafka, partner),
            topics.MEMBER_CONTACTS.name,
            f"{partner.group_prefix}contacts",
            b"never",
        )


async def test_a_partner_cannot_read_sign_in_links_either(secured_kafka, partner):
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(
            _partner_settings(secured_kafka, partner), topics.SIGN_IN_LINKS.name, f"{partner.group_prefix}x", b"x"
        )


async def test_a_partner_reads_session_registrations_written_by_sessions(secured_kafka, partner):
    value = f"registration-{uuid.uuid4().hex}".encode()
    await _produce(secured_kafka.service("sessions"), topics.SESSION_REGISTRATIONS.name, value)
    read = await _read_one(
        _partner_settings(secured_kafka, partner),
        topics.SESSION_REGISTRATIONS.name,
        f"{partner.group_prefix}feed",
        value,
    )
    assert read == value


async def test_a_partner_group_outside_its_prefix_is_refused(secured_kafka, partner):
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_one(
            _partner_settings(secured_kafka, partner), topics.SESSION_REGISTRATIONS.name, "cercle-insights", b"x"
        )


@pytest.mark.parametrize("topic", [topics.MEMBERS.name, topics.MEMBER_CONTACTS.name, topics.COMMUNITIES.name])
async def test_sessions_cannot_write_to_registrations_topics(secured_kafka, topic):
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(secured_kafka.service("sessions"), topic, b"forged")


async def test_sessions_writes_its_own_topic_and_its_dead_letter_topic(secured_kafka):
    await _produce(secured_kafka.service("sessions"), topics.SESSIONS.name, b"own")
    await _produce(secured_kafka.service("sessions"), topics.dead_letter_topic("sessions").name, b"parked")


async def test_insights_cannot_read_member_contacts(secured_kafka):
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(
            secured_kafka.service("insights"), topics.MEMBER_CONTACTS.name, access.consumer_group("insights"), b"x"
        )


async def test_only_registration_writes_sign_in_links(secured_kafka):
    await _produce(secured_kafka.service("registration"), topics.SIGN_IN_LINKS.name, b"link")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(secured_kafka.service("notifications"), topics.SIGN_IN_LINKS.name, b"forged link")


async def test_a_service_cannot_consume_in_another_services_group(secured_kafka):
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_one(
            secured_kafka.service("insights"), topics.SESSIONS.name, access.consumer_group("notifications"), b"x"
        )


async def test_a_wrong_password_is_refused_and_the_right_one_accepted(secured_kafka, caplog):
    wrong = secured_kafka.settings(access.service_user("sessions"), "not-" + secured_kafka.passwords["sessions"])
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        await _produce(wrong, topics.SESSIONS.name, b"x")
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in caplog.text
    await _produce(secured_kafka.service("sessions"), topics.SESSIONS.name, b"x")


async def test_a_client_without_credentials_is_refused(secured_kafka):
    with pytest.raises(KafkaConnectionError):
        await _produce(KafkaSettings(kafka_bootstrap=secured_kafka.bootstrap), topics.SESSIONS.name, b"x")


async def test_a_revoked_partner_can_no_longer_connect(secured_kafka):
    org = f"gone{uuid.uuid4().hex[:6]}"
    credentials = broker.grant_partner(secured_kafka.admin, org)
    settings = secured_kafka.settings(credentials.username, credentials.password)
    value = f"before-{uuid.uuid4().hex}".encode()
    await _produce(secured_kafka.service("sessions"), topics.SESSIONS.name, value)
    assert await _read_one(settings, topics.SESSIONS.name, f"{credentials.group_prefix}a", value) == value

    had_credential, removed = broker.revoke_partner(secured_kafka.admin, org)

    assert had_credential
    assert removed == len(access.partner_grants(org))
    with pytest.raises(KafkaConnectionError):
        await _read_one(settings, topics.SESSIONS.name, f"{credentials.group_prefix}b", value)


def test_bootstrap_again_changes_nothing_and_drops_a_grant_the_table_does_not_make(secured_kafka):
    stray = ACL(
        principal=access.principal(access.service_user("insights")),
        host="*",
        operation=ACLOperation.READ,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType.TOPIC, topics.MEMBER_CONTACTS.name, ACLResourcePatternType.LITERAL
        ),
    )
    admin = broker.admin_client(secured_kafka.admin)
    try:
        admin.create_acls([stray])
    finally:
        admin.close()

    report = broker.bootstrap(secured_kafka.admin, secured_kafka.passwords)

    assert (report.topics_created, report.acls_added, report.acls_removed) == ([], 0, 1)
    admin = broker.admin_client(secured_kafka.admin)
    try:
        on_broker = {broker.from_acl(acl) for acl in broker.acls_of(admin, stray.principal)}
    finally:
        admin.close()
    assert on_broker == set(access.service_grants("insights"))


async def test_a_partner_connects_over_tls_with_the_generated_ca(secured_kafka, partner):
    settings = KafkaSettings(
        kafka_bootstrap=secured_kafka.tls_bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username=partner.username,
        kafka_sasl_password=partner.password,
        kafka_ssl_cafile=str(secured_kafka.tls_files.ca_cert),
    )
    value = f"over-tls-{uuid.uuid4().hex}".encode()
    await _produce(secured_kafka.service("sessions"), topics.SESSIONS.name, value)
    assert await _read_one(settings, topics.SESSIONS.name, f"{partner.group_prefix}tls", value) == value


async def test_a_tls_client_that_does_not_trust_the_ca_is_refused(secured_kafka, partner):
    consumer = AIOKafkaConsumer(
        topics.SESSIONS.name,
        bootstrap_servers=secured_kafka.tls_bootstrap,
        group_id=f"{partner.group_prefix}untrusting",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=partner.username,
        sasl_plain_password=partner.password,
        ssl_context=ssl.create_default_context(),  # the system's CAs only
    )
    with pytest.raises(KafkaConnectionError):
        await consumer.start()
    await consumer.stop()
