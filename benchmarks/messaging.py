"""Throughput of the messaging plumbing on real Kafka and PostgreSQL: prints figures, asserts nothing.

    python -m benchmarks.messaging [--events 2000]

- outbox: rows written per second (100 events per transaction);
- relay: events published per second, outbox to Kafka (acks=all, idempotent producer);
- consumer: events applied per second by the idempotent consumer (effect + event id in one transaction);
- API: POST /v1/members latency through registration's real app (outbox write included).
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

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.contracts.topics import MEMBERS, dead_letter_topic
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Messaging, Outbox, Subscriptions
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres


def _messaging(url: str, bootstrap: str, name: str, subscriptions: Subscriptions | None, metadata: MetaData):
    tables = messaging_tables(metadata)
    engine = make_engine(url)
    metadata.create_all(engine)
    db_factory = make_session_factory(engine)
    settings = ServiceSettings(
        database_url=url,
        kafka_bootstrap=bootstrap,
        jwt_secret="b" * 40,
        http_port=1,
        consumer_group=f"bench-{uuid.uuid4().hex[:6]}",
        relay_poll_interval=0.05,
    )
    messaging = Messaging(
        service=name,
        settings=settings,
        db_factory=db_factory,
        tables=tables,
        outbox=Outbox(tables, source=f"/cercle/{name}"),
        uow_factory=lambda: UnitOfWork(db_factory),
        subscriptions=subscriptions,
    )
    return messaging, db_factory


async def bench_messaging(pg: LocalPostgres, kafka: LocalKafka, events: int) -> None:
    prefix = uuid.uuid4().hex[:6]
    producer_meta = MetaData()
    producer, producer_db_factory = _messaging(
        pg.create_database(f"bench_out_{prefix}"), kafka.bootstrap, "registration", None, producer_meta
    )
    started = time.perf_counter()
    for batch in range(0, events, 100):
        with producer_db_factory.begin() as db:
            for n in range(batch, min(batch + 100, events)):
                producer.outbox.add(
                    db, r.MemberRegistered(member_id=f"{prefix}-{n}", language="fr", registered_at=datetime.now(UTC))
                )
    written = time.perf_counter() - started
    print(f"outbox   {events / written:8.0f} events/s written ({events} events, 100 per transaction)")

    consumer_meta = MetaData()
    effects = Table("effects", consumer_meta, Column("id", Integer, primary_key=True), Column("k", String(60)))
    subs = Subscriptions().on(
        r.MemberRegistered, lambda event, uow, ctx: uow.db.execute(effects.insert().values(k=event.member_id))
    )
    name = f"bench{prefix}"
    ensure_topics(kafka.bootstrap, [dead_letter_topic(name)])
    consumer, consumer_db_factory = _messaging(
        pg.create_database(f"bench_in_{prefix}"), kafka.bootstrap, name, subs, consumer_meta
    )

    def applied() -> int:
        with consumer_db_factory() as db:
            return db.scalar(select(func.count()).select_from(effects).where(effects.c.k.like(f"{prefix}-%")))

    await consumer.start()
    await asyncio.wait_for(consumer.connected.wait(), 60)
    started = time.perf_counter()
    await producer.start()
    while producer.relay.pending_count():
        await asyncio.sleep(0.05)
    relayed = time.perf_counter() - started
    print(f"relay    {events / relayed:8.0f} events/s published (outbox to Kafka, acks=all, idempotent)")
    while applied() < events:
        await asyncio.sleep(0.05)
    consumed = time.perf_counter() - started
    print(f"consumer {events / consumed:8.0f} events/s applied end to end (publish + consume + effect, one tx each)")
    await producer.stop()
    await consumer.stop()


def bench_api(pg: LocalPostgres, kafka: LocalKafka, requests: int) -> None:
    from tests.support.services import auth, running_service

    url = pg.create_database(f"bench_api_{uuid.uuid4().hex[:6]}")
    with running_service("registration", url, kafka.bootstrap) as api:
        headers = auth("operator")
        latencies = []
        for n in range(requests):
            body = {
                "display_name": f"Bench {n}",
                "email": f"bench{n}-{uuid.uuid4().hex[:4]}@example.org",
                "region": "06",
                "consents": {"processing": True},
            }
            t0 = time.perf_counter()
            assert api.post("/v1/members", json=body, headers=headers).status_code == 201
            latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"API      POST /v1/members: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms "
        f"({requests} requests, in-process client, PostgreSQL)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp:
        t0 = time.perf_counter()
        with LocalKafka(Path(tmp) / "kafka") as kafka, LocalPostgres(Path(tmp) / "pg") as pg:
            print(f"infra    Kafka + PostgreSQL ready in {time.perf_counter() - t0:.1f}s")
            ensure_topics(kafka.bootstrap, [MEMBERS])
            asyncio.run(bench_messaging(pg, kafka, args.events))
            ensure_topics(kafka.bootstrap)
            bench_api(pg, kafka, args.requests)


if __name__ == "__main__":
    main()
