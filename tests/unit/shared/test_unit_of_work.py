from dataclasses import dataclass

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import registry
from sqlalchemy.orm.exc import StaleDataError

from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.errors import Conflict, StaleVersion, Unavailable
from cercle_shared.uow import UnitOfWork

metadata = MetaData()
tables = messaging_tables(metadata)
things = Table(
    "things",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("name", String(20), unique=True),
    Column("version", Integer, nullable=False),
)


@dataclass(eq=False)
class Thing:
    id: str
    name: str


registry().map_imperatively(Thing, things, version_id_col=things.c.version)


@pytest.fixture
def uow_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    return lambda: UnitOfWork(db_factory)


def test_a_concurrent_update_lost_at_commit_is_a_stale_version(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Thing("t1", "a"))
        uow.commit()
    with uow_factory() as first, uow_factory() as second:
        mine, theirs = first.db.get(Thing, "t1"), second.db.get(Thing, "t1")
        theirs.name = "b"
        second.commit()
        mine.name = "c"
        with pytest.raises(StaleVersion):
            first.commit()


def test_a_unique_constraint_lost_at_commit_is_a_conflict(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Thing("t1", "same"))
        uow.commit()
    with uow_factory() as uow:
        uow.db.add(Thing("t2", "same"))
        with pytest.raises(Conflict):
            uow.commit()


def test_leaving_without_commit_writes_nothing(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Thing("t1", "a"))
    with uow_factory() as uow:
        assert uow.db.get(Thing, "t1") is None


def test_a_concurrent_update_lost_at_flush_is_a_stale_version_409(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Thing("t1", "a"))
        uow.commit()
    with uow_factory() as first, uow_factory() as second:
        mine, theirs = first.db.get(Thing, "t1"), second.db.get(Thing, "t1")
        theirs.name = "b"
        second.commit()
        mine.name = "c"
        with pytest.raises(StaleVersion) as raised:
            first.flush()
    assert raised.value.status == 409
    assert raised.value.field == "version"
    assert isinstance(raised.value.__cause__, StaleDataError)
    with uow_factory() as uow:
        assert uow.db.get(Thing, "t1").name == "b"


def test_a_unique_constraint_lost_at_flush_is_a_conflict(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Thing("t1", "same"))
        uow.commit()
    with uow_factory() as uow:
        uow.db.add(Thing("t2", "same"))
        with pytest.raises(Conflict) as raised:
            uow.flush()
    assert raised.value.status == 409


def _failing_flush(uow, error: Exception):
    def flush():
        raise error

    uow.db.flush = flush


@pytest.mark.parametrize("message", ["database is locked", "could not obtain lock on row", "deadlock detected"])
def test_a_busy_database_at_flush_is_unavailable_with_a_retry_delay(uow_factory, message):
    with uow_factory() as uow:
        _failing_flush(uow, OperationalError("UPDATE things", {}, Exception(message)))
        with pytest.raises(Unavailable) as raised:
            uow.flush()
    assert raised.value.status == 503
    assert raised.value.retry_after == 2


def test_any_other_database_error_at_flush_is_not_disguised(uow_factory):
    with uow_factory() as uow:
        error = OperationalError("UPDATE things", {}, Exception("no such table: things"))
        _failing_flush(uow, error)
        with pytest.raises(OperationalError) as raised:
            uow.flush()
    assert raised.value is error
