"""The outbox relay and the idempotent consumer against SQLite with a recording publisher.

The same components run against the real broker and PostgreSQL in tests/integration/shared.
"""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Envelope, IdempotentConsumer, Outbox, OutboxRelay, Record, Subscriptions
from cercle_shared.uow import UnitOfWork


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[tuple] = []
        self.fail_times = fail_times

    async def __call__(self, topic, key, value, headers):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("broker down")
        self.sent.append((topic, key, value, headers))


@pytest.fixture
def database(tmp_path):
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(40)))
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    return make_session_factory(engine), tables, effects


def _event(n: int) -> r.MemberRegistered:
    return r.MemberRegistered(member_id=f"m-{n}", language="fr", registered_at=datetime.now(UTC))


def test_the_relay_publishes_committed_events_in_order_and_marks_them(database):
    db_factory, tables, _ = database
    outbox = Outbox(tables, source="/test")
    with db_factory.begin() as db:
        for n in range(3):
            outbox.add(db, _event(n))
    with db_factory() as db:  # rolled back: never published
        outbox.add(db, _event(99))
        db.rollback()
    publish = Recorder()
    relay = OutboxRelay(db_factory, tables, publish)
    assert asyncio.run(relay.publish_pending()) == 3
    assert [key for _, key, _, _ in publish.sent] == [b"m-0", b"m-1", b"m-2"]
    assert relay.pending_count() == 0
    assert asyncio.run(relay.publish_pending()) == 0


def test_a_failed_send_keeps_the_row_pending_with_its_error_and_stops_the_batch(database):
    db_factory, tables, _ = database
    outbox = Outbox(tables, source="/test")
    with db_factory.begin() as db:
        outbox.add(db, _event(1))
        outbox.add(db, _event(2))
    relay = OutboxRelay(db_factory, tables, Recorder(fail_times=1))
    with pytest.raises(ConnectionError):
        asyncio.run(relay.publish_pending())
    assert relay.pending_count() == 2
    with db_factory() as db:
        first = db.execute(select(tables.outbox).order_by(tables.outbox.c.seq)).first()
    assert first.attempts == 1
    assert "broker down" in first.last_error


def test_a_send_that_hangs_is_bounded(database):
    db_factory, tables, _ = database
    with db_factory.begin() as db:
        Outbox(tables, source="/test").add(db, _event(1))

    async def hang(*_):
        await asyncio.sleep(3600)

    relay = OutboxRelay(db_factory, tables, hang, send_timeout=0.05)
    with pytest.raises(TimeoutError):
        asyncio.run(relay.publish_pending())
    assert relay.pending_count() == 1


def _record(envelope: Envelope, offset: int = 0) -> Record:
    key, value, headers = envelope.to_kafka()
    return Record("cercle.registration.members", 0, offset, key, value, {k: v.encode() for k, v in headers.items()})


def _consumer(database, handler, dlq: Recorder, max_attempts=3):
    db_factory, tables, _ = database
    subs = Subscriptions().on(r.MemberRegistered, handler)
    return IdempotentConsumer(
        name="test",
        uow_factory=lambda: UnitOfWork(db_factory),
        tables=tables,
        subscriptions=subs,
        dead_letter_topic="dlq",
        publish_dead_letter=dlq,
        max_attempts=max_attempts,
        backoff_initial=0.001,
    )


def _count(database) -> int:
    db_factory, _, effects = database
    with db_factory() as db:
        return db.scalar(select(func.count()).select_from(effects))


def test_a_redelivered_event_changes_nothing(database):
    _, _, effects = database

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))

    consumer = _consumer(database, handler, Recorder())
    record = _record(Envelope.wrap(_event(1), source="/t"))
    asyncio.run(consumer.handle(record))
    asyncio.run(consumer.handle(record))
    assert _count(database) == 1


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_with_its_error(database):
    _, _, effects = database
    calls = []

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        calls.append(1)
        raise RuntimeError("cannot apply")

    dlq = Recorder()
    asyncio.run(
        _consumer(database, handler, dlq, max_attempts=3).handle(_record(Envelope.wrap(_event(1), source="/t"), 7))
    )
    assert len(calls) == 3
    assert _count(database) == 0  # every failed attempt rolled back
    topic, key, _, headers = dlq.sent[0]
    assert topic == "dlq"
    assert key == b"m-1"
    assert headers["dlq_offset"] == "7"
    assert headers["dlq_attempts"] == "3"
    assert "cannot apply" in headers["dlq_error"]


