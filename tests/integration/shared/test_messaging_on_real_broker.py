"""Outbox relay, idempotent consumption and dead-lettering on the real broker and real PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.contracts import topics
from cercle_shared.contracts.topics import dead_letter_topic
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Envelope, Messaging, Outbox, Subscriptions
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.wait import wait_until_async
from tests.support.kafka_reader import TopicReader

pytestmark = pytest.mark.integration


class Harness:
    def __init__(self, pg_url: str, bootstrap: str, handler=None, max_attempts: int = 3) -> None:
        self.service = f"it{uuid.uuid4().hex[:6]}"
        ensure_topics(bootstrap, [dead_letter_topic(self.service)])
        metadata = MetaData()
        self.tables = messaging_tables(metadata)
        self.effects = Table(
            "effects", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(40))
        )
        self.engine = make_engine(pg_url)
        metadata.create_all(self.engine)
        self.db_factory = make_session_factory(self.engine)
        subscriptions = Subscriptions()
        if handler:
            subscriptions.on(r.MemberRegistered, handler(self))
        settings = ServiceSettings(
            database_url=pg_url,
            kafka_bootstrap=bootstrap,
            jwt_secret="x" * 40,
            http_port=1,
            consumer_max_attempts=max_attempts,
            consumer_backoff_initial=0.01,
            relay_poll_interval=0.05,
        )
        self.messaging = Messaging(
            service=self.service,
            settings=settings,
            db_factory=self.db_factory,
            tables=self.tables,
            outbox=Outbox(self.tables, source=f"/cercle/{self.service}"),
            uow_factory=lambda: UnitOfWork(self.db_factory),
            subscriptions=subscriptions,
        )

    def effects_for(self, member_ids) -> int:
        with self.db_factory() as db:
            return db.scalar(
                select(func.count()).select_from(self.effects).where(self.effects.c.member_id.in_(list(member_ids)))
            )

    async def __aenter__(self):
        await self.messaging.start()
        await asyncio.wait_for(self.messaging.connected.wait(), 60)
        return self

    async def __aexit__(self, *exc):
        await self.messaging.stop()
        self.engine.dispose()


def _event(member_id: str) -> r.MemberRegistered:
    return r.MemberRegistered(member_id=member_id, language="fr", registered_at=datetime.now(UTC))


def _recording_handler(harness):
    def handle(event, uow, ctx):
        uow.db.execute(harness.effects.insert().values(member_id=event.member_id))

    return handle


def _event_id_recording_handler(harness):
    """Records the id of each event applied (ids fit the column), so that the copies and the later event differ."""

    def handle(event, uow, ctx):
        uow.db.execute(harness.effects.insert().values(member_id=ctx.event_id))

    return handle


async def _produce(bootstrap: str, *envelopes: Envelope) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            await producer.send_and_wait(
                topics.MEMBERS.name, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
            )
    finally:
        await producer.stop()


async def test_the_relay_publishes_what_was_committed_in_commit_order_and_nothing_rolled_back(kafka, pg_url):
    ids = [f"relay-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    rolled_back = f"never-committed-{uuid.uuid4().hex[:8]}"
    async with Harness(pg_url, kafka.bootstrap) as h:
        with h.db_factory.begin() as db:
            for member_id in ids[:5]:
                h.messaging.outbox.add(db, _event(member_id))
        with h.db_factory() as db:
            h.messaging.outbox.add(db, _event(rolled_back))
            db.rollback()
        with h.db_factory.begin() as db:
            for member_id in ids[5:]:
                h.messaging.outbox.add(db, _event(member_id))
        await wait_until_async(lambda: h.messaging.relay.pending_count() == 0, 60, message="outbox drained")
        # What the relay can ever publish is what the outbox holds: the rolled-back event never got there.
        with h.db_factory() as db:
            assert db.scalar(select(func.count()).select_from(h.tables.outbox)) == len(ids)

    with TopicReader(kafka.bootstrap, topics.MEMBERS.name) as reader:
        records = reader.wait_for(
            lambda rs: len([x for x in rs if x.key in ids]) == 10 and rs, timeout=60, message="10 events"
        )
        keys = [x.key for x in records]
        assert rolled_back not in keys
        assert all(x.type == "org.cercle.registration.member.registered.v1" for x in records if x.key in ids)
        # one partition per key, so per-key order holds; all ten ids were published exactly once
        assert sorted(k for k in keys if k in ids) == sorted(ids)


async def test_a_redelivered_event_is_applied_once(kafka, pg_url):
    member_id = f"dup-{uuid.uuid4().hex[:8]}"
    envelope = Envelope.wrap(_event(member_id), source="/cercle/test")
    # A later, distinct event with the same key lands on the same partition after the copies:
    # once it is applied, every copy before it has been consumed.
    later = Envelope.wrap(_event(member_id), source="/cercle/test")
    async with Harness(pg_url, kafka.bootstrap, _event_id_recording_handler) as h:
        await _produce(kafka.bootstrap, envelope, envelope, envelope, later)
        await wait_until_async(lambda: h.effects_for([later.id]) == 1, 60, message="later event applied")
        assert h.effects_for([envelope.id]) == 1


async def test_a_failing_handler_dead_letters_the_record_after_n_attempts_and_the_partition_moves_on(kafka, pg_url):
    member_id = f"poison-{uuid.uuid4().hex[:8]}"
    # One key, so one partition: the poison record holds up the record behind it until it is dead-lettered.
    poison = Envelope.wrap(_event(member_id), source="/t")
    behind = Envelope.wrap(_event(member_id), source="/t")
    attempts = []

    def failing(harness):
        def handle(event, uow, ctx):
            if ctx.event_id == poison.id:
                attempts.append(1)
                raise RuntimeError("this member cannot be projected")
            uow.db.execute(harness.effects.insert().values(member_id=event.member_id))

        return handle

    async with Harness(pg_url, kafka.bootstrap, failing, max_attempts=3) as h:
        await _produce(kafka.bootstrap, poison, behind)
        await wait_until_async(lambda: h.effects_for([member_id]) == 1, 60, message="the record behind processed")
        dlq = h.messaging.dead_letter_topic

    assert len(attempts) == 3
    # The harness's new consumer group reads the members topic from its start, so its dead-letter topic also
    # holds whatever poison other tests left there (tests/integration/test_hostile_records.py): only the records
    # of this test's key are its own.
    with TopicReader(kafka.bootstrap, dlq) as reader:
        records = reader.wait_for(lambda rs: [x for x in rs if x.key == member_id], timeout=60, message="dead letter")
    assert len(records) == 1
    assert records[0].headers["ce_id"] == poison.id.encode()
    assert b"this member cannot be projected" in records[0].headers["dlq_error"]
    assert records[0].headers["dlq_attempts"] == b"3"
    assert records[0].headers["ce_type"] == b"org.cercle.registration.member.registered.v1"
