"""Cercle beside its bare baselines, on the same broker and PostgreSQL (fsync on), interleaved: prints, asserts nothing.

    python -m benchmarks.compare [--rounds 3] [--events 2000] [--requests 600] [--samples 30] [--quick]

Every round runs each Cercle path and its bare baseline one after the other (their order alternates from one
round to the next), so that the load of a shared machine weighs on both alike; the summary prints the median of
the rounds' ratios with the absolute figures, and counts lost and duplicated effects.

- relay: outbox rows to Kafka (Cercle's OutboxRelay, acks=all, idempotent) vs a raw aiokafka producer sending
  the same CloudEvents records (idempotent, acks=all);
- consumer: Cercle's idempotent consumer applying one row per event vs a raw aiokafka consumer INSERTing the
  same rows, 100 per transaction (each timed from its first record to its last row);
- pipeline: outbox write (100 events per transaction) -> relay -> Kafka -> idempotent consumer -> PostgreSQL vs
  raw produce -> raw consume + INSERT, both timed from the first write to the last row;
- HTTP: POST /v1/members and GET /v1/members/{id} on registration's real server (uvicorn process, PostgreSQL,
  outbox, relay, JWT) vs a bare FastAPI app doing one INSERT / one SELECT (benchmarks/bare_app.py), same uvicorn
  settings, same closed-loop load generator (benchmarks/loadgen.py);
- end to end: a session registration accepted (201) -> its confirmation email accepted by the SMTP server, and
  -> insights' stats counting it, with the four services as processes (devtools' Stack) vs a raw Kafka
  produce -> consume round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from cercle_shared.contracts import registration as r
from cercle_shared.contracts.topics import MEMBERS, dead_letter_topic
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.messaging import Messaging, Outbox, Subscriptions
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.postgres import LocalPostgres
from devtools.stack import Stack

from . import baselines, e2e
from .http_bench import bare_server, http_round, registration_server

RAW_TOPIC = "bench.raw"
RTT_TOPIC = "bench.rtt"


# -- reporting ---------------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One path: per round, Cercle's figure and the bare baseline's (higher is better unless `lower_better`)."""

    path: str
    unit: str
    baseline: str
    goal: str
    lower_better: bool = False
    cercle: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)

    def add(self, cercle: float, bare: float, note: str = "") -> None:
        self.cercle.append(cercle)
        self.bare.append(bare)
        print(
            f"  {self.path:<34} cercle {cercle:9.1f} {self.unit:<9} bare {bare:9.1f} {self.unit:<9} "
            f"ratio {self._ratio(cercle, bare):6.2f}x {note}",
            flush=True,
        )

    def _ratio(self, cercle: float, bare: float) -> float:
        if self.lower_better:
            return cercle / bare if bare else float("inf")
        return cercle / bare if bare else 0.0

    def ratio(self) -> float:
        return statistics.median(self._ratio(c, b) for c, b in zip(self.cercle, self.bare, strict=True))

    def row(self) -> str:
        return (
            f"| {self.path} | {statistics.median(self.cercle):,.1f} {self.unit} | {self.baseline}: "
            f"{statistics.median(self.bare):,.1f} {self.unit} | {self.ratio():.2f}× | {self.goal} |"
        )


@dataclass
class Tally:
    """Effects expected, and found (lost = expected keys missing, duplicated = rows beyond one per key)."""

    expected: int = 0
    lost: int = 0
    duplicated: int = 0

    def count(self, expected: int, rows: int, distinct: int) -> None:
        self.expected += expected
        self.lost += expected - distinct
        self.duplicated += rows - distinct

    def __str__(self) -> str:
        return f"{self.expected} expected, {self.lost} lost, {self.duplicated} duplicated"


