"""The outbox relay's pipelined batches, its exact marking, its wake-up from any thread, and the unit of work's
one-statement outbox write, against SQLite with a recording producer.

The relay runs against the real broker and PostgreSQL in tests/integration/shared/test_single_relay*.py.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, event, insert, select

from cercle_shared.contracts import registration as r
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.domain import Aggregate
from cercle_shared.jobs import Job, JobRunner
from cercle_shared.messaging import Outbox, OutboxRelay
from cercle_shared.uow import PublishingUnitOfWork, Tombstone
from devtools.wait import wait_until_async


@pytest.fixture
def database(tmp_path):
    metadata = MetaData()
    tables = messaging_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    return engine, make_session_factory(engine), tables


def _event(n: int | str) -> r.MemberRegistered:
    return r.MemberRegistered(member_id=f"m-{n}", language="fr", registered_at=datetime.now(UTC))


class Producer:
    """Hands back a delivery per record, settled on the next loop turn (as a real producer's would be);
    fails the record whose key is `fail_key`."""

    def __init__(self, fail_key: bytes | None = None, on_send=None) -> None:
        self.sent: list[bytes] = []
        self.fail_key = fail_key
        self.on_send = on_send

    async def __call__(self, topic, key, value, headers):
        if self.on_send is not None:
            self.on_send(key)
        self.sent.append(key)
        delivery = asyncio.get_running_loop().create_future()
        if key == self.fail_key:
            asyncio.get_running_loop().call_soon(delivery.set_exception, ConnectionError("broker lost it"))
        else:
            asyncio.get_running_loop().call_soon(delivery.set_result, "ok")
        return delivery


def _pending_keys(db_factory, tables) -> list[str]:
    table = tables.outbox
    with db_factory() as db:
        return list(db.scalars(select(table.c.key).where(table.c.published_at.is_(None)).order_by(table.c.seq)))


def test_many_batches_are_published_in_order_once_each_and_all_marked(database):
    _, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    with db_factory.begin() as db:
        outbox.add_many(db, [_event(n) for n in range(1250)])
    producer = Producer()
    relay = OutboxRelay(db_factory, tables, producer, batch_size=100)

    assert asyncio.run(relay.publish_pending()) == 1250

    assert producer.sent == [f"m-{n}".encode() for n in range(1250)]
    assert _pending_keys(db_factory, tables) == []
    assert asyncio.run(relay.publish_pending()) == 0


def test_a_failure_in_a_later_batch_keeps_every_row_before_it_marked_and_the_rest_pending(database):
    _, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    with db_factory.begin() as db:
        outbox.add_many(db, [_event(n) for n in range(250)])
    relay = OutboxRelay(db_factory, tables, Producer(fail_key=b"m-230"), batch_size=100)

    with pytest.raises(ConnectionError):
        asyncio.run(relay.publish_pending())

    assert _pending_keys(db_factory, tables) == [f"m-{n}" for n in range(230, 250)]
    with db_factory() as db:
        failed = db.execute(select(tables.outbox).where(tables.outbox.c.key == "m-230")).one()
    assert failed.attempts == 1
    assert "broker lost it" in failed.last_error


def test_a_row_committed_meanwhile_with_a_seq_inside_the_batch_is_not_marked_unpublished_rows_never_are(database):
    """Sequences are handed out at INSERT, rows become visible at COMMIT: a slower transaction can commit a seq
    between two the relay already read. Marking by range would mark it published without it ever being sent."""
    _, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    table = tables.outbox
    with db_factory.begin() as db:
        for seq, n in ((1, "a"), (2, "b"), (4, "d")):
            envelope = outbox.add(db, _event(n))
            db.execute(table.update().where(table.c.event_id == envelope.id).values(seq=seq))
    late = outbox.add  # the slow transaction commits seq 3 while the relay hands the batch over

    def commit_seq_3(key: bytes) -> None:
        if key == b"m-a":
            with db_factory.begin() as db:
                envelope = late(db, _event("c"))
                db.execute(table.update().where(table.c.event_id == envelope.id).values(seq=3))

    producer = Producer(on_send=commit_seq_3)
    relay = OutboxRelay(db_factory, tables, producer)

    asyncio.run(relay.publish_pending())

    assert producer.sent == [b"m-a", b"m-b", b"m-d"]
    assert _pending_keys(db_factory, tables) == ["m-c"]  # still to publish, not lost
    asyncio.run(relay.publish_pending())
    assert producer.sent[-1] == b"m-c"


def test_a_commit_in_a_worker_thread_wakes_the_relay_long_before_its_poll(database):
    _, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    producer = Producer()
    relay = OutboxRelay(db_factory, tables, producer, poll_interval=3600)
    outbox.on_commit(relay.notify)

    async def scenario() -> None:
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.1)  # the relay found nothing and sleeps for an hour

        def commit_in_a_thread() -> None:
            with db_factory.begin() as db:
                outbox.add(db, _event(1))
            outbox.committed()

        thread = threading.Thread(target=commit_in_a_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        await wait_until_async(lambda: producer.sent == [b"m-1"], 30, message="the relay woke up and published")
        await relay.stop(flush_timeout=5)
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())


class Item(Aggregate):
    pass


class Uow(PublishingUnitOfWork):
    pass


def test_a_units_events_are_one_insert_statement_in_order_and_wake_the_relay_once_after_commit(database):
    engine, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    woken: list[str] = []
    outbox.on_commit(lambda: woken.append("woken"))
    publications = {
        "e1": [_event(1), _event(2)],
        "e2": [Tombstone(topic="cercle.registration.members", key="m-9", event_id="t-9"), _event(3)],
    }
    Uow.translate = staticmethod(lambda e: publications[e])  # type: ignore[assignment]
    inserts: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            inserts.append(len(parameters) if executemany else 1)

    with Uow(db_factory, outbox) as uow:
        item = Item()
        item.record("e1")  # type: ignore[arg-type]
        item.record("e2")  # type: ignore[arg-type]
        uow.track(item)
        assert woken == []
        uow.commit()

    assert woken == ["woken"]
    with db_factory() as db:
        keys = list(db.scalars(select(tables.outbox.c.key).order_by(tables.outbox.c.seq)))
    assert keys == ["m-1", "m-2", "m-9", "m-3"]  # the order recorded, the tombstone in its place
    assert inserts[0] == 2  # the two events before the tombstone in one statement


def test_a_unit_that_wrote_no_event_does_not_wake_the_relay(database):
    _, db_factory, tables = database
    outbox = Outbox(tables, source="/test")
    woken: list[str] = []
    outbox.on_commit(lambda: woken.append("woken"))
    Uow.translate = staticmethod(lambda e: [])  # type: ignore[assignment]
    with Uow(db_factory, outbox) as uow:
        uow.db.execute(
            insert(tables.processed_events).values(consumer="c", event_id="e", processed_at=datetime.now(UTC))
        )
        uow.commit()
    assert woken == []


def test_add_many_refuses_an_event_kafka_would_refuse_and_writes_none_of_them(database):
    from cercle_shared.messaging.outbox import MAX_RECORD_BYTES, EventTooLarge

    _, db_factory, tables = database
    huge = r.MemberRegistered(
        member_id="m-2", language="fr", expertise=["x" * MAX_RECORD_BYTES], registered_at=datetime.now(UTC)
    )
    with db_factory() as db, pytest.raises(EventTooLarge):
        Outbox(tables, source="/test").add_many(db, [_event(1), huge])
    assert _pending_keys(db_factory, tables) == []


def test_a_job_woken_from_another_thread_runs_long_before_its_interval():
    runs: list[int] = []

    async def scenario() -> None:
        runner = JobRunner([Job("send", every=3600, run=lambda: runs.append(1))], service="test")
        runner.start()
        await wait_until_async(lambda: len(runs) == 1, 30, message="first run at start")
        thread = threading.Thread(target=runner.waker("send"))
        thread.start()
        await asyncio.to_thread(thread.join)
        await wait_until_async(lambda: len(runs) == 2, 30, message="woken from a thread")
        await runner.stop(timeout=5)

    asyncio.run(scenario())
