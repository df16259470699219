"""The outbox relay alone, beside a raw idempotent producer, on real Kafka and PostgreSQL: prints, asserts nothing.

    python -m benchmarks.relay_profile [--events 5000] [--rounds 3] [--profile] [--write]

Each round fills a fresh outbox with the same events, then (interleaved, in alternating order) publishes them
with a bare aiokafka producer (idempotent, acks=all, every send awaited at the end) and with Cercle's relay
(`OutboxRelay` through `Messaging.enqueue`, until nothing is pending), and prints both rates and their ratio.
`--profile` runs the relay of the last round under cProfile and prints its top frames; `--write` also compares
the outbox write (events per transaction of 100) with raw INSERTs of the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, func, select, update

from cercle_shared.contracts import registration as r
from cercle_shared.contracts.topics import MEMBERS
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Messaging, Outbox
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres


def _events(prefix: str, count: int) -> list[r.MemberRegistered]:
    now = datetime.now(UTC)
    return [r.MemberRegistered(member_id=f"{prefix}-{n}", language="fr", registered_at=now) for n in range(count)]


class Setup:
    def __init__(self, url: str, bootstrap: str) -> None:
        metadata = MetaData()
        self.tables = messaging_tables(metadata)
        self.engine = make_engine(url)
        metadata.create_all(self.engine)
        self.db_factory = make_session_factory(self.engine)
        self.outbox = Outbox(self.tables, source="/cercle/registration")
        settings = ServiceSettings(
            database_url=url, kafka_bootstrap=bootstrap, jwt_secret="b" * 40, http_port=1, relay_poll_interval=0.05
        )
        self.messaging = Messaging(
            service="registration",
            settings=settings,
            db_factory=self.db_factory,
            tables=self.tables,
            outbox=self.outbox,
            uow_factory=lambda: UnitOfWork(self.db_factory),
        )

    def fill(self, events: list[r.MemberRegistered], per_transaction: int = 100) -> float:
        add_many = getattr(self.outbox, "add_many", None)
        started = time.perf_counter()
        for start in range(0, len(events), per_transaction):
            with self.db_factory.begin() as db:
                chunk = events[start : start + per_transaction]
                if add_many is not None:
                    add_many(db, chunk)
                else:
                    for event in chunk:
                        self.outbox.add(db, event)
        return len(events) / (time.perf_counter() - started)

    def records(self) -> list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]]:
        table = self.tables.outbox
        with self.db_factory() as db:
            rows = db.execute(select(table).where(table.c.published_at.is_(None)).order_by(table.c.seq)).all()
        return [
            (
                row.topic,
                row.key.encode(),
                row.value.encode() if row.value is not None else None,
                [(k, v.encode()) for k, v in (row.headers or {}).items()],
            )
            for row in rows
        ]

    def forget(self) -> None:
        table = self.tables.outbox
        with self.db_factory.begin() as db:
            db.execute(update(table).where(table.c.published_at.is_(None)).values(published_at=datetime.now(UTC)))

    def pending(self) -> int:
        table = self.tables.outbox
        with self.db_factory() as db:
            return db.scalar(select(func.count()).select_from(table).where(table.c.published_at.is_(None))) or 0


async def raw_produce(bootstrap: str, records: list[Any]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(MEMBERS.name, b"warm-up", key=b"warm-up")
        started = time.perf_counter()
        deliveries = [
            await producer.send(topic, value, key=key, headers=headers) for topic, key, value, headers in records
        ]
        await asyncio.gather(*deliveries)
        return len(records) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def relay_publish(setup: Setup, count: int, profile: cProfile.Profile | None) -> float:
    relay = setup.messaging.relay
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    published = 0
    while published < count:
        done = await relay.publish_pending()
        if done == 0:
            break
        published += done
    if profile is not None:
        profile.disable()
    return published / (time.perf_counter() - started)


async def rounds(pg: LocalPostgres, kafka: LocalKafka, events: int, count: int, profile: bool, write: bool) -> None:
    setup = Setup(pg.create_database(f"relay_{uuid.uuid4().hex[:6]}"), kafka.bootstrap)
    await setup.messaging.broker.start()
    lease = getattr(setup.messaging.relay, "lease", None)
    if lease is not None:  # this process is the service's one active relay
        await lease.acquire(asyncio.Event())
    await setup.messaging.broker.publish(b"warm-up", topic=MEMBERS.name, key=b"warm-up")
    ratios: list[float] = []
    raw_rates: list[float] = []
    relay_rates: list[float] = []
    profiler = cProfile.Profile() if profile else None
    try:
        for n in range(count):
            prefix = uuid.uuid4().hex[:6]
            written = setup.fill(_events(prefix, events))
            records = setup.records()
            last = n == count - 1
            if n % 2 == 0:
                raw = await raw_produce(kafka.bootstrap, records)
                relayed = await relay_publish(setup, events, profiler if last else None)
            else:
                relayed = await relay_publish(setup, events, profiler if last else None)
                raw = await raw_produce(kafka.bootstrap, records)
            left = setup.pending()
            if left:
                setup.forget()
            raw_rates.append(raw)
            relay_rates.append(relayed)
            ratios.append(relayed / raw)
            print(
                f"round {n + 1}: relay {relayed:8.0f}/s, raw produce {raw:8.0f}/s, ratio {relayed / raw:.2f}x "
                f"(outbox written at {written:.0f}/s; {left} left pending)"
            )
        print(
            f"relay    median {statistics.median(relay_rates):8.0f} events/s vs raw idempotent produce "
            f"{statistics.median(raw_rates):8.0f}/s: {statistics.median(ratios):.2f}x ({events} events, {count} rounds)"
        )
        if write:
            bench_write(setup, events)
    finally:
        if lease is not None:
            await lease.release()
        await setup.messaging.broker.stop()
        setup.engine.dispose()
    if profiler is not None:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
            print(f"--- relay profile, last round, by {order} ---")
            print(out.getvalue())


def bench_write(setup: Setup, events: int) -> None:
    prefix = uuid.uuid4().hex[:6]
    cercle = setup.fill(_events(prefix, events))
    setup.forget()
    table = setup.tables.outbox
    rows = [
        {
            "event_id": uuid.uuid4().hex,
            "topic": MEMBERS.name,
            "key": f"{prefix}-{n}",
            "event_type": "x",
            "value": "{}",
            "headers": {},
            "created_at": datetime.now(UTC),
            "published_at": datetime.now(UTC),
            "attempts": 0,
        }
        for n in range(events)
    ]
    started = time.perf_counter()
    for start in range(0, events, 100):
        with setup.db_factory.begin() as db:
            db.execute(table.insert(), rows[start : start + 100])
    raw = events / (time.perf_counter() - started)
    print(f"outbox   {cercle:8.0f} events/s written vs raw executemany INSERT {raw:8.0f} rows/s: {cercle / raw:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp,
        LocalKafka(Path(tmp) / "kafka") as kafka,
        LocalPostgres(Path(tmp) / "pg") as pg,
    ):
        ensure_topics(kafka.bootstrap, [MEMBERS])
        asyncio.run(rounds(pg, kafka, args.events, args.rounds, args.profile, args.write))


if __name__ == "__main__":
    main()
