"""The idempotent consumer applies a fetched batch in one transaction, a savepoint per event (SQLite here; the same
on PostgreSQL in tests/integration/shared/test_consumer_batch_on_postgresql.py)."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.domain import Aggregate, DomainEvent
from cercle_shared.messaging import Envelope, IdempotentConsumer, Outbox, Record, Subscriptions
from cercle_shared.uow import PublishingUnitOfWork, translation_table

TOPIC = "cercle.registration.members"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def __call__(self, topic, key, value, headers):
        self.sent.append((topic, key, value, headers))


@dataclass(frozen=True)
class Noted(DomainEvent):
    member_id: str


class Note(Aggregate):
    """An aggregate no table holds: the reaction hands it to the unit of work with track()."""

    def __init__(self, member_id: str) -> None:
        self.record(Noted(member_id))


class Uow(PublishingUnitOfWork):
    translate = staticmethod(
        translation_table(
            {
                Noted: lambda e: r.MemberErased(member_id=e.member_id, erased_at=datetime(2026, 1, 1, tzinfo=UTC)),
            }
        )
    )


@pytest.fixture
def database(tmp_path):
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(40)))
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    return engine, make_session_factory(engine), tables, effects


def _event(n: int) -> r.MemberRegistered:
    return r.MemberRegistered(member_id=f"m-{n}", language="fr", registered_at=datetime.now(UTC))


def _record(envelope: Envelope, offset: int) -> Record:
    key, value, headers = envelope.to_kafka()
    return Record(TOPIC, 0, offset, key, value, {k: v.encode() for k, v in headers.items()})


def _records(count: int, **wrap) -> list[Record]:
    return [_record(Envelope.wrap(_event(n), source="/t", **wrap), n) for n in range(count)]


def _consumer(database, handler, dlq=None, max_attempts=3) -> IdempotentConsumer:
    _, db_factory, tables, _ = database
    outbox = Outbox(tables, source="/cercle/test")
    return IdempotentConsumer(
        name="test",
        uow_factory=lambda: Uow(db_factory, outbox),
        tables=tables,
        subscriptions=Subscriptions().on(r.MemberRegistered, handler),
        dead_letter_topic="dlq",
        publish_dead_letter=dlq or Recorder(),
        max_attempts=max_attempts,
        backoff_initial=0.001,
    )


def _effects(database) -> list[str]:
    _, db_factory, _, effects = database
    with db_factory() as db:
        return list(db.scalars(select(effects.c.member_id).order_by(effects.c.id)))


def _processed(database) -> int:
    _, db_factory, tables, _ = database
    with db_factory() as db:
        return db.scalar(select(func.count()).select_from(tables.processed_events))


def _inserter(database):
    effects = database[3]

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))

    return handler


def test_a_batch_checks_and_records_its_processed_ids_with_one_statement_each(database):
    engine = database[0]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql.lower()))
    asyncio.run(_consumer(database, _inserter(database)).handle_batch(_records(50)))
    seen = list(statements)  # before the checks below add theirs
    assert len(_effects(database)) == 50
    assert _processed(database) == 50
    assert sum("from processed_events" in s for s in seen) == 1
    assert sum(s.startswith("insert into processed_events") for s in seen) == 1
    assert sum(s.startswith("savepoint") for s in seen) == 0  # none while every event succeeds


def test_a_batch_with_a_failing_event_is_applied_again_with_a_savepoint_each(database):
    engine, effects = database[0], database[3]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql.lower()))

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        if event.member_id == "m-5":
            raise RuntimeError("no")

    asyncio.run(_consumer(database, handler, max_attempts=1).handle_batch(_records(10)))
    seen = list(statements)
    assert sum(s.startswith("savepoint") for s in seen) == 5  # m-0 to m-4 again, each in a savepoint
    assert len(_effects(database)) == 9


def test_an_event_that_fails_only_once_among_the_events_before_a_failure_is_isolated_by_its_savepoint(database):
    effects = database[3]
    calls: list[str] = []

    def handler(event, uow, ctx):
        calls.append(event.member_id)
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        if event.member_id == "m-3" or (event.member_id == "m-1" and calls.count("m-1") == 2):
            raise RuntimeError("no")

    dlq = Recorder()
    asyncio.run(_consumer(database, handler, dlq, max_attempts=2).handle_batch(_records(5)))
    assert sorted(_effects(database)) == ["m-0", "m-1", "m-2", "m-4"]  # m-1 retried alone; m-3 parked
    assert [headers["dlq_offset"] for _, _, _, headers in dlq.sent] == ["3"]


def test_a_redelivered_batch_changes_nothing(database):
    consumer = _consumer(database, _inserter(database))
    batch = _records(10)
    asyncio.run(consumer.handle_batch(batch))
    asyncio.run(consumer.handle_batch(batch))
    asyncio.run(consumer.handle_batch(batch[3:7] + batch[:2]))
    assert len(_effects(database)) == 10
    assert _processed(database) == 10


def test_the_same_event_twice_in_one_batch_is_applied_once(database):
    consumer = _consumer(database, _inserter(database))
    first, second = _records(2)
    asyncio.run(consumer.handle_batch([first, second, first]))
    assert _effects(database) == ["m-0", "m-1"]


def test_a_failing_event_is_retried_and_dead_lettered_alone_while_the_rest_of_its_batch_commits(database):
    effects = database[3]
    calls: list[str] = []

    def handler(event, uow, ctx):
        calls.append(event.member_id)
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        if event.member_id == "m-2":
            raise RuntimeError("cannot apply m-2")

    dlq = Recorder()
    asyncio.run(_consumer(database, handler, dlq, max_attempts=3).handle_batch(_records(5)))
    assert _effects(database) == ["m-0", "m-1", "m-3", "m-4"]  # m-2's effect rolled back with its savepoint
    assert calls.count("m-2") == 3  # once in the batch, then twice alone
    assert calls.count("m-3") == calls.count("m-4") == 1
    assert len(dlq.sent) == 1
    _, key, _, headers = dlq.sent[0]
    assert key == b"m-2"
    assert headers["dlq_attempts"] == "3"
    assert headers["dlq_offset"] == "2"
    assert "cannot apply m-2" in headers["dlq_error"]
    assert _processed(database) == 4  # m-2 is not recorded: a replay would try it again


def test_an_event_that_fails_once_in_its_batch_succeeds_alone_without_dead_letter(database):
    effects = database[3]
    failures = {"m-1": 1}

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        if failures.get(event.member_id):
            failures[event.member_id] -= 1
            raise RuntimeError("transient")

    dlq = Recorder()
    asyncio.run(_consumer(database, handler, dlq).handle_batch(_records(3)))
    assert sorted(_effects(database)) == ["m-0", "m-1", "m-2"]
    assert dlq.sent == []
    assert _processed(database) == 3


def test_each_events_publications_carry_its_own_correlation_id_and_a_failed_ones_are_not_published(database):
    _, db_factory, tables, _ = database

    def handler(event, uow, ctx):
        uow.track(Note(event.member_id))  # a domain event, translated when the savepoint is released
        if event.member_id == "m-1":
            raise RuntimeError("no")

    records = [_record(Envelope.wrap(_event(n), source="/t", correlation_id=f"corr-{n}"), n) for n in range(3)]
    asyncio.run(_consumer(database, handler, max_attempts=1).handle_batch(records))
    with db_factory() as db:
        rows = db.execute(select(tables.outbox).order_by(tables.outbox.c.seq)).all()
    assert [(row.key, row.headers.get("ce_correlationid")) for row in rows] == [("m-0", "corr-0"), ("m-2", "corr-2")]


def test_apply_now_raises_what_the_handler_raises_and_applies_nothing(database):
    effects = database[3]

    class Refused(Exception):
        pass

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))
        raise Refused("refused")

    with pytest.raises(Refused):
        _consumer(database, handler).apply_now(_records(1)[0])
    assert _effects(database) == []
    assert _processed(database) == 0


def test_apply_batch_now_applies_through_the_batch_path(database):
    consumer = _consumer(database, _inserter(database))
    batch = _records(7)
    assert consumer.apply_batch_now(batch) == 7
    assert consumer.apply_batch_now(batch[:3]) == 3  # already applied: counted, not applied again
    assert len(_effects(database)) == 7
