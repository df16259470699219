"""Transactional outbox: events are rows written in the same transaction as the state change;
a relay publishes them in order with an idempotent producer and marks them published.

A broker that is down delays events (the relay retries with back-off) but never loses them
and never blocks the API, which only ever writes to its own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, Row, any_, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from ..contracts import CATALOG, EventCatalog, IntegrationEvent
from ..db.tables import MessagingTables
from ..errors import InvalidInput
from .envelope import Envelope

if TYPE_CHECKING:
    from .lease import RelayLease

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bytes | None, dict[str, str]], Awaitable[Awaitable[Any] | None]]
"""publish(topic, key, value or None for a tombstone, headers): hands the record to the producer and returns
its delivery to await (or None when it is already delivered)."""


# Kafka takes 1 MiB a record by default (the broker's message.max.bytes, the producer's max_request_size).
MAX_RECORD_BYTES = 900 * 1024


class EventTooLarge(InvalidInput):
    """A change whose event Kafka would refuse: refused when it is written (422), because a row the relay can
    never publish would hold back every event after it, for ever."""


def wake_channel(source: str) -> str:
    """`/cercle/registration` -> `cercle_outbox_registration`: a PostgreSQL channel name (an identifier)."""
    name = re.sub(r"[^a-z0-9_]+", "_", source.lower()).strip("_").removeprefix("cercle_")
    return f"cercle_outbox_{name}"[:63]


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so that asyncio does not log it as never retrieved


class Outbox:
    """Writes events into the outbox table, inside the caller's transaction."""

    def __init__(self, tables: MessagingTables, *, source: str, catalog: EventCatalog = CATALOG) -> None:
        self._table = tables.outbox
        self._source = source
        self._catalog = catalog
        self._listeners: list[Callable[[], None]] = []

    @property
    def channel(self) -> str:
        """The PostgreSQL notification channel on which commits that wrote events wake the active relay."""
        return wake_channel(self._source)

    def add(
        self,
        db: Session,
        event: IntegrationEvent,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        envelope, row = self._row(event, correlation_id=correlation_id, causation_id=causation_id)
        db.execute(self._table.insert(), [row])
        return envelope

    def add_many(
        self,
        db: Session,
        events: Sequence[IntegrationEvent],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[Envelope]:
        """Write a transaction's events in one statement (an executemany), in order; each checked as by `add`."""
        built = [self._row(event, correlation_id=correlation_id, causation_id=causation_id) for event in events]
        if built:
            db.execute(self._table.insert(), [row for _, row in built])
        return [envelope for envelope, _ in built]

    def _row(
        self, event: IntegrationEvent, *, correlation_id: str | None, causation_id: str | None
    ) -> tuple[Envelope, dict[str, Any]]:
        envelope = Envelope.wrap(
            event,
            source=self._source,
            correlation_id=correlation_id,
            causation_id=causation_id,
            catalog=self._catalog,
        )
        key, value, headers = envelope.to_kafka()
        size = len(key) + len(value) + sum(len(name.encode()) + len(text.encode()) for name, text in headers.items())
        if size > MAX_RECORD_BYTES:
            raise EventTooLarge(
                f"this change would publish an event of {size} bytes ({envelope.type}); at most {MAX_RECORD_BYTES}"
            )
        spec = self._catalog.by_type(envelope.type)
        return envelope, {
            "event_id": envelope.id,
            "topic": spec.topic.name,
            "key": key.decode(),
            "event_type": envelope.type,
            "value": value.decode(),
            "headers": headers,
            "created_at": envelope.time,
            "attempts": 0,
        }

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from any thread) after each commit that wrote events: the in-process relay's wake-up."""
        self._listeners.append(listener)

    def committed(self) -> None:
        """Told by the unit of work after a commit that wrote outbox rows."""
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a wake-up is an optimisation: the relay's poll still finds the rows
                log.exception("outbox: a commit listener failed")

    def add_tombstone(self, db: Session, *, topic: str, key: str, event_id: str) -> None:
        """A null-valued record on a compacted topic: compaction then deletes every older value of the key.

        The outbox forgets them at once too, published or not: they may carry personal data (an erased member's
        contact), and the tombstone supersedes every one of them on the topic anyway."""
        db.execute(delete(self._table).where(self._table.c.topic == topic, self._table.c.key == key))
        db.execute(
            self._table.insert().values(
                event_id=event_id,
                topic=topic,
                key=key,
                event_type=None,
                value=None,
                headers={},
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )


def purge_published(db_factory: sessionmaker[Session], tables: MessagingTables, *, older_than: timedelta) -> int:
    """Delete the outbox rows published longer ago than `older_than`: Kafka keeps the events, the outbox need not
    (and must not keep personal data longer than it needs to). On SQLite, also fold the write-ahead log back into
    the database file, so that deleted rows do not linger in it."""
    table = tables.outbox
    cutoff = datetime.now(UTC) - older_than
    with db_factory.begin() as db:
        result = db.execute(delete(table).where(table.c.published_at.is_not(None), table.c.published_at < cutoff))
        purged = int(getattr(result, "rowcount", 0) or 0)
    with db_factory() as db:
        if db.get_bind().dialect.name == "sqlite":
            db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return purged


class OutboxRelay:
    """Publishes unpublished outbox rows in sequence order; at-least-once, consumers de-duplicate.

    Batches are pipelined: while one batch's deliveries are awaited, the next is fetched, and a batch is marked
    published while the next one is handed to the producer. A commit that wrote events wakes it (`notify()`, from
    any thread); the poll is the fallback. With a `lease`, it relays only while it holds the service's lease (one
    active relay per service) and stands by otherwise."""

    def __init__(
        self,
        db_factory: sessionmaker[Session],
        tables: MessagingTables,
        publish: Publish,
        *,
        send_timeout: float = 5.0,
        poll_interval: float = 0.2,
        batch_size: int = 500,
        max_backoff: float = 5.0,
        lease: RelayLease | None = None,
    ) -> None:
        self._db_factory = db_factory
        self._table = tables.outbox
        self._publish = publish
        self._send_timeout = send_timeout
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self.lease = lease
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._busy = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._columns = [self._table.c[name] for name in ("seq", "topic", "key", "value", "headers")]
        self.published_total = 0

    @property
    def active(self) -> bool:
        """Whether this relay may publish now (it holds the lease, or there is none)."""
        return self.lease is None or self.lease.held

    def notify(self) -> None:
        """Wake the relay now (safe from any thread: HTTP handlers and consumers commit in worker threads)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.lease is not None:
            self.lease.on_notify(self.notify)
        failures = 0
        while not self._stopping.is_set():
            if not self.active:
                assert self.lease is not None
                await self.lease.acquire(self._stopping)
                continue
            try:
                await self.publish_pending()
                failures = 0
            except Exception as exc:  # broker down, timeout, database hiccup: try again later
                failures += 1
                delay = min(self._max_backoff, self._poll_interval * 2**failures)
                log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                continue
            await self._sleep(self._poll_interval)

    async def stop(self, flush_timeout: float = 10.0) -> None:
        """Stop the loop, then (when active) try once more to publish what is pending, within a bound."""
        self._stopping.set()
        self._wakeup.set()
        if self.active:
            try:
                await asyncio.wait_for(self.publish_pending(), timeout=flush_timeout)
            except Exception as exc:
                log.warning("outbox relay: final flush incomplete (%s); rows stay pending for next start", exc)
        if self.lease is not None:
            await self.lease.release()

    async def publish_pending(self) -> int:
        """Publish every pending row, batch after batch, and return how many were published.

        Each batch is pipelined: every row is handed to the producer in order, then each delivery is awaited in
        order. At the first failure, the rows before it are marked published and the rest stay pending (some
        may reach Kafka anyway and be sent again: consumers de-duplicate)."""
        async with self._busy:  # the final flush waits for the loop's batch in hand
            return await self._publish_all()

    async def _publish_all(self) -> int:
        total = 0
        marking: asyncio.Future[None] | None = None
        try:
            rows = await asyncio.to_thread(self._fetch_batch, None)
            while rows:
                if not self.active:  # lost the lease: another instance takes over from what is marked
                    break
                deliveries = await self._hand_over(rows)
                # The next batch is read while this one's deliveries come back (rows after this batch only:
                # a row of a transaction that commits later with a lower seq is found by the next full read).
                following: asyncio.Future[Sequence[Row[Any]]] | None = None
                if len(rows) >= self._batch_size:
                    following = asyncio.ensure_future(asyncio.to_thread(self._fetch_batch, rows[-1].seq))
                try:
                    published = await self._await_deliveries(rows, deliveries)
                except BaseException:
                    if following is not None:
                        following.add_done_callback(_ignore_outcome)
                    raise
                if marking is not None:
                    await marking
                marking = asyncio.ensure_future(asyncio.to_thread(self._mark, published, None, None))
                total += len(published)
                self.published_total += len(published)
                rows = await following if following is not None else []
        finally:
            if marking is not None:
                await marking
        return total

    async def _hand_over(self, rows: Sequence[Row[Any]]) -> list[Awaitable[Any] | None]:
        deliveries: list[Awaitable[Any] | None] = []
        try:
            # One deadline for the batch's hand-over, not a wait_for (a task) per record: the hand-over then runs
            # without yielding, and the producer sends the batch in a few large requests, not many small ones.
            async with asyncio.timeout(self._send_timeout):
                for row in rows:
                    value = row.value.encode() if row.value is not None else None
                    deliveries.append(await self._publish(row.topic, row.key.encode(), value, dict(row.headers or {})))
        except Exception as exc:
            await self._failed(rows, deliveries, [], exc)
            raise
        return deliveries

    async def _await_deliveries(self, rows: Sequence[Row[Any]], deliveries: list[Awaitable[Any] | None]) -> list[int]:
        published: list[int] = []
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(None) as deadline:
                for row, delivery in zip(rows, deliveries, strict=True):
                    if isinstance(delivery, asyncio.Future) and delivery.done():
                        delivery.result()  # raises its failure
                    elif delivery is not None:
                        deadline.reschedule(loop.time() + self._send_timeout)  # each wait is bounded
                        await delivery
                    published.append(row.seq)
        except Exception as exc:
            await self._failed(rows, deliveries, published, exc)
            raise
        return published

    async def _failed(
        self, rows: Sequence[Row[Any]], deliveries: list[Awaitable[Any] | None], published: list[int], exc: Exception
    ) -> None:
        for delivery in deliveries[len(published) :]:
            if isinstance(delivery, asyncio.Future):
                delivery.add_done_callback(_ignore_outcome)
        self.published_total += len(published)
        await asyncio.to_thread(self._mark, published, rows[len(published)].seq, repr(exc))

    def pending_count(self) -> int:
        with self._db_factory() as db:
            count = db.scalar(select(func.count()).select_from(self._table).where(self._table.c.published_at.is_(None)))
            return count or 0

    def _fetch_batch(self, after: int | None) -> Sequence[Row[Any]]:
        query = select(*self._columns).where(self._table.c.published_at.is_(None))
        guard = self.lease.lock_guard() if self.lease is not None else None
        if guard is not None:
            query = query.where(guard)
        if after is not None:
            query = query.where(self._table.c.seq > after)
        with self._db_factory() as db:
            return db.execute(query.order_by(self._table.c.seq).limit(self._batch_size)).all()

    def _mark(self, published: list[int], failed: int | None, error: str | None) -> None:
        now = datetime.now(UTC)
        with self._db_factory.begin() as db:
            if published:
                db.execute(update(self._table).where(self._seq_in(db, published)).values(published_at=now))
            if failed is not None:
                db.execute(
                    update(self._table)
                    .where(self._table.c.seq == failed)
                    .values(attempts=self._table.c.attempts + 1, last_error=error)
                )

    def _seq_in(self, db: Session, seqs: list[int]) -> ColumnElement[bool]:
        # Exactly these rows, never a seq range: a transaction that committed meanwhile may hold a seq in between.
        if db.get_bind().dialect.name == "postgresql":
            return self._table.c.seq == any_(bindparam("published_seqs", seqs, type_=postgresql.ARRAY(Integer)))
        return self._table.c.seq.in_(seqs)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()