# -- messaging: Cercle's side ------------------------------------------------------------------------------------
class CercleSide:
    """A producing service (outbox + relay) and a consuming one (idempotent consumer, one effect row per event),
    each with its database; their Messaging is made anew for every phase (a stopped broker is not restarted)."""

    def __init__(self, pg: LocalPostgres, bootstrap: str, tag: str) -> None:
        self.bootstrap = bootstrap
        self.out_meta = MetaData()
        self.out_tables = messaging_tables(self.out_meta)
        out_url = pg.create_database(f"bench_out_{tag}")
        self.out_engine = make_engine(out_url)
        self.out_meta.create_all(self.out_engine)
        self.out_db = make_session_factory(self.out_engine)
        self.out_url = out_url
        self.outbox = Outbox(self.out_tables, source="/cercle/registration")

        self.in_meta = MetaData()
        self.in_tables = messaging_tables(self.in_meta)
        self.effects = Table("effects", self.in_meta, Column("id", Integer, primary_key=True), Column("k", String(60)))
        in_url = pg.create_database(f"bench_in_{tag}")
        self.in_engine = make_engine(in_url)
        self.in_meta.create_all(self.in_engine)
        self.in_db = make_session_factory(self.in_engine)
        self.in_url = in_url
        self.sink_name = f"bench{tag}"
        self.group = f"bench-sink-{tag}"
        ensure_topics(bootstrap, [dead_letter_topic(self.sink_name)])
        self.first_applied: float | None = None
        self.watch: tuple[str, int] | None = None  # (prefix, count): when its last effect was applied
        self.last_applied: float | None = None
        self._applied_of_watch = 0
        self._lock = threading.Lock()

    # producing service
    def producer(self) -> Messaging:
        settings = ServiceSettings(
            database_url=self.out_url, kafka_bootstrap=self.bootstrap, jwt_secret="b" * 40, http_port=1
        )
        return Messaging(
            service="registration",
            settings=settings,
            db_factory=self.out_db,
            tables=self.out_tables,
            outbox=self.outbox,
            uow_factory=lambda: UnitOfWork(self.out_db),
        )

    def write(self, events: list[r.MemberRegistered], per_transaction: int = 100) -> float:
        """Write events to the outbox, `per_transaction` at a time, as services do; events per second."""
        add_many: Callable[..., Any] | None = getattr(self.outbox, "add_many", None)
        committed: Callable[[], None] | None = getattr(self.outbox, "committed", None)
        started = time.perf_counter()
        for start in range(0, len(events), per_transaction):
            chunk = events[start : start + per_transaction]
            with self.out_db.begin() as db:
                if add_many is not None:
                    add_many(db, chunk)
                else:
                    for event in chunk:
                        self.outbox.add(db, event)
            if committed is not None:
                committed()  # what a unit of work does after a commit that wrote events: wake the relay
        return len(events) / (time.perf_counter() - started)

    def pending(self) -> int:
        table = self.out_tables.outbox
        with self.out_db() as db:
            return int(db.scalar(select(func.count()).select_from(table).where(table.c.published_at.is_(None))) or 0)

    # consuming service
    def sink(self) -> Messaging:
        settings = ServiceSettings(
            database_url=self.in_url,
            kafka_bootstrap=self.bootstrap,
            jwt_secret="b" * 40,
            http_port=1,
            consumer_group=self.group,  # kept across phases: each phase reads only what is new
        )
        effects = self.effects

        def apply(event: r.MemberRegistered, uow: UnitOfWork, ctx: Any) -> None:
            uow.db.execute(effects.insert().values(k=event.member_id))
            now = time.perf_counter()
            with self._lock:
                if self.first_applied is None:
                    self.first_applied = now

        subs = Subscriptions().on(r.MemberRegistered, apply)
        return Messaging(
            service=self.sink_name,
            settings=settings,
            db_factory=self.in_db,
            tables=self.in_tables,
            outbox=Outbox(self.in_tables, source=f"/cercle/{self.sink_name}"),
            uow_factory=lambda: UnitOfWork(self.in_db),
            subscriptions=subs,
        )

    def counts(self, prefix: str) -> tuple[int, int]:
        e = self.effects
        with self.in_db() as db:
            row = db.execute(select(func.count(), func.count(e.c.k.distinct())).where(e.c.k.like(f"{prefix}-%"))).one()
        return int(row[0]), int(row[1])

    async def wait_applied(self, prefix: str, count: int, timeout: float = 600) -> float:
        """Poll (every 20 ms) until `count` effects of prefix are committed; when that was seen."""
        deadline = time.perf_counter() + timeout
        while True:
            rows, _ = await asyncio.to_thread(self.counts, prefix)
            if rows >= count:
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{rows} of {count} effects of {prefix} applied after {timeout}s")
            await asyncio.sleep(0.02)

    def dispose(self) -> None:
        self.out_engine.dispose()
        self.in_engine.dispose()


