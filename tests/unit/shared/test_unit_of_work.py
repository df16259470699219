from dataclasses import dataclass

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.orm import registry

from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.errors import Conflict, StaleVersion
from cercle_shared.messaging import Outbox
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
    sessions = make_session_factory(engine)
    return lambda: UnitOfWork(sessions, Outbox(tables, source="/test"))


def test_a_concurrent_update_lost_at_commit_is_a_stale_version(uow_factory):
    with uow_factory() as uow:
        uow.session.add(Thing("t1", "a"))
        uow.commit()
    with uow_factory() as first, uow_factory() as second:
        mine, theirs = first.session.get(Thing, "t1"), second.session.get(Thing, "t1")
        theirs.name = "b"
        second.commit()
        mine.name = "c"
        with pytest.raises(StaleVersion):
            first.commit()


def test_a_unique_constraint_lost_at_commit_is_a_conflict(uow_factory):
    with uow_factory() as uow:
        uow.session.add(Thing("t1", "same"))
        uow.commit()
    with uow_factory() as uow:
        uow.session.add(Thing("t2", "same"))
        with pytest.raises(Conflict):
            uow.commit()


def test_leaving_without_commit_writes_nothing(uow_factory):
    with uow_factory() as uow:
        uow.session.add(Thing("t1", "a"))
    with uow_factory() as uow:
        assert uow.session.get(Thing, "t1") is None