def test_a_handler_that_fails_once_succeeds_on_retry_without_dead_letter(database):
    _, _, effects = database
    calls = []

    def handler(event, uow, ctx):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")
        uow.db.execute(effects.insert().values(member_id=event.member_id))

    dlq = Recorder()
    asyncio.run(_consumer(database, handler, dlq).handle(_record(Envelope.wrap(_event(1), source="/t"))))
    assert _count(database) == 1
    assert dlq.sent == []


def test_a_poison_message_goes_to_dead_letter_at_once(database):
    calls = []
    dlq = Recorder()
    consumer = _consumer(database, lambda *a: calls.append(1), dlq)
    asyncio.run(consumer.handle(Record("cercle.registration.members", 0, 3, b"k", b"not json", {"ce_type": b"x"})))
    assert calls == []
    assert len(dlq.sent) == 1
    assert dlq.sent[0][3]["dlq_attempts"] == "0"


def test_when_the_dead_letter_cannot_be_written_the_error_propagates_so_the_offset_is_not_committed(database):
    dlq = Recorder(fail_times=1)
    consumer = _consumer(database, lambda *a: (_ for _ in ()).throw(RuntimeError("x")), dlq, max_attempts=1)
    with pytest.raises(ConnectionError):
        asyncio.run(consumer.handle(_record(Envelope.wrap(_event(1), source="/t"))))


def test_events_the_service_does_not_handle_are_skipped(database):
    calls = []
    consumer = _consumer(database, lambda *a: calls.append(1), Recorder())
    other = r.MemberErased(member_id="m-1", erased_at=datetime.now(UTC))
    asyncio.run(consumer.handle(_record(Envelope.wrap(other, source="/t"))))
    assert calls == []


def test_a_tombstone_reaches_its_handler_once(database):
    db_factory, tables, _effects = database
    seen = []
    subs = Subscriptions().on_tombstone("contacts", lambda key, uow, ctx: seen.append(key))
    consumer = IdempotentConsumer(
        name="t",
        uow_factory=lambda: UnitOfWork(db_factory),
        tables=tables,
        subscriptions=subs,
        dead_letter_topic="dlq",
        publish_dead_letter=Recorder(),
    )
    record = Record("contacts", 1, 5, b"m-1", None, {})
    asyncio.run(consumer.handle(record))
    asyncio.run(consumer.handle(record))
    assert seen == ["m-1"]


def test_a_pipelined_batch_marks_only_the_rows_before_the_first_failed_delivery(database):
    db_factory, tables, _ = database
    with db_factory.begin() as db:
        for n in range(3):
            Outbox(tables, source="/test").add(db, _event(n))

    async def run() -> list[str]:
        outcomes = iter([None, ConnectionError("lost"), None])
        handed: list[str] = []

        async def enqueue(topic, key, value, headers):
            handed.append(key.decode())
            delivery = asyncio.get_running_loop().create_future()
            outcome = next(outcomes)
            if outcome is None:
                delivery.set_result("ok")
            else:
                delivery.set_exception(outcome)
            return delivery

        relay = OutboxRelay(db_factory, tables, enqueue)
        with pytest.raises(ConnectionError):
            await relay.publish_pending()
        return handed

    assert asyncio.run(run()) == ["m-0", "m-1", "m-2"]  # all handed over in order before any wait
    with db_factory() as db:
        rows = db.execute(select(tables.outbox).order_by(tables.outbox.c.seq)).all()
    assert [r.published_at is not None for r in rows] == [True, False, False]
    assert rows[1].attempts == 1
    assert "lost" in rows[1].last_error


def test_an_event_kafka_would_refuse_is_refused_when_written_not_left_to_block_the_relay(database):
    from cercle_shared.errors import InvalidInput
    from cercle_shared.messaging.outbox import MAX_RECORD_BYTES

    db_factory, tables, _ = database
    outbox = Outbox(tables, source="/test")
    huge = r.MemberRegistered(
        member_id="m-1", language="fr", expertise=["x" * MAX_RECORD_BYTES], registered_at=datetime.now(UTC)
    )
    with db_factory() as db, pytest.raises(InvalidInput, match="bytes"):
        outbox.add(db, huge)
    with db_factory.begin() as db:
        outbox.add(db, _event(2))  # the next one goes through, and nothing holds it back
    publish = Recorder()
    assert asyncio.run(OutboxRelay(db_factory, tables, publish).publish_pending()) == 1
    assert [key for _, key, _, _ in publish.sent] == [b"m-2"]