def member_events(prefix: str, count: int) -> list[r.MemberRegistered]:
    now = datetime.now(UTC)
    return [r.MemberRegistered(member_id=f"{prefix}-{n}", language="fr", registered_at=now) for n in range(count)]


async def wait_until_async(check: Callable[[], bool], timeout: float, interval: float = 0.01) -> float:
    deadline = time.perf_counter() + timeout
    while not await asyncio.to_thread(check):
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
    return time.perf_counter()


async def cercle_round(side: CercleSide, events: int, tally: Tally) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    # relay: a backlog of `events` rows, published from the moment the producer is connected
    side.write(member_events(f"c{tag}", events))
    producer = side.producer()
    await producer.start()
    await asyncio.wait_for(producer.connected.wait(), 120)
    started = time.perf_counter()
    ended = await wait_until_async(lambda: side.pending() == 0, 600)
    relay_rate = events / (ended - started)

    # consumer: the same events, now in the topic, from the first applied to the last committed
    sink = side.sink()
    side.first_applied = None
    await sink.start()
    done = await side.wait_applied(f"c{tag}", events)
    assert side.first_applied is not None
    consumer_rate = (events - 1) / max(done - side.first_applied, 1e-6)
    tally.count(events, *side.counts(f"c{tag}"))

    # pipeline: both running; from the first outbox write to the last effect
    started = time.perf_counter()
    writer = asyncio.create_task(asyncio.to_thread(side.write, member_events(f"p{tag}", events)))
    done = await side.wait_applied(f"p{tag}", events)
    write_rate = await writer
    pipeline_rate = events / (done - started)
    tally.count(events, *side.counts(f"p{tag}"))
    await sink.stop()
    await producer.stop()
    return {"relay": relay_rate, "consumer": consumer_rate, "pipeline": pipeline_rate, "write": write_rate}


