"""Idempotent, at-least-once consumption with bounded retries and a dead-letter topic.

- The handler's effect and the record of the event id commit in one transaction:
  a redelivered event changes nothing.
- The offset is committed by FastStream only after this returns (ack policy NACK_ON_ERROR),
  i.e. after the transaction committed.
- A failing handler is retried with exponential back-off; after `max_attempts` the record goes
  to the consumer's dead-letter topic with the error, and its partition moves on.
- A record that is not a valid event (poison) goes to the dead-letter topic at once: whatever its key,
  headers or value hold, reading it never raises past `handle`, so no record can stall its partition.
  Every record is either applied (or knowingly skipped: a type this service does not handle) or dead-lettered.
- A dead letter is bounded in size (a huge value is cut, its length and digest kept), so that the broker
  always takes it: a record that cannot be parked would otherwise come back forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from ..contracts import CATALOG, EventCatalog, IntegrationEvent
from ..contracts.topics import ALL_TOPICS, by_name
from ..db.tables import MessagingTables
from .envelope import Envelope, InvalidMessage, decode_key

if TYPE_CHECKING:
    from ..uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventContext:
    """What a handler may want to know besides the payload."""

    event_id: str
    event_type: str
    source: str
    time: datetime
    topic: str
    key: str
    correlation_id: str | None = None


Handler = Callable[[Any, "UnitOfWork", EventContext], None]
"""handler(event, uow, ctx): a reaction, like a use case, works through the unit of work it is given.
It must not commit: the consumer commits its effect together with the record of the event id."""
TombstoneHandler = Callable[[str, "UnitOfWork", EventContext], None]
"""handler(key, uow, ctx) for a null-valued record on a compacted topic."""


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka record this module needs (independent of the client library)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes | None]  # as the client read them: a header may have no value
    unreadable: str | None = None  # why the Kafka client could not unpack it (key, value and headers unknown)


PublishDeadLetter = Callable[[str, bytes | None, bytes | None, dict[str, str]], Awaitable[None]]

# A dead letter must fit the broker's default limit (message.max.bytes, 1 MiB) with room for its headers.
DEAD_LETTER_MAX_VALUE = 512 * 1024
DEAD_LETTER_KEPT_PREFIX = 64 * 1024
DEAD_LETTER_MAX_KEY = 1024
DEAD_LETTER_MAX_HEADER = 4096
DEAD_LETTER_MAX_HEADERS = 128 * 1024

_COMPACTED = frozenset(spec.name for spec in ALL_TOPICS if spec.compacted)


class Subscriptions:
    """A service's event handlers: one explicit table, built in one place."""

    def __init__(self, catalog: EventCatalog = CATALOG) -> None:
        self._catalog = catalog
        self._handlers: dict[str, Handler] = {}
        self._tombstones: dict[str, TombstoneHandler] = {}

    def on(self, model: type[IntegrationEvent], handler: Handler) -> Subscriptions:
        self._handlers[self._catalog.for_event(model).type] = handler
        return self

    def on_tombstone(self, topic: str, handler: TombstoneHandler) -> Subscriptions:
        self._tombstones[topic] = handler
        return self

    def topics(self) -> list[str]:
        names = {self._catalog.by_type(t).topic.name for t in self._handlers} | set(self._tombstones)
        return sorted(names)

    def handler_for(self, event_type: str) -> Handler | None:
        return self._handlers.get(event_type)

    def tombstone_handler(self, topic: str) -> TombstoneHandler | None:
        return self._tombstones.get(topic)

    def __len__(self) -> int:
        return len(self._handlers) + len(self._tombstones)


