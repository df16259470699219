"""The idempotent consumer alone, on real Kafka and PostgreSQL, beside a raw consumer: prints figures, asserts nothing.

    python -m benchmarks.consumer_profile [--events 20000] [--rounds 1]

Events are produced straight to the topic first (raw producer), so that only consumption is timed, from the first
event applied (joining the consumer group is not counted):
- cercle: the service's Messaging consumer (FastStream batch subscriber, IdempotentConsumer, one effect row per
  event, processed ids recorded);
- raw: aiokafka consumes the same topic and INSERTs the same rows, 100 per transaction.
Meant to run under a profiler too: `py-spy record -o consumer.json --format speedscope -- python -m
benchmarks.consumer_profile`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.contracts.topics import MEMBERS, dead_letter_topic
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Envelope, Messaging, Outbox, Subscriptions
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres


async def produce(bootstrap: str, topic: str, prefix: str, events: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        pending = []
        for n in range(events):
            event = r.MemberRegistered(member_id=f"{prefix}-{n}", language="fr", registered_at=datetime.now(UTC))
            key, value, headers = Envelope.wrap(event, source="/cercle/registration").to_kafka()
            pending.append(
                await producer.send(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
            )
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def cercle_consumer(url: str, bootstrap: str, prefix: str, events: int) -> float:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("k", String(60)))
    engine = make_engine(url)
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    name = f"prof{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [dead_letter_topic(name)])
    settings = ServiceSettings(
        database_url=url, kafka_bootstrap=bootstrap, jwt_secret="b" * 40, http_port=1, consumer_group=name
    )
    subs = Subscriptions().on(
        r.MemberRegistered, lambda event, uow, ctx: uow.db.execute(effects.insert().values(k=event.member_id))
    )
    messaging = Messaging(
        service=name,
        settings=settings,
        db_factory=db_factory,
        tables=tables,
        outbox=Outbox(tables, source=f"/cercle/{name}"),
        uow_factory=lambda: UnitOfWork(db_factory),
        subscriptions=subs,
    )

    def applied() -> int:
        with db_factory() as db:
            return int(db.scalar(select(func.count()).select_from(effects)) or 0)

    await messaging.start()
    await asyncio.wait_for(messaging.connected.wait(), 60)
    # Timed from the first applied event: joining the consumer group is not the consumer's throughput.
    while (first := await asyncio.to_thread(applied)) == 0:
        await asyncio.sleep(0.05)
    started = time.perf_counter()
    while (done := await asyncio.to_thread(applied)) < events:  # off the loop the consumer runs on
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    await messaging.stop()
    engine.dispose()
    if done != events:
        print(f"  cercle applied {done} rows for {events} events")
    return (events - first) / elapsed


async def raw_consumer(url: str, bootstrap: str, prefix: str, events: int) -> float:
    metadata = MetaData()
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("k", String(60)))
    engine = make_engine(url)
    metadata.create_all(engine)
    consumer = AIOKafkaConsumer(
        MEMBERS.name,
        bootstrap_servers=bootstrap,
        group_id=f"raw{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    done = first = 0
    started = time.perf_counter()
    try:
        while done < events:
            batches = await consumer.getmany(timeout_ms=200, max_records=100)
            rows = [
                {"k": record.key.decode()}
                for records in batches.values()
                for record in records
                if record.key and record.key.startswith(prefix.encode())
            ]
            if rows:

                def insert(rows: list[dict[str, str]] = rows) -> None:
                    with engine.begin() as connection:
                        connection.execute(effects.insert(), rows)

                await asyncio.to_thread(insert)
                await consumer.commit()
                if not done:  # timed from the first batch applied, as the Cercle side
                    started, first = time.perf_counter(), len(rows)
                done += len(rows)
    finally:
        await consumer.stop()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return (events - first) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", choices=["cercle", "raw"], default=None, help="run one side only (to profile it)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp,
        LocalKafka(Path(tmp) / "kafka") as kafka,
        LocalPostgres(Path(tmp) / "pg") as pg,
    ):
        ensure_topics(kafka.bootstrap, [MEMBERS])
        prefix = uuid.uuid4().hex[:6]
        asyncio.run(produce(kafka.bootstrap, MEMBERS.name, prefix, args.events))
        figures: dict[str, list[float]] = {"cercle": [], "raw": []}
        for round_ in range(args.rounds):
            for side in ("cercle", "raw"):
                if args.only and side != args.only:
                    continue
                url = pg.create_database(f"prof_{side}_{round_}_{prefix}")
                run = cercle_consumer if side == "cercle" else raw_consumer
                rate = asyncio.run(run(url, kafka.bootstrap, prefix, args.events))
                figures[side].append(rate)
                print(f"round {round_ + 1} {side:6} {rate:8.0f} events/s ({args.events} events)")
        medians = {side: statistics.median(rates) for side, rates in figures.items() if rates}
        for side, rate in medians.items():
            print(f"median {side:6} {rate:8.0f} events/s")
        if len(medians) == 2:
            print(
                "ratio  cercle / raw consume-and-insert (100 per transaction): "
                f"{medians['cercle'] / medians['raw']:.2f}x"
            )


if __name__ == "__main__":
    main()