async def raw_round(bootstrap: str, sink: baselines.RawSink, events: int, tally: Tally) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    producer = baselines.new_producer(bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(RAW_TOPIC, b"warm-up", key=b"warm-up")
        seconds = await baselines.produce(producer, RAW_TOPIC, baselines.envelopes(f"c{tag}", events))
        produce_rate = events / seconds
        first, last = await sink.consume(f"c{tag}", events)
        consume_rate = (events - 1) / max(last - first, 1e-6)
        tally.count(events, *sink.counts(f"c{tag}"))

        records = baselines.envelopes(f"p{tag}", events)  # built beforehand, as the outbox rows are
        started = time.perf_counter()
        consuming = asyncio.create_task(sink.consume(f"p{tag}", events))
        await baselines.produce(producer, RAW_TOPIC, records)
        _, last = await consuming
        pipeline_rate = events / (last - started)
        tally.count(events, *sink.counts(f"p{tag}"))
    finally:
        await producer.stop()
    return {"relay": produce_rate, "consumer": consume_rate, "pipeline": pipeline_rate}


async def messaging_rounds(pg: LocalPostgres, bootstrap: str, rounds: int, events: int) -> list[Comparison]:
    relay = Comparison("relay", "events/s", "raw idempotent produce, acks=all", "≥ 0.7×")
    consumer = Comparison("consumer", "events/s", "raw consume + INSERT, 100 rows/tx", "≥ 0.5×")
    pipeline = Comparison(
        "pipeline outbox→relay→Kafka→consumer→PostgreSQL", "events/s", "raw produce → consume + INSERT", "≥ 0.5×"
    )
    tag = uuid.uuid4().hex[:6]
    side = CercleSide(pg, bootstrap, tag)
    sink = baselines.RawSink(bootstrap, RAW_TOPIC, pg.create_database(f"bench_raw_{tag}"))
    await sink.start()
    cercle_tally, raw_tally = Tally(), Tally()
    try:
        print(f"warm-up round ({min(events, 200)} events each side)", flush=True)
        await cercle_round(side, min(events, 200), Tally())
        await raw_round(bootstrap, sink, min(events, 200), Tally())
        for n in range(rounds):
            print(f"messaging round {n + 1}/{rounds} ({events} events per path)", flush=True)
            if n % 2 == 0:
                c = await cercle_round(side, events, cercle_tally)
                b = await raw_round(bootstrap, sink, events, raw_tally)
            else:
                b = await raw_round(bootstrap, sink, events, raw_tally)
                c = await cercle_round(side, events, cercle_tally)
            relay.add(c["relay"], b["relay"])
            consumer.add(c["consumer"], b["consumer"])
            pipeline.add(c["pipeline"], b["pipeline"], f"(outbox written at {c['write']:.0f}/s meanwhile)")
    finally:
        await sink.stop()
        side.dispose()
    print(f"  effects, Cercle: {cercle_tally}; raw: {raw_tally}", flush=True)
    return [pipeline, relay, consumer]


# -- HTTP ----------------------------------------------------------------------------------------------------------
async def http_rounds(
    pg: LocalPostgres, bootstrap: str, secret: str, logs: Path, rounds: int, requests: int, concurrency: int
) -> tuple[list[Comparison], str]:
    write = Comparison("POST /v1/members", "req/s", "bare FastAPI + one INSERT", "≥ 0.7×")
    read = Comparison("GET /v1/members/{id}", "req/s", "bare FastAPI + SELECT by id", "≥ 0.8×")
    # On a shared machine the rates above move with the neighbours' load; the server's own CPU time per request
    # much less: requests per CPU-second of the server process is what one core would serve (the database's CPU
    # is not counted).
    write_cpu = Comparison("POST /v1/members per server CPU-second", "req/CPU·s", "bare app", "≥ 0.7×")
    read_cpu = Comparison("GET /v1/members/{id} per server CPU-second", "req/CPU·s", "bare app", "≥ 0.8×")
    tag = uuid.uuid4().hex[:6]
    reg_url = pg.create_database(f"bench_http_reg_{tag}")
    cercle = registration_server(reg_url, bootstrap, secret, logs / "registration.log")
    bare = bare_server(pg.create_database(f"bench_http_bare_{tag}"), logs / "bare.log")
    cercle.start()
    bare.start()
    created = 0
    errors = 0
    try:
        await http_round(cercle, bare, secret, min(requests, 100), concurrency)  # warm-up
        created += min(requests, 100)
        for n in range(rounds):
            print(f"HTTP round {n + 1}/{rounds} ({requests} requests per path, {concurrency} connections)", flush=True)
            result = await http_round(cercle, bare, secret, requests, concurrency, cercle_first=n % 2 == 0)
            created += result.cercle_write.statuses.get(201, 0)
            errors += sum(v for k, v in result.cercle_write.statuses.items() if k != 201)
            errors += sum(v for k, v in result.cercle_read.statuses.items() if k != 200)
            write.add(
                result.cercle_write.rate,
                result.bare_write.rate,
                f"p50 {result.cercle_write.p50:.0f} ms vs {result.bare_write.p50:.0f} ms",
            )
            read.add(
                result.cercle_read.rate,
                result.bare_read.rate,
                f"p50 {result.cercle_read.p50:.0f} ms vs {result.bare_read.p50:.0f} ms",
            )
            if min(result.cercle_write.server_cpu_ms, result.bare_write.server_cpu_ms) > 0:  # /proc is there
                write_cpu.add(1000 / result.cercle_write.server_cpu_ms, 1000 / result.bare_write.server_cpu_ms)
            if min(result.cercle_read.server_cpu_ms, result.bare_read.server_cpu_ms) > 0:
                read_cpu.add(1000 / result.cercle_read.server_cpu_ms, 1000 / result.bare_read.server_cpu_ms)
    finally:
        cercle.stop()
        bare.stop()
    members, registered = _registration_counts(reg_url)
    note = (
        f"  registration: {created} members created (201), {members} rows, {registered} MemberRegistered in the "
        f"outbox: {created - min(members, registered)} lost, {max(members, registered) - created} duplicated; "
        f"{errors} non-2xx answers"
    )
    print(note, flush=True)
    return [write, read] + [c for c in (write_cpu, read_cpu) if c.cercle], note


def _registration_counts(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            members = connection.execute(text("SELECT count(*) FROM members")).scalar_one()
            registered = connection.execute(
                text("SELECT count(*) FROM outbox WHERE event_type = 'org.cercle.registration.member.registered.v1'")
            ).scalar_one()
    finally:
        engine.dispose()
    return int(members), int(registered)


# -- main ----------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=2000, help="events per messaging path and round")
    parser.add_argument("--requests", type=int, default=600, help="requests per HTTP path and round")
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP connections")
    parser.add_argument("--samples", type=int, default=30, help="end-to-end registrations timed")
    parser.add_argument("--quick", action="store_true", help="one small round of everything (a smoke run)")
    parser.add_argument("--only", choices=["messaging", "http", "e2e"], action="append", help="run only these parts")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.events, args.requests, args.samples = 1, 200, 60, 3
    parts = set(args.only or ["messaging", "http", "e2e"])
    # SIGTERM (a test's timeout, a CI cancel) unwinds through the `finally`s: the broker, PostgreSQL and the servers
    # this run started are stopped rather than left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The clients' own notices (a coordinator not elected yet on a fresh broker) are not results.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    comparisons: list[Comparison] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        with LocalPostgres(base / "pg", durable=True) as pg:
            urls = {
                name: pg.create_database(f"bench_{name}")
                for name in ("registration", "sessions", "notifications", "insights")
            }
            stack = Stack.on_free_ports(base / "stack", database_urls=urls)
            stack.kafka.start()
            try:
                stack.kafka.wait_ready(180)
                bootstrap = stack.kafka.bootstrap
                ensure_topics(bootstrap)
                stack.kafka.create_topics(RAW_TOPIC, RTT_TOPIC, partitions=MEMBERS.partitions)
                print(
                    f"Kafka (1 broker) + PostgreSQL (fsync on) ready in {time.perf_counter() - t0:.0f}s; "
                    f"{args.rounds} round(s)",
                    flush=True,
                )
                # End to end first, while the topics hold only its own events: its services would otherwise
                # consume every event the other parts publish before theirs.
                e2e_rows: list[Comparison] = []
                if "e2e" in parts:
                    found, note = e2e.run(stack, RTT_TOPIC, args.samples)
                    e2e_rows = found
                    notes.append(note)
                if "messaging" in parts:
                    comparisons += asyncio.run(messaging_rounds(pg, bootstrap, args.rounds, args.events))
                if "http" in parts:
                    found, note = asyncio.run(
                        http_rounds(
                            pg,
                            bootstrap,
                            stack.jwt_secret(),
                            base / "logs",
                            args.rounds,
                            args.requests,
                            args.concurrency,
                        )
                    )
                    comparisons += found
                    notes.append(note)
            finally:
                stack.down()
    comparisons += e2e_rows
    print()
    print("| path (PostgreSQL fsync on, real broker) | Cercle | bare baseline, same run | ratio (median) | goal |")
    print("|---|---|---|---|---|")
    for comparison in comparisons:
        print(comparison.row())
    for note in notes:
        print(note.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
