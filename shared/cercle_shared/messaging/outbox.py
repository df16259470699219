"""Transactional outbox: events are rows written in the same transaction as the state change;
a relay publishes them in order with an idempotent producer and marks them published.

A broker that is down delays events (the relay retries with back-off) but never loses them
and never blocks the API, which only ever writes to its own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ..contracts import CATALOG, EventCatalog, IntegrationEvent
from ..db.tables import MessagingTables
from ..errors import InvalidInput
from .envelope import Envelope

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bytes | None, dict[str, str]], Awaitable[Awaitable[Any] | None]]
"""publish(topic, key, value or None for a tombstone, headers): hands the record to the producer and returns
its delivery to await (or None when it is already delivered)."""


# Kafka takes 1 MiB a record by default (the broker's message.max.bytes, the producer's max_request_size).
MAX_RECORD_BYTES = 900 * 1024


class EventTooLarge(InvalidInput):
    """A change whose event Kafka would refuse: refused when it is written (422), because a row the relay can
    never publish would hold back every event after it, for ever."""


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so that asyncio does not log it as never retrieved


class Outbox:
    """Writes events into the outbox table, inside the caller's transaction."""

    def __init__(self, tables: MessagingTables, *, source: str, catalog: EventCatalog = CATALOG) -> None:
        self._table = tables.outbox
        self._source = source
        self._catalog = catalog

    def add(
        self,
        db: Session,
        event: IntegrationEvent,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
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
        db.execute(
            self._table.insert().values(
                event_id=envelope.id,
                topic=spec.topic.name,
                key=key.decode(),
                event_type=envelope.type,
                value=value.decode(),
                headers=headers,
                created_at=envelope.time,
                attempts=0,
            )
        )
        return envelope

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
    """Publishes unpublished outbox rows in sequence order; at-least-once, consumers de-duplicate."""

    def __init__(
        self,
        db_factory: sessionmaker[Session],
        tables: MessagingTables,
        publish: Publish,
        *,
        send_timeout: float = 5.0,
        poll_interval: float = 0.2,
        batch_size: int = 100,
        max_backoff: float = 5.0,
    ) -> None:
        self._db_factory = db_factory
        self._table = tables.outbox
        self._publish = publish
        self._send_timeout = send_timeout
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self.published_total = 0

    def notify(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                published = await self.publish_pending()
                failures = 0
            except Exception as exc:  # broker down, timeout, database hiccup: try again later
                failures += 1
                delay = min(self._max_backoff, self._poll_interval * 2**failures)
                log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                continue
            if published < self._batch_size:
                await self._sleep(self._poll_interval)

    async def stop(self, flush_timeout: float = 10.0) -> None:
        """Stop the loop, then try once more to publish what is pending, within a bound."""
        self._stopping.set()
        self._wakeup.set()
        try:
            await asyncio.wait_for(self.publish_pending(), timeout=flush_timeout)
        except Exception as exc:
            log.warning("outbox relay: final flush incomplete (%s); rows stay pending for next start", exc)

    async def publish_pending(self) -> int:
        """Publish one batch, pipelined: every row is handed to the producer in order, then each delivery
        is awaited in order. At the first failure, the rows before it are marked published and the rest
        stay pending (some may reach Kafka anyway and be sent again: consumers de-duplicate)."""
        rows = await asyncio.to_thread(self._fetch_batch)
        deliveries: list[Awaitable[Any] | None] = []
        published: list[int] = []
        try:
            for row in rows:
                value = row.value.encode() if row.value is not None else None
                deliveries.append(
                    await asyncio.wait_for(
                        self._publish(row.topic, row.key.encode(), value, dict(row.headers or {})),
                        timeout=self._send_timeout,
                    )
                )
            for row, delivery in zip(rows, deliveries, strict=True):
                if delivery is not None:
                    await asyncio.wait_for(delivery, timeout=self._send_timeout)
                published.append(row.seq)
        except Exception as exc:
            for delivery in deliveries[len(published) :]:
                if isinstance(delivery, asyncio.Future):
                    delivery.add_done_callback(_ignore_outcome)
            failed = rows[len(published)].seq
            await asyncio.to_thread(self._mark, published, failed, repr(exc))
            raise
        if published:
            await asyncio.to_thread(self._mark, published, None, None)
            self.published_total += len(published)
        return len(published)

    def pending_count(self) -> int:
        with self._db_factory() as db:
            count = db.scalar(select(func.count()).select_from(self._table).where(self._table.c.published_at.is_(None)))
            return count or 0

    def _fetch_batch(self) -> Sequence[Row[Any]]:
        with self._db_factory() as db:
            return db.execute(
                select(self._table)
                .where(self._table.c.published_at.is_(None))
                .order_by(self._table.c.seq)
                .limit(self._batch_size)
            ).all()

    def _mark(self, published: list[int], failed: int | None, error: str | None) -> None:
        now = datetime.now(UTC)
        with self._db_factory.begin() as db:
            if published:
                db.execute(update(self._table).where(self._table.c.seq.in_(published)).values(published_at=now))
            if failed is not None:
                db.execute(
                    update(self._table)
                    .where(self._table.c.seq == failed)
                    .values(attempts=self._table.c.attempts + 1, last_error=error)
                )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()
