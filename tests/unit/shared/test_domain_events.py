"""Aggregates record domain events; a publishing unit of work collects them in order and, at commit, writes
their translations to the outbox in the same transaction as the state change.

A small catalog of its own keeps these tests independent of the services' contracts.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass

import pytest
from pydantic import Field
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.orm import registry

from cercle_shared.contracts.base import EventSpec, IntegrationEvent, TopicSpec, Visibility
from cercle_shared.contracts.catalog import EventCatalog
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.domain import Aggregate, DomainEvent
from cercle_shared.errors import Conflict
from cercle_shared.messaging import Outbox
from cercle_shared.uow import PublishingUnitOfWork, Tombstone, translation_table

# --- a tiny domain ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CircleFounded(DomainEvent):
    circle_id: str
    name: str


@dataclass(frozen=True)
class CircleRenamed(DomainEvent):
    circle_id: str
    name: str


@dataclass(frozen=True)
class CircleDissolved(DomainEvent):
    circle_id: str


@dataclass(frozen=True)
class CircleNudged(DomainEvent):
    """Recorded without changing any mapped attribute."""

    circle_id: str


class Circle(Aggregate):
    def __init__(self, circle_id: str, name: str) -> None:
        self.id = circle_id
        self.name = name

    @classmethod
    def found(cls, circle_id: str, name: str) -> Circle:
        circle = cls(circle_id, name)
        circle.record(CircleFounded(circle_id, name))
        return circle

    def rename(self, name: str) -> None:
        self.name = name
        self.record(CircleRenamed(self.id, name))

    def dissolve(self) -> None:
        self.record(CircleDissolved(self.id))

    def nudge(self) -> None:
        self.record(CircleNudged(self.id))


metadata = MetaData()
tables = messaging_tables(metadata)
circles = Table("circles", metadata, Column("id", String(20), primary_key=True), Column("name", String(40)))
registry().map_imperatively(Circle, circles)

# --- its integration events ---------------------------------------------------------------------------------


class CircleOpened(IntegrationEvent):
    circle_id: str = Field(description="id")
    name: str = Field(description="name")


class CircleTitled(IntegrationEvent):
    circle_id: str = Field(description="id")
    name: str = Field(description="name")


class CircleClosed(IntegrationEvent):
    circle_id: str = Field(description="id")


CIRCLES = TopicSpec("test.circles", partitions=1, visibility=Visibility.INTERNAL, description="circles")
CATALOG = EventCatalog(
    [
        EventSpec("org.test.circle.opened.v1", CircleOpened, CIRCLES, "circle_id"),
        EventSpec("org.test.circle.titled.v1", CircleTitled, CIRCLES, "circle_id"),
        EventSpec("org.test.circle.closed.v1", CircleClosed, CIRCLES, "circle_id"),
    ]
)

translate = translation_table(
    {
        CircleFounded: lambda e: CircleOpened(circle_id=e.circle_id, name=e.name),
        CircleRenamed: lambda e: CircleTitled(circle_id=e.circle_id, name=e.name),
        CircleDissolved: lambda e: [
            CircleClosed(circle_id=e.circle_id),
            Tombstone(topic=CIRCLES.name, key=e.circle_id, event_id=f"dissolved:{e.circle_id}"),
        ],
        CircleNudged: lambda e: [],
    }
)


class CirclesUnitOfWork(PublishingUnitOfWork):
    translate = staticmethod(translate)


@pytest.fixture
def uow_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    outbox = Outbox(tables, source="/test", catalog=CATALOG)
    yield lambda: CirclesUnitOfWork(db_factory, outbox)
    engine.dispose()


def _existing(uow_factory, *names: str) -> None:
    with uow_factory() as uow:
        for name in names:
            uow.db.add(Circle(name, name.upper()))
        uow.commit()


def _outbox(uow_factory) -> list[tuple[str | None, str, dict | None]]:
    with uow_factory() as uow:
        rows = uow.db.execute(select(tables.outbox).order_by(tables.outbox.c.seq)).all()
    return [(row.event_type, row.key, json.loads(row.value) if row.value is not None else None) for row in rows]


def _circles(uow_factory) -> dict[str, str]:
    with uow_factory() as uow:
        return {row.id: row.name for row in uow.db.execute(select(circles)).all()}


# --- Aggregate ----------------------------------------------------------------------------------------------


def test_an_aggregate_keeps_what_it_recorded_in_order_until_pulled():
    circle = Circle.found("c1", "One")
    circle.rename("Uno")
    circle.dissolve()
    recorded = [CircleFounded("c1", "One"), CircleRenamed("c1", "Uno"), CircleDissolved("c1")]
    assert circle.recorded_events == recorded
    pulled = circle.pull_events()
    assert [event for _, event in pulled] == recorded
    assert [order for order, _ in pulled] == sorted(order for order, _ in pulled)
    assert circle.recorded_events == []
    assert circle.pull_events() == []


def test_events_of_several_aggregates_keep_one_order_across_them():
    first, second = Circle("a", "A"), Circle("b", "B")
    first.rename("A1")
    second.rename("B1")
    first.rename("A2")
    orders = {event.name: order for order, event in [*first.pull_events(), *second.pull_events()]}
    assert orders["A1"] < orders["B1"] < orders["A2"]


# --- collecting in a unit of work ---------------------------------------------------------------------------


def test_the_unit_of_work_collects_new_loaded_and_deleted_aggregates_events_in_recording_order(uow_factory):
    _existing(uow_factory, "loaded", "deleted")
    with uow_factory() as uow:
        loaded = uow.db.get(Circle, "loaded")
        deleted = uow.db.get(Circle, "deleted")
        loaded.rename("L1")
        new = Circle.found("new", "N")
        uow.db.add(new)
        deleted.dissolve()
        uow.db.delete(deleted)
        loaded.rename("L2")
        new.rename("N1")
        assert uow.collect_new_events() == [
            CircleRenamed("loaded", "L1"),
            CircleFounded("new", "N"),
            CircleDissolved("deleted"),
            CircleRenamed("loaded", "L2"),
            CircleRenamed("new", "N1"),
        ]
        assert uow.collect_new_events() == []  # handed over once


def test_a_deleted_aggregate_flushed_out_of_the_session_still_has_its_events_collected(uow_factory):
    _existing(uow_factory, "gone")
    with uow_factory() as uow:
        gone = uow.db.get(Circle, "gone")
        gone.dissolve()
        uow.db.delete(gone)
        uow.flush()
        del gone
        gc.collect()
        assert uow.collect_new_events() == [CircleDissolved("gone")]


def test_an_aggregate_the_use_case_no_longer_references_still_has_its_events_collected(uow_factory):
    # The session holds an unmodified or flushed object only weakly: the unit of work must hold it until commit.
    _existing(uow_factory, "quiet")
    with uow_factory() as uow:
        uow.db.get(Circle, "quiet").nudge()  # no mapped attribute changed
        uow.db.add(Circle.found("fresh", "F"))
        uow.flush()  # now persistent and clean
        gc.collect()
        assert uow.collect_new_events() == [CircleNudged("quiet"), CircleFounded("fresh", "F")]


# --- commit: translation and outbox -------------------------------------------------------------------------


def test_commit_writes_the_translated_events_to_the_outbox_in_recording_order(uow_factory):
    _existing(uow_factory, "old")
    with uow_factory() as uow:
        old = uow.db.get(Circle, "old")
        uow.db.add(Circle.found("c1", "One"))
        old.rename("Old!")
        old.dissolve()
        uow.db.delete(old)
        uow.commit()
    # The tombstone supersedes every earlier row of its key on its (compacted) topic, in the outbox as on Kafka.
    assert _outbox(uow_factory) == [
        ("org.test.circle.opened.v1", "c1", {"circle_id": "c1", "name": "One"}),
        (None, "old", None),  # the tombstone
    ]
    assert _circles(uow_factory) == {"c1": "One"}


def test_commit_carries_the_correlation_id_into_the_events_headers(uow_factory):
    with uow_factory() as uow:
        uow.correlation_id = "req-42"
        uow.db.add(Circle.found("c1", "One"))
        uow.commit()
    with uow_factory() as uow:
        headers = uow.db.execute(select(tables.outbox.c.headers)).scalar_one()
    assert headers["ce_correlationid"] == "req-42"


def test_leaving_without_commit_writes_neither_the_state_nor_the_events(uow_factory):
    with uow_factory() as uow:
        uow.db.add(Circle.found("c1", "One"))
        uow.flush()
    assert _outbox(uow_factory) == []
    assert _circles(uow_factory) == {}


def test_an_event_that_cannot_be_translated_fails_the_commit_and_nothing_is_written(uow_factory):
    @dataclass(frozen=True)
    class CircleHaunted(DomainEvent):
        circle_id: str

    with uow_factory() as uow:
        circle = Circle.found("c1", "One")
        uow.db.add(circle)
        circle.record(CircleHaunted("c1"))
        with pytest.raises(LookupError, match="CircleHaunted"):
            uow.commit()
    assert _outbox(uow_factory) == []
    assert _circles(uow_factory) == {}


def test_a_state_change_that_fails_at_commit_leaves_no_event_in_the_outbox(uow_factory):
    _existing(uow_factory, "c1")
    with uow_factory() as uow:
        uow.db.add(Circle.found("c1", "Twin"))  # same primary key: refused at flush, inside commit
        with pytest.raises(Conflict):
            uow.commit()
    assert _outbox(uow_factory) == []
    assert _circles(uow_factory) == {"c1": "C1"}
