"""`cercle-ops partner grant-kafka` on the secured broker: the printed credential works, read-only on partner
topics; `revoke-kafka` ends it. `cercle-ops broker bootstrap` runs again without changing anything."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from cercle_ops.cli import main
from cercle_shared.contracts import access, topics
from cercle_shared.messaging.security import aiokafka_config

pytestmark = pytest.mark.integration


@pytest.fixture
def as_admin(secured_kafka, monkeypatch):
    monkeypatch.setenv("CERCLE_KAFKA_BOOTSTRAP", secured_kafka.bootstrap)
    monkeypatch.setenv("CERCLE_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CERCLE_KAFKA_SASL_USERNAME", access.ADMIN_USER)
    monkeypatch.setenv("CERCLE_KAFKA_SASL_PASSWORD", secured_kafka.admin_password)
    for service, password in secured_kafka.passwords.items():
        monkeypatch.setenv(f"CERCLE_KAFKA_PASSWORD_{service.upper()}", password)


async def _first(settings, topic: str, group: str) -> bytes:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        **aiokafka_config(settings),
    )
    await consumer.start()
    try:
        return (await asyncio.wait_for(consumer.getone(), 20)).value
    finally:
        await consumer.stop()


async def _produce(settings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, **aiokafka_config(settings))
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"x")
    finally:
        await producer.stop()


def test_grant_kafka_prints_a_working_read_only_credential_once_and_revoke_kafka_ends_it(
    secured_kafka, as_admin, capsys
):
    org = f"org{uuid.uuid4().hex[:6]}"
    assert main(["partner", "grant-kafka", org]) == 0
    out = capsys.readouterr().out
    password = re.search(r"sasl\.password\s*│\s*(\S+)", out).group(1)
    assert f"partner-{org}" in out
    assert f"partner.{org}." in out
    assert topics.MEMBER_CONTACTS.name not in out
    settings = secured_kafka.settings(f"partner-{org}", password)

    asyncio.run(_produce(secured_kafka.service("registration"), topics.ORGANIZATIONS.name))
    assert asyncio.run(_first(settings, topics.ORGANIZATIONS.name, f"partner.{org}.feed")) == b"x"
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_produce(settings, topics.ORGANIZATIONS.name))

    assert main(["partner", "revoke-kafka", org]) == 0
    assert "credential deleted" in capsys.readouterr().out
    with pytest.raises(KafkaConnectionError):
        asyncio.run(_first(settings, topics.ORGANIZATIONS.name, f"partner.{org}.feed2"))


def test_broker_bootstrap_from_the_command_line_is_idempotent(secured_kafka, as_admin, capsys):
    assert main(["broker", "bootstrap", "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert "0 topic(s) created" in out
    assert "ACLs 0 added, 0 removed" in out
