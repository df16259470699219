"""The bare baselines Cercle is compared with: a raw aiokafka producer (idempotent, acks=all), a raw consumer that
INSERTs the same rows 100 per transaction, and the raw produce -> consume round trip. Nothing of Cercle's here."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.messaging import Envelope

RawRecord = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


def envelopes(prefix: str, count: int) -> list[RawRecord]:
    """The records Cercle's relay would publish for these events (CloudEvents, binary mode), built once."""
    now = datetime.now(UTC)
    out: list[RawRecord] = []
    for n in range(count):
        event = r.MemberRegistered(member_id=f"{prefix}-{n}", language="fr", registered_at=now)
        key, value, headers = Envelope.wrap(event, source="/cercle/registration").to_kafka()
        out.append((key, value, [(k, v.encode()) for k, v in headers.items()]))
    return out


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)


async def produce(producer: AIOKafkaProducer, topic: str, records: Sequence[RawRecord]) -> float:
    """Hand every record to the producer, then await every delivery; seconds taken."""
    started = time.perf_counter()
    deliveries = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in records]
    await asyncio.gather(*deliveries)
    return time.perf_counter() - started


class RawSink:
    """aiokafka consumer + one INSERT of up to 100 rows per transaction, offsets committed after each insert."""

    def __init__(self, bootstrap: str, topic: str, database_url: str, group: str | None = None) -> None:
        self.metadata = MetaData()
        self.effects = Table(
            "raw_effects", self.metadata, Column("id", Integer, primary_key=True), Column("k", String(60))
        )
        self.engine = create_engine(database_url)
        self.metadata.create_all(self.engine)
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group or f"raw-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        self.engine.dispose()

    async def consume(self, prefix: str, count: int) -> tuple[float, float]:
        """Apply records until `count` rows of `prefix` are in; (first record seen, last commit) perf_counter."""
        first: float | None = None
        done = 0
        marker = prefix.encode()
        while done < count:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=100)
            rows = [
                {"k": record.key.decode()}
                for records in batches.values()
                for record in records
                if record.key is not None and record.key.startswith(marker)
            ]
            if not rows:
                continue
            if first is None:
                first = time.perf_counter()
            await asyncio.to_thread(self._insert, rows)
            await self.consumer.commit()
            done += len(rows)
        assert first is not None
        return first, time.perf_counter()

    def _insert(self, rows: list[dict[str, str]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.effects.insert(), rows)

    def counts(self, prefix: str) -> tuple[int, int]:
        """(rows, distinct keys) of this prefix."""
        e = self.effects
        with self.engine.connect() as connection:
            row = connection.execute(
                select(func.count(), func.count(e.c.k.distinct())).where(e.c.k.like(f"{prefix}-%"))
            ).one()
        return int(row[0]), int(row[1])


@dataclass
class RoundTrip:
    p50_ms: float
    p99_ms: float
    samples: int


async def kafka_round_trip(bootstrap: str, topic: str, samples: int) -> RoundTrip:
    """One record at a time: produce (acks=all, idempotent) and wait until a consumer of its own group reads it."""
    producer = new_producer(bootstrap)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"rtt-{uuid.uuid4().hex[:8]}", auto_offset_reset="latest"
    )
    await producer.start()
    await consumer.start()
    try:
        # Joined and positioned ("latest" skips what came before the assignment): one record back before timing.
        for attempt in range(30):
            try:
                await _one_trip(producer, consumer, topic, f"warm-up-{attempt}".encode(), timeout=3)
                break
            except TimeoutError:
                continue
        latencies = []
        for n in range(samples):
            latencies.append(await _one_trip(producer, consumer, topic, f"rtt-{n}".encode(), timeout=30))
        latencies.sort()
        return RoundTrip(
            statistics.median(latencies), latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], samples
        )
    finally:
        await consumer.stop()
        await producer.stop()


async def _one_trip(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str, key: bytes, timeout: float
) -> float:
    started = time.perf_counter()
    await producer.send_and_wait(topic, b"x" * 600, key=key)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        batches = await consumer.getmany(timeout_ms=100)
        for records in batches.values():
            if any(record.key == key for record in records):
                return (time.perf_counter() - started) * 1000
    raise TimeoutError(f"record {key!r} not read back within {timeout}s")
