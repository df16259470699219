"""`cercle-insights rebuild` beside a raw consumer, on real Kafka and PostgreSQL: prints figures, asserts nothing.

    python -m benchmarks.rebuild [--events 1000000]

Synthetic registration events (confirmed seats, spread over 1,000 sessions of 50 communities) are produced to
sessions' registrations topic first; then, each timed alone:
- rebuild: insights' projections emptied and refilled by `rebuild()` (the consumer's batch path, the real reactions,
  processed ids recorded);
- raw: aiokafka reads the same topic from the beginning and INSERTs one row per event, 100 per transaction.
The ratio is rebuild / raw (issue 13's target: 0.3x or more).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts.topics import SESSION_REGISTRATIONS
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import Envelope
from cercle_shared.messaging.admin import ensure_topics
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres

NOW = datetime.now(UTC)


async def produce(bootstrap: str, events: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for n in range(events):
            event = ses.SessionRegistrationConfirmed(
                registration_id=f"r-{n}",
                session_id=f"s-{n % 1000}",
                community_id=f"c-{n % 50}",
                member_id=f"m-{n % 20000}",
                confirmed_at=NOW,
            )
            key, value, headers = Envelope.wrap(event, source="/cercle/sessions").to_kafka()
            pending.append(
                await producer.send(
                    SESSION_REGISTRATIONS.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
                )
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw(bootstrap: str, url: str, events: int) -> float:
    metadata = MetaData()
    rows = Table(
        "raw_registrations",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("event_id", String(64)),
        Column("k", String(64)),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    started = time.perf_counter()
    done = 0
    try:
        partitions = [TopicPartition(SESSION_REGISTRATIONS.name, p) for p in range(SESSION_REGISTRATIONS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while done < events:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=100)
            batch = [
                {"event_id": dict(r.headers).get("ce_id", b"").decode(), "k": (r.key or b"").decode()}
                for records in fetched.values()
                for r in records
            ]
            if batch:

                def insert(batch: list[dict[str, str]] = batch) -> None:
                    with engine.begin() as connection:
                        connection.execute(rows.insert(), batch)

                await asyncio.to_thread(insert)
                done += len(batch)
    finally:
        await consumer.stop()
        engine.dispose()
    return time.perf_counter() - started


def rebuild(bootstrap: str, url: str, progress: bool) -> tuple[float, int]:
    from cercle_insights.bootstrap import MIGRATIONS, build_runtime
    from cercle_insights.config import Settings
    from cercle_insights.entrypoints.rebuild import rebuild as run_rebuild

    upgrade(MIGRATIONS, url)
    settings = Settings(
        database_url=url,
        kafka_bootstrap=bootstrap,
        jwt_secret="b" * 40,
        consumer_group=f"bench-{uuid.uuid4().hex[:6]}",
    )
    runtime = build_runtime(settings)
    try:
        report = asyncio.run(run_rebuild(runtime, settings, show_progress=progress))
    finally:
        runtime.engine.dispose()
    return report.seconds, report.records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp,
        LocalKafka(Path(tmp) / "kafka") as kafka,
        LocalPostgres(Path(tmp) / "pg") as pg,
    ):
        ensure_topics(kafka.bootstrap)
        seconds = asyncio.run(produce(kafka.bootstrap, args.events))
        print(f"produced {args.events} events in {seconds:.1f}s")
        raw_seconds = asyncio.run(raw(kafka.bootstrap, pg.create_database("bench_raw"), args.events))
        raw_rate = args.events / raw_seconds
        print(f"raw      {raw_rate:8.0f} events/s (aiokafka consume + INSERT, 100 rows per transaction)")
        rebuild_seconds, records = rebuild(kafka.bootstrap, pg.create_database("bench_rebuild"), not args.no_progress)
        rebuild_rate = records / rebuild_seconds
        print(f"rebuild  {rebuild_rate:8.0f} events/s ({records} records, projections emptied and refilled)")
        print(f"ratio    rebuild / raw: {rebuild_rate / raw_rate:.2f}x (target 0.3x)")


if __name__ == "__main__":
    main()
