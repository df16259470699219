"""A service's messaging, wired once: FastStream Kafka broker, outbox relay, idempotent consumer."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ..contracts import CATALOG
from ..contracts.topics import dead_letter_topic
from ..db.tables import MessagingTables
from ..settings import ServiceSettings
from .consumer import IdempotentConsumer, Subscriptions
from .lease import RelayLease
from .outbox import Outbox, OutboxRelay
from .security import faststream_security
from .undecodable import as_record, read_undecodable_leniently

if TYPE_CHECKING:
    from ..uow import UnitOfWork

log = logging.getLogger(__name__)


async def _raw_body(message: Any) -> Any:
    # The consumer reads the raw record itself (CloudEvents headers, tombstones): skip FastStream's decoding.
    return None


async def _raw_records(message: Any, original_parser: Callable[[Any], Any]) -> Any:
    """FastStream's parser, shown the records without their headers; the message keeps the raw records.

    FastStream's own parser decodes every header value as strict UTF-8 and raises on the first that is
    not, which loses the whole fetched batch. Headers are Cercle's to read (IdempotentConsumer), as bytes;
    FastStream needs none of them (and must not act on one, such as `reply_to`)."""
    records = message if isinstance(message, tuple) else (message,)
    bare = tuple(dataclasses.replace(record, headers=()) for record in records)
    parsed = await original_parser(bare if isinstance(message, tuple) else bare[0])
    parsed.raw_message = message
    return parsed


class Messaging:
    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        db_factory: sessionmaker[Session],
        tables: MessagingTables,
        outbox: Outbox,
        uow_factory: Callable[[], UnitOfWork],
        subscriptions: Subscriptions | None = None,
    ) -> None:
        self.service = service
        self._settings = settings
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=f"cercle-{service}",
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15000,
            security=faststream_security(settings),
            graceful_timeout=settings.shutdown_timeout,
            logger=logging.getLogger(f"cercle.{service}.kafka"),
        )
        self.outbox = outbox
        self.subscriptions = subscriptions
        lease = None
        if make_url(settings.database_url).get_backend_name() == "postgresql":
            # One active relay per service across instances; SQLite is single-instance (one process).
            lease = RelayLease(
                settings.database_url,
                service=service,
                channel=outbox.channel,
                retry_interval=settings.relay_lease_retry,
            )
        self.relay = OutboxRelay(
            db_factory,
            tables,
            self.enqueue,
            send_timeout=settings.send_timeout,
            poll_interval=settings.relay_poll_interval,
            batch_size=settings.relay_batch_size,
            lease=lease,
        )
        outbox.on_commit(self.relay.notify)  # a commit in this process wakes the relay at once
        self.dead_letter_topic = dead_letter_topic(service).name
        self.consumer: IdempotentConsumer | None = None
        if subscriptions is not None and len(subscriptions):
            self.consumer = IdempotentConsumer(
                name=service,
                uow_factory=uow_factory,
                tables=tables,
                subscriptions=subscriptions,
                dead_letter_topic=self.dead_letter_topic,
                publish_dead_letter=self.publish,
                max_attempts=settings.consumer_max_attempts,
                backoff_initial=settings.consumer_backoff_initial,
                backoff_max=settings.consumer_backoff_max,
                send_timeout=settings.send_timeout,
            )
            self._subscribe(subscriptions)
        self._document_publications()
        self._starter: asyncio.Task[None] | None = None
        self._relay_task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def _subscribe(self, subscriptions: Subscriptions) -> None:
        consumer = self.consumer
        assert consumer is not None
        handled = sorted(s.type for s in CATALOG if subscriptions.handler_for(s.type) is not None)

        subscriber = self.broker.subscriber(
            *subscriptions.topics(),
            group_id=self._settings.consumer_group or f"cercle-{self.service}",
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # A batch is applied in one transaction (a savepoint per record), then its offsets are committed
            # once: on an error the whole batch comes back, and the records already applied are skipped.
            batch=True,
            max_records=self._settings.consumer_batch_size,
            batch_timeout_ms=50,
            parser=_raw_records,
            decoder=_raw_body,
            title=f"{self.service}:consume",
            description="Consumes (idempotently): " + ", ".join(handled),
        )
        # A record whose header *name* is not UTF-8 makes the Kafka client itself fail: read it leniently.
        read_undecodable_leniently(subscriber)

        @subscriber
        async def on_records(body: Any, message: KafkaMessage) -> None:
            raw = message.raw_message
            await consumer.handle_batch([as_record(record) for record in (raw if isinstance(raw, tuple) else (raw,))])

    def _document_publications(self) -> None:
        """Declare what this service publishes, so that the AsyncAPI document shows every event schema."""
        prefix = f"org.cercle.{self.service}."
        for spec in CATALOG:
            if spec.type.startswith(prefix):
                self.broker.publisher(
                    spec.topic.name,
                    title=spec.type,
                    description=f"{spec.model.__doc__ or ''} Key: {spec.key}. "
                    f"Visibility: {spec.topic.visibility.value}. CloudEvents 1.0, Kafka binary binding.",
                    schema=spec.model,
                )

    async def publish(self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str]) -> None:
        """Publish and wait until Kafka acknowledged it (acks=all)."""
        await self.broker.publish(value, topic=topic, key=key, headers=headers)

    async def enqueue(
        self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        """Hand a record to the producer and return its delivery, for the relay to pipeline a batch.

        Straight to the broker's aiokafka producer when it is connected: FastStream's publish costs as much again
        per record (a command object, a correlation id, header copies) and adds nothing the relay needs."""
        producer = self._aiokafka_producer()
        if producer is None:
            return await self.broker.publish(value, topic=topic, key=key, headers=headers, no_confirm=True)
        delivery: asyncio.Future[Any] = await producer.send(
            topic, value, key=key, headers=[(name, text.encode()) for name, text in headers.items()]
        )
        return delivery

    def _aiokafka_producer(self) -> AIOKafkaProducer | None:
        fast = getattr(self.broker.config, "producer", None)
        if type(fast) is not AioKafkaFastProducerImpl:  # FastStream's test broker, say: its own path
            return None
        state = getattr(fast, "_producer", None)
        producer = getattr(state, "producer", None) if state else None
        return producer if isinstance(producer, AIOKafkaProducer) else None

    async def start(self) -> None:
        """Connect in the background: the API serves (and the outbox fills) even while Kafka is down."""
        self._starter = asyncio.create_task(self._connect_forever(), name=f"{self.service}-kafka-connect")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.broker.start()
                break
            except Exception as exc:
                log.warning("%s: Kafka not reachable yet (%s); retrying in %.1fs", self.service, exc, delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.connected.set()
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        """Stop consuming, let the work in hand finish, flush the outbox, close; all within bounds."""
        timeout = self._settings.shutdown_timeout
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
        if not self.connected.is_set():
            return
        for subscriber in self.broker.subscribers:
            try:
                await asyncio.wait_for(subscriber.stop(), timeout=timeout)
            except Exception as exc:
                log.warning("%s: subscriber did not stop cleanly: %s", self.service, exc)
        await self.relay.stop(flush_timeout=timeout / 2)
        if self._relay_task is not None:
            try:
                await asyncio.wait_for(self._relay_task, timeout=timeout / 2)
            except Exception:
                self._relay_task.cancel()
        try:
            await asyncio.wait_for(self.broker.stop(), timeout=timeout / 2)
        except Exception as exc:
            log.warning("%s: broker did not close cleanly: %s", self.service, exc)

    @property
    def relay_state(self) -> str:
        """ "active" when this instance's outbox relay publishes (it holds the service's relay lock, or, on SQLite,
        it is the only instance), "standby" while another instance holds the lock."""
        return "active" if self.relay.active else "standby"

    async def ping(self, timeout: float = 2.0) -> bool:
        if not self.connected.is_set():
            return False
        try:
            return await self.broker.ping(timeout)
        except Exception:
            return False
