"""The batched consumer on the real broker and PostgreSQL: a fetched batch commits in one transaction, a savepoint per
event; an event whose reaction fails (an exception, or a constraint PostgreSQL refuses inside the transaction) is
retried and dead-lettered alone, and the rest of its batch is applied once."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, select

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


async def _produce(bootstrap: str, envelopes: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        sent = []
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            sent.append(
                await producer.send(
                    topics.MEMBERS.name, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
                )
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _event(member_id: str) -> r.MemberRegistered:
    return r.MemberRegistered(member_id=member_id, language="fr", registered_at=datetime.now(UTC))


def _messaging(service: str, pg_url: str, bootstrap: str, tables, db_factory, react, **settings) -> Messaging:
    """A service's messaging with one reaction to MemberRegistered, on PostgreSQL and the real broker."""
    return Messaging(
        service=service,
        settings=ServiceSettings(
            database_url=pg_url,
            kafka_bootstrap=bootstrap,
            jwt_secret="x" * 40,
            http_port=1,
            consumer_backoff_initial=0.01,
            **settings,
        ),
        db_factory=db_factory,
        tables=tables,
        outbox=Outbox(tables, source=f"/cercle/{service}"),
        uow_factory=lambda: UnitOfWork(db_factory),
        subscriptions=Subscriptions().on(r.MemberRegistered, react),
    )


async def test_a_failing_event_and_a_refused_row_are_dead_lettered_alone_and_the_rest_of_the_batch_applied_once(
    kafka, pg_url
):
    service = f"batch{uuid.uuid4().hex[:6]}"
    ensure_topics(kafka.bootstrap, [dead_letter_topic(service)])
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("member_id", String(60), unique=True),  # a second event for the same member is refused by PostgreSQL
    )
    engine = make_engine(pg_url)
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    prefix = uuid.uuid4().hex[:6]
    failing = f"{prefix}-failing"
    calls: dict[str, int] = {}

    def react(event, uow, ctx):
        calls[event.member_id] = calls.get(event.member_id, 0) + 1
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        if event.member_id == failing:
            raise RuntimeError("this member cannot be projected")

    messaging = _messaging(
        service, pg_url, kafka.bootstrap, tables, db_factory, react, consumer_max_attempts=3, consumer_batch_size=100
    )
    ids = [f"{prefix}-{n}" for n in range(40)]
    envelopes = [Envelope.wrap(_event(member_id), source="/t") for member_id in ids]
    duplicate = Envelope.wrap(_event(ids[5]), source="/t")  # another event id, the same member: a unique violation
    envelopes[10:10] = [Envelope.wrap(_event(failing), source="/t"), duplicate]
    envelopes.append(envelopes[0])  # a redelivered event (same id) further down the log
    # Then a marker on the copy's key, so on its partition, after it: once the marker is applied, so was the copy.
    marker_id = f"{prefix}-marker"
    marker = Envelope(**{**Envelope.wrap(_event(marker_id), source="/t").__dict__, "key": envelopes[0].key})
    envelopes.append(marker)

    def applied() -> list[str]:
        with db_factory() as db:
            return list(db.scalars(select(effects.c.member_id).where(effects.c.member_id.like(f"{prefix}-%"))))

    ours = {envelopes[10].id, duplicate.id}
    await _produce(kafka.bootstrap, envelopes)
    await messaging.start()
    try:
        await asyncio.wait_for(messaging.connected.wait(), 60)
        await wait_until_async(lambda: marker_id in applied(), 90, message="the marker behind the copy applied")
        await wait_until_async(lambda: len(applied()) >= 41, 90, message="every event applied")
        with TopicReader(kafka.bootstrap, dead_letter_topic(service).name) as reader:
            # The topic is shared with earlier tests: only this test's two events count.
            parked = reader.wait_for(
                # (a poison record of another test may have no ce_id, or one that is not text)
                lambda rs: (
                    (mine := [x for x in rs if (x.headers.get("ce_id") or b"").decode(errors="replace") in ours])
                    and len(mine) == 2
                    and mine
                ),
                timeout=60,
                message="two dead letters",
            )
            # The copy, had it been applied again, would have broken the unique column and been dead-lettered
            # before its partition moved on to the marker.
            copies = [x for x in reader.read_to_end() if x.headers.get("ce_id") == envelopes[0].id.encode()]
            assert copies == []
    finally:
        await messaging.stop()
    # each once (the copy too); nothing of the failing event; the duplicate refused
    assert sorted(applied()) == sorted([*ids, marker_id])
    with db_factory() as db:
        recorded = set(
            db.scalars(select(tables.processed_events.c.event_id).where(tables.processed_events.c.consumer == service))
        )
    assert {e.id for e in envelopes if e.key in ids and e is not duplicate} <= recorded
    assert not ours & recorded  # not recorded: a replay would try them again
    assert calls[failing] == 3
    assert {p.headers["dlq_attempts"] for p in parked} == {b"3"}
    engine.dispose()


async def test_a_value_its_column_cannot_hold_is_dead_lettered_at_its_first_failure_without_retries(kafka, pg_url):
    service = f"batch{uuid.uuid4().hex[:6]}"
    ensure_topics(kafka.bootstrap, [dead_letter_topic(service)])
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(60)))
    engine = make_engine(pg_url)
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    member_id = f"toolong-{uuid.uuid4().hex}{uuid.uuid4().hex}"  # 72 characters: too long for a VARCHAR(60)
    poison = Envelope.wrap(_event(member_id), source="/t")
    behind = Envelope(**{**Envelope.wrap(_event("ok"), source="/t").__dict__, "key": poison.key})  # same partition
    calls: list[str] = []

    def react(event, uow, ctx):
        calls.append(ctx.event_id)
        uow.db.execute(effects.insert().values(member_id=event.member_id))

    messaging = _messaging(service, pg_url, kafka.bootstrap, tables, db_factory, react, consumer_max_attempts=5)
    await _produce(kafka.bootstrap, [poison, behind])
    await messaging.start()
    try:
        await asyncio.wait_for(messaging.connected.wait(), 60)
        await wait_until_async(lambda: behind.id in calls, 90, message="the event behind the poison applied")
        with TopicReader(kafka.bootstrap, dead_letter_topic(service).name) as reader:
            [parked] = reader.wait_for(
                lambda rs: [x for x in rs if x.headers.get("ce_id") == poison.id.encode()], message="the dead letter"
            )
    finally:
        await messaging.stop()
    assert calls.count(poison.id) == 1  # the batch's attempt, and no retry
    assert parked.headers["dlq_attempts"] == b"1"
    assert parked.headers["dlq_error"].startswith(b"DataError")
    engine.dispose()
