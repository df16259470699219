"""The compose stack's broker authenticates every client and its ACLs decide, as the table says: tried through
its published listener with the principals and passwords of the stack's env file."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError

from cercle_shared.contracts import topics
from cercle_shared.messaging.security import aiokafka_config
from cercle_shared.settings import KafkaSettings

pytestmark = pytest.mark.compose


def service(stack, name: str) -> KafkaSettings:
    return stack.kafka_settings(f"cercle-{name}", stack.env[f"CERCLE_KAFKA_PASSWORD_{name.upper()}"])


async def produce(settings: KafkaSettings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, **aiokafka_config(settings)
    )
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), 20)
    finally:
        await producer.stop()


async def first_record(settings: KafkaSettings, topic: str, group: str) -> bytes | None:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, **aiokafka_config(settings),
    )  # fmt: skip
    await consumer.start()
    try:
        batch = await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 20)
        return next((record.value for records in batch.values() for record in records), None)
    finally:
        await consumer.stop()


async def test_sessions_principal_cannot_write_registrations_topics(compose_stack):
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(service(compose_stack, "sessions"), topics.MEMBER_CONTACTS.name, b"forged")


async def test_insights_principal_cannot_read_member_contacts(compose_stack):
    with pytest.raises(TopicAuthorizationFailedError):
        await first_record(service(compose_stack, "insights"), topics.MEMBER_CONTACTS.name, "cercle-insights")


async def test_sessions_principal_writes_its_own_topic(compose_stack):
    await produce(service(compose_stack, "sessions"), topics.dead_letter_topic("sessions").name, b"parked by a test")


async def test_a_wrong_password_is_refused(compose_stack):
    wrong = compose_stack.kafka_settings("cercle-sessions", uuid.uuid4().hex)
    with pytest.raises((KafkaConnectionError, KafkaError)):
        await produce(wrong, topics.SESSIONS.name, b"x")


async def test_no_plaintext_client_is_served(compose_stack):
    anonymous = KafkaSettings(kafka_bootstrap=compose_stack.kafka_bootstrap)
    with pytest.raises((KafkaConnectionError, KafkaError, asyncio.TimeoutError)):
        await asyncio.wait_for(produce(anonymous, topics.SESSIONS.name, b"x"), 30)
