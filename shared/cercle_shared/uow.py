"""The unit of work every service layer uses: one database transaction, and (when the service publishes)
the events its aggregates recorded, written to the outbox in that same transaction.

After *Architecture Patterns with Python*: use cases and reactions take a unit of work, reach state through
its repositories, and call `commit()`; aggregates record domain events, which `commit()` translates into
integration events (one translation table per service) and adds to the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.event import listen
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .contracts import IntegrationEvent
from .domain import Aggregate, DomainEvent
from .errors import CercleError, Conflict, StaleVersion, Unavailable
from .messaging.outbox import Outbox


@dataclass(frozen=True)
class Tombstone:
    """A null-valued record on a compacted topic: compaction then deletes every older value of the key."""

    topic: str
    key: str
    event_id: str


Publication = IntegrationEvent | Tombstone
Translate = Callable[[DomainEvent], Iterable[Publication]]


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "could not obtain lock" in text or "deadlock detected" in text


class UnitOfWork:
    """`with uow: ...; uow.commit()` — one transaction; a race lost at flush or commit is a 409, never a 500.

    Services subclass it to attach their repositories in `_open()`.
    """

    db: Session

    def __init__(self, db_factory: sessionmaker[Session]) -> None:
        self._factory = db_factory

    def __enter__(self) -> Self:
        self.db = self._factory()
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        # Use cases and views hand domain objects to the HTTP layer, which reads them after the transaction:
        # detach them first, so that the closing rollback does not expire them.
        self.db.expunge_all()
        self.db.rollback()  # no-op after commit; undoes everything otherwise
        self.db.close()

    def _open(self) -> None:
        """Attach repositories to self.db."""

    def flush(self) -> None:
        """Write pending changes now (to read generated values back), with the same error translation as commit."""
        with self._translated():
            self.db.flush()

    def commit(self) -> None:
        with self._translated():
            self._before_commit()
            self._last_statements()
            self.db.commit()
        self._after_commit()

    def _before_commit(self) -> None:
        """Hook for subclasses, inside the error translation."""

    def _last_statements(self) -> None:
        """Hook for subclasses: statements that end the transaction, once, outside any savepoint."""

    def _after_commit(self) -> None:
        """Hook for subclasses, once the transaction is committed (e.g. wake what has work now)."""

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except StaleDataError as exc:  # a version_id_col mapping saw another writer first
            raise StaleVersion("this changed while you were changing it; read it again", field="version") from exc
        except IntegrityError as exc:
            raise self._integrity_conflict(str(exc.orig).lower()) from exc
        except OperationalError as exc:
            if _is_busy(exc):
                raise Unavailable("the database is busy; try again shortly", retry_after=2) from exc
            raise

    def _integrity_conflict(self, cause: str) -> CercleError:
        """Name the field behind a unique constraint a concurrent request won; services refine it."""
        return Conflict("this change conflicts with the current state; read it again")


_HOLD_ON = ("transient_to_pending", "loaded_as_persistent", "detached_to_persistent")
"""Session events by which an object enters a unit of work's database session."""


class PublishingUnitOfWork(UnitOfWork):
    """A unit of work whose aggregates' events reach the outbox at commit, in the order they were recorded."""

    translate: Translate  # set by each service: its domain → integration event table

    def __init__(self, db_factory: sessionmaker[Session], outbox: Outbox) -> None:
        super().__init__(db_factory)
        self._outbox = outbox
        self._seen: list[Aggregate] = []
        self._wrote = False  # outbox rows in this transaction: wake the relay once it commits
        self.correlation_id: str | None = None

    def __enter__(self) -> Self:
        self._seen = []
        self._wrote = False
        entered = super().__enter__()
        for name in _HOLD_ON:
            listen(self.db, name, self._hold)
        return entered

    def _hold(self, _db: Session, instance: object) -> None:
        # The session keeps unmodified (or flushed) objects only weakly: an aggregate whose events are still to
        # be published must outlive its last use in the use case, until commit.
        if isinstance(instance, Aggregate):
            self._seen.append(instance)

    def track(self, aggregate: Aggregate) -> None:
        """For an aggregate `db` never held (one removed by a statement, say): its events are collected too."""
        self._seen.append(aggregate)

    def publish(self, event: IntegrationEvent) -> None:
        """Publish an integration event directly: for reactions that relay facts no aggregate of theirs owns."""
        self._outbox.add(self.db, event, correlation_id=self.correlation_id)
        self._wrote = True

    def _publish_many(self, events: list[IntegrationEvent]) -> None:
        if events:
            self._outbox.add_many(self.db, events, correlation_id=self.correlation_id)
            self._wrote = True

    def publish_tombstone(self, *, topic: str, key: str, event_id: str) -> None:
        self._outbox.add_tombstone(self.db, topic=topic, key=key, event_id=event_id)
        self._wrote = True

    def collect_new_events(self) -> list[DomainEvent]:
        """Every event recorded by an aggregate of this transaction, in the order recorded (and forgets them)."""
        pulled: list[tuple[int, DomainEvent]] = []
        for aggregate in self._aggregates():
            pulled.extend(aggregate.pull_events())
        return [event for _, event in sorted(pulled, key=lambda pair: pair[0])]

    def _aggregates(self) -> Iterator[Aggregate]:
        seen: set[int] = set()
        for obj in [*self._seen, *self.db.new, *self.db.deleted, *self.db.identity_map.values()]:
            if isinstance(obj, Aggregate) and id(obj) not in seen:
                seen.add(id(obj))
                yield obj

    def _before_commit(self) -> None:
        # The aggregates' events in one INSERT (an executemany); a tombstone in between writes what precedes it
        # first, as it deletes the older rows of its key.
        pending: list[IntegrationEvent] = []
        for event in self.collect_new_events():
            for publication in type(self).translate(event):
                if isinstance(publication, Tombstone):
                    self._publish_many(pending)
                    pending = []
                    self.publish_tombstone(topic=publication.topic, key=publication.key, event_id=publication.event_id)
                else:
                    pending.append(publication)
        self._publish_many(pending)

    def _last_statements(self) -> None:
        if self._wrote and self.db.get_bind().dialect.name == "postgresql":
            # Delivered at commit to the active relay, whichever instance runs it (see messaging/lease.py).
            self.db.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self._outbox.channel})

    def _after_commit(self) -> None:
        if self._wrote:
            self._wrote = False
            self._outbox.committed()


def translation_table(
    table: dict[type[Any], Callable[[Any], Iterable[Publication] | Publication]],
) -> Translate:
    """A `translate` function from a table {domain event class: function returning publications}."""

    def translate(event: DomainEvent) -> Iterable[Publication]:
        try:
            build = table[type(event)]
        except KeyError:
            raise LookupError(f"no integration event for {type(event).__name__}") from None
        result = build(event)
        return (result,) if isinstance(result, IntegrationEvent | Tombstone) else result

    return translate