class IdempotentConsumer:
    def __init__(
        self,
        *,
        name: str,
        uow_factory: Callable[[], UnitOfWork],
        tables: MessagingTables,
        subscriptions: Subscriptions,
        dead_letter_topic: str,
        publish_dead_letter: PublishDeadLetter,
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        send_timeout: float = 10.0,
        catalog: EventCatalog = CATALOG,
    ) -> None:
        self.name = name
        self._uow_factory = uow_factory
        self._processed = tables.processed_events
        self._subs = subscriptions
        self._dlq = dead_letter_topic
        self._publish_dlq = publish_dead_letter
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._send_timeout = send_timeout
        self._catalog = catalog
        self.dead_lettered = 0

    async def handle(self, record: Record) -> None:
        await self.handle_batch((record,))

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Apply a fetched batch: poison records dead-lettered, the others applied in one transaction (one thread
        hop), each in its own savepoint. A failing event is retried alone, then dead-lettered alone; the events
        around it commit. Returns once every record is applied or parked; raises (offsets not committed) only
        when a dead letter cannot be written."""
        works: list[_Work] = []
        for record in records:
            try:
                prepared = self._prepare(record)
            except InvalidMessage as exc:
                await self._dead_letter(record, f"invalid message: {exc}", attempts=0)
                continue
            except Exception as exc:  # reading a record is deterministic: retrying it cannot help, so it is poison too
                log.exception(
                    "%s: unreadable record %s@%s/%s", self.name, record.topic, record.partition, record.offset
                )
                await self._dead_letter(record, f"unreadable record: {type(exc).__name__}: {exc}", attempts=0)
                continue
            if prepared is not None:  # None: an event type this service does not handle
                works.append(_Work(record, *prepared))
        while works:
            try:
                failed = await asyncio.to_thread(self._apply_batch, works)
            except Exception as exc:
                # The batch's transaction itself failed (at commit, say): no event of it is applied. Fall back to
                # one transaction per event, so that the culprit is retried and dead-lettered alone.
                log.warning("%s: a batch of %d failed as a whole (%s); applying one by one", self.name, len(works), exc)
                for work in works:
                    await self._retry_alone(work, attempt=0, error=exc)
                return
            if failed is None:
                return
            index, error = failed
            await self._retry_alone(works[index], attempt=1, error=error)
            works = works[index + 1 :]

    async def _retry_alone(self, work: _Work, *, attempt: int, error: BaseException) -> None:
        """Re-apply one event in its own transaction, with back-off, until it succeeds or is dead-lettered."""
        record = work.record
        while True:
            # A data exception (a value too long for its column, out of range, not valid text: PostgreSQL's class
            # 22) comes back the same at every attempt; retrying it would only hold its partition up.
            if attempt >= self._max_attempts or (attempt and isinstance(error, DataError)):
                log.error(
                    "%s: giving up on %s@%s/%s: %s", self.name, record.topic, record.partition, record.offset, error
                )
                await self._dead_letter(record, f"{type(error).__name__}: {error}", attempts=attempt)
                return
            if attempt:
                delay = min(self._backoff_max, self._backoff_initial * 2 ** (attempt - 1))
                log.warning("%s: attempt %d failed (%s); retrying in %.2fs", self.name, attempt, error, delay)
                await asyncio.sleep(delay)
            attempt += 1
            try:
                await asyncio.to_thread(self._apply_alone, work)
                return
            except Exception as exc:
                error = exc

    def apply_now(self, record: Record) -> bool:
        """Apply one record synchronously, once, raising what the handler raises (tests and replays).
        False when this service does not handle it."""
        prepared = self._prepare(record)
        if prepared is None:
            return False
        self._apply_alone(_Work(record, *prepared))
        return True

    def apply_batch_now(self, records: Sequence[Record]) -> int:
        """Apply records synchronously through the batch path (replays, rebuilds): one transaction, a savepoint
        each; records this service does not handle are skipped. Raises what the first failing event raises (the
        events before it are committed). Returns how many records were handled (applied or already applied)."""
        works = [_Work(record, *prepared) for record in records if (prepared := self._prepare(record)) is not None]
        failed = self._apply_batch(works) if works else None
        if failed is not None:
            raise failed[1]
        return len(works)

    def _apply_alone(self, work: _Work) -> None:
        failed = self._apply_batch((work,))
        if failed is not None:
            raise failed[1]

    def _prepare(self, record: Record) -> tuple[Handler, Any, EventContext] | None:
        """What to run for this record, None to skip it; InvalidMessage when it is not a Cercle event."""
        if record.unreadable:
            raise InvalidMessage(record.unreadable)
        key = decode_key(record.key)
        if record.value is None:
            handler = self._subs.tombstone_handler(record.topic)
            if handler is None:
                if record.topic in _COMPACTED:
                    return None  # a tombstone this service has no use for
                raise InvalidMessage(f"a record without a value on {record.topic}, which is not compacted")
            if not key:
                raise InvalidMessage("a tombstone without a key")
            # A tombstone has no event id: its position in the log identifies it.
            ctx = EventContext(
                event_id=f"tombstone:{record.topic}:{record.partition}:{record.offset}",
                event_type="tombstone",
                source="kafka",
                time=datetime.now(UTC),
                topic=record.topic,
                key=key,
            )
            return handler, key, ctx
        envelope = Envelope.from_kafka(record.key, record.value, record.headers)
        spec = self._catalog.find_type(envelope.type)
        if spec is None:
            raise InvalidMessage(f"unknown event type {envelope.type!r}")
        if spec.topic.name != record.topic:
            raise InvalidMessage(f"{envelope.type} belongs on {spec.topic.name}, not on {record.topic}")
        handler = self._subs.handler_for(envelope.type)
        if handler is None:
            return None
        payload = envelope.payload(self._catalog)
        ctx = EventContext(
            event_id=envelope.id,
            event_type=envelope.type,
            source=envelope.source,
            time=envelope.time,
            topic=record.topic,
            key=key,
            correlation_id=envelope.correlation_id,
        )
        return handler, payload, ctx

    def _apply_batch(self, works: Sequence[_Work]) -> tuple[int, Exception] | None:
        """Apply events in one transaction and record their ids; stop at the first that fails and commit those
        before it. Returns (its index, its error): its first attempt; or None.

        Optimistic first: a batch is applied without savepoints (a savepoint and its release are two more round
        trips per event, as many as the event's own effect). When an event fails, that transaction is rolled back
        and the events before it are applied again, each in a savepoint (one of them failing now is isolated the
        same way), and committed."""
        if len(works) > 1:
            try:
                return self._apply_in_one_transaction(works, savepoints=False)
            except _EventFailed as failure:
                log.info(
                    "%s: event %d of a batch of %d failed (%s)", self.name, failure.index, len(works), failure.error
                )
                before = self._apply_in_one_transaction(works[: failure.index], savepoints=True)
                return before if before is not None else (failure.index, failure.error)
        return self._apply_in_one_transaction(works, savepoints=True)

    def _apply_in_one_transaction(self, works: Sequence[_Work], *, savepoints: bool) -> tuple[int, Exception] | None:
        failed: tuple[int, Exception] | None = None
        with self._uow_factory() as uow:
            db = uow.db
            if db.get_bind().dialect.name == "sqlite":
                # pysqlite would begin the transaction only at the first write, and releasing the first savepoint
                # would then commit: begin it here, taking the write lock (the consumer writes anyway).
                db.connection().exec_driver_sql("BEGIN IMMEDIATE")
            ids = {work.ctx.event_id for work in works}
            processed = self._processed.c
            done = set(
                db.scalars(
                    select(processed.event_id).where(processed.consumer == self.name, processed.event_id.in_(ids))
                )
            )
            applied: list[dict[str, Any]] = []
            now = datetime.now(UTC)
            for index, work in enumerate(works):
                ctx = work.ctx
                if ctx.event_id in done:
                    continue  # applied before (a redelivery), or earlier in this very batch
                if savepoints:
                    try:
                        with db.begin_nested():
                            self._react(uow, work)
                    except Exception as exc:
                        _forget_recorded_events(uow)
                        failed = (index, exc)
                        break
                else:
                    try:
                        self._react(uow, work)
                    except Exception as exc:  # the whole transaction is rolled back
                        raise _EventFailed(index, exc) from exc
                done.add(ctx.event_id)
                applied.append(
                    {"consumer": self.name, "event_id": ctx.event_id, "event_type": ctx.event_type, "processed_at": now}
                )
            if applied:
                db.execute(self._processed.insert(), applied)
            uow.commit()
        return failed

    @staticmethod
    def _react(uow: UnitOfWork, work: _Work) -> None:
        ctx = work.ctx
        if hasattr(uow, "correlation_id"):
            uow.correlation_id = ctx.correlation_id or ctx.event_id  # what this reaction publishes carries it
        work.handler(work.payload, uow, ctx)
        # Its aggregates' events reach the outbox now (inside its savepoint, if any): a rolled-back event publishes
        # nothing, and the next event's reaction does not carry them.
        with uow._translated():
            uow._before_commit()
            uow.db.flush()

    async def _dead_letter(self, record: Record, error: str, *, attempts: int) -> None:
        key, value, headers = _bounded_dead_letter(record)
        headers.update(
            {
                "dlq_error": error[:2000],
                "dlq_consumer": self.name,
                "dlq_topic": record.topic,
                "dlq_partition": str(record.partition),
                "dlq_offset": str(record.offset),
                "dlq_attempts": str(attempts),
            }
        )
        # If this fails the exception propagates: the offset is not committed and the record comes back.
        await asyncio.wait_for(self._publish_dlq(self._dlq, key, value, headers), timeout=self._send_timeout)
        self.dead_lettered += 1


class _EventFailed(Exception):
    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"event {index}: {error}")
        self.index = index
        self.error = error


@dataclass(frozen=True, slots=True)
class _Work:
    record: Record
    handler: Handler
    payload: Any
    ctx: EventContext


def _forget_recorded_events(uow: UnitOfWork) -> None:
    """Drop the domain events a failed reaction recorded: its savepoint is rolled back, they never happened."""
    collect = getattr(uow, "collect_new_events", None)
    if collect is not None:
        collect()


def prune_processed(
    db_factory: sessionmaker[Session], tables: MessagingTables, *, older_than: timedelta, limit: int = 10_000
) -> int:
    """Forget the ids of events processed longer ago than `older_than` (in chunks, so that no long transaction
    holds the table). The retention outlasts any redelivery (an uncommitted offset, a consumer that was down);
    an event replayed after that is still applied once: projections upsert on their own keys, and reactions
    that publish are idempotent on theirs (docs/architecture.md, messaging)."""
    table = tables.processed_events
    cutoff = datetime.now(UTC) - older_than
    pruned = 0
    while True:
        with db_factory.begin() as db:
            oldest = select(table.c.event_id).where(table.c.processed_at < cutoff).limit(limit)
            result = db.execute(delete(table).where(table.c.processed_at < cutoff, table.c.event_id.in_(oldest)))
            count = int(getattr(result, "rowcount", 0) or 0)
        pruned += count
        if count < limit:
            return pruned


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_CE_KEPT = {"ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion"}


def _carries_personal_data(topic: str) -> bool:
    try:
        return by_name(topic).personal_data
    except KeyError:
        return False


def _bounded_dead_letter(record: Record) -> tuple[bytes | None, bytes | None, dict[str, str]]:
    """The record as a dead letter the broker will take: headers as text, oversized parts cut (noted in headers)."""
    headers: dict[str, str] = {}
    budget = DEAD_LETTER_MAX_HEADERS
    dropped = 0
    for name, raw in record.headers.items():
        text = "" if raw is None else bytes(raw).decode(errors="replace")
        text = text[:DEAD_LETTER_MAX_HEADER]
        name = name[:256]
        cost = len(name.encode()) + len(text.encode())
        if cost > budget or name.startswith("dlq_"):
            dropped += 1
            continue
        budget -= cost
        headers[name] = text
    if dropped:
        headers["dlq_headers_dropped"] = str(dropped)
    key = record.key
    if key is not None and len(key) > DEAD_LETTER_MAX_KEY:
        headers["dlq_key_bytes"] = str(len(key))
        headers["dlq_key_sha256"] = _digest(key)
        key = key[:DEAD_LETTER_MAX_KEY]
    value = record.value
    if value is not None and _carries_personal_data(record.topic):
        # Dead letters are kept 30 days and erasure does not reach them: keep what identifies the record, not a
        # member's name and email. The original stays on its own topic, where a tombstone does reach it.
        headers["dlq_value_bytes"] = str(len(value))
        headers["dlq_value_sha256"] = _digest(value)
        headers["dlq_value_withheld"] = "personal data"
        headers = {name: text for name, text in headers.items() if not name.startswith("ce_") or name in _CE_KEPT}
        return key, None, headers
    if value is not None and len(value) > DEAD_LETTER_MAX_VALUE:
        headers["dlq_value_bytes"] = str(len(value))
        headers["dlq_value_sha256"] = _digest(value)
        headers["dlq_value_truncated"] = "true"
        value = value[:DEAD_LETTER_KEPT_PREFIX]
    return key, value, headers
