"""Idempotent, at-least-once consumption with bounded retries and a dead-letter topic.

- The handler's effect and the record of the event id commit in one transaction:
  a redelivered event changes nothing.
- The offset is committed by FastStream only after this returns (ack policy NACK_ON_ERROR),
  i.e. after the transaction committed.
- A failing handler is retried with exponential back-off; after `max_attempts` the record goes
  to the consumer's dead-letter topic with the error, and its partition moves on.
- A record that is not a valid event (poison) goes to the dead-letter topic at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..contracts import CATALOG, EventCatalog, IntegrationEvent
from ..db.tables import MessagingTables
from .envelope import Envelope, InvalidMessage

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
    headers: dict[str, bytes]


PublishDeadLetter = Callable[[str, bytes | None, bytes | None, dict[str, str]], Awaitable[None]]


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
        try:
            work = self._prepare(record)
        except InvalidMessage as exc:
            await self._dead_letter(record, f"invalid message: {exc}", attempts=0)
            return
        if work is None:
            return  # an event type this service does not handle
        attempt = 0
        while True:
            attempt += 1
            try:
                await asyncio.to_thread(self._apply, *work)
                return
            except Exception as exc:
                if attempt >= self._max_attempts:
                    log.exception("%s: giving up on %s@%s/%s", self.name, record.topic, record.partition, record.offset)
                    await self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempts=attempt)
                    return
                delay = min(self._backoff_max, self._backoff_initial * 2 ** (attempt - 1))
                log.warning("%s: attempt %d failed (%s); retrying in %.2fs", self.name, attempt, exc, delay)
                await asyncio.sleep(delay)

    def apply_now(self, record: Record) -> bool:
        """Apply one record synchronously, once, raising what the handler raises (tests and replays).
        False when this service does not handle it."""
        work = self._prepare(record)
        if work is None:
            return False
        self._apply(*work)
        return True

    def _prepare(self, record: Record) -> tuple[Handler, Any, EventContext] | None:
        key = record.key.decode() if record.key else ""
        if record.value is None:
            handler = self._subs.tombstone_handler(record.topic)
            if handler is None:
                return None
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

    def _apply(self, handler: Handler, payload: Any, ctx: EventContext) -> None:
        with self._uow_factory() as uow:
            seen = uow.db.execute(
                select(self._processed.c.event_id).where(
                    self._processed.c.consumer == self.name, self._processed.c.event_id == ctx.event_id
                )
            ).first()
            if seen:
                return
            correlation = getattr(uow, "correlation_id", None)
            if correlation is None and hasattr(uow, "correlation_id"):
                uow.correlation_id = ctx.correlation_id or ctx.event_id
            handler(payload, uow, ctx)
            uow.db.execute(
                self._processed.insert().values(
                    consumer=self.name,
                    event_id=ctx.event_id,
                    event_type=ctx.event_type,
                    processed_at=datetime.now(UTC),
                )
            )
            uow.commit()

    async def _dead_letter(self, record: Record, error: str, *, attempts: int) -> None:
        headers = {k: v.decode(errors="replace") for k, v in record.headers.items()}
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
        await asyncio.wait_for(
            self._publish_dlq(self._dlq, record.key, record.value, headers), timeout=self._send_timeout
        )
        self.dead_lettered += 1
