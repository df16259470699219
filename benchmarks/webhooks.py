"""Partner webhooks on real Kafka and PostgreSQL, to a receiver on loopback: prints figures, asserts nothing.

    python -m benchmarks.webhooks [--messages 500] [--latency-events 100]

- throughput: messages/s the notifications service delivers to one endpoint (signed, claimed, logged), beside a
  bare baseline: a raw httpx POST loop to the same receiver with the same concurrency;
- added latency: from an event published on Kafka to its webhook arriving (p50/p95), one event at a time, beside
  the baseline's own request latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from kafka import KafkaProducer

from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.messaging.envelope import Envelope
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres

CONCURRENCY = 4  # the service's default per-endpoint limit


class Receiver:
    """Answers 204 at once and notes when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                arrived = time.perf_counter()
                webhook_id = self.headers.get("webhook-id", "")
                with state.lock:
                    state.arrivals.setdefault(webhook_id, arrived)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, ids: set[str], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if ids <= self.arrivals.keys():
                    return
            time.sleep(0.005)
        raise TimeoutError(f"{len(ids - self.arrivals.keys())} webhooks never arrived")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


async def baseline(url: str, requests: int) -> tuple[float, list[float]]:
    """A raw POST loop, CONCURRENCY at a time: requests/s, and one-at-a-time latencies (ms)."""
    body = b'{"specversion":"1.0"}'
    async with httpx.AsyncClient() as client:
        queue = list(range(requests))

        async def worker() -> None:
            while queue:
                n = queue.pop()
                await client.post(url, content=body, headers={"webhook-id": f"base-{n}"})

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        rate = requests / (time.perf_counter() - t0)
        latencies = []
        for n in range(100):
            t1 = time.perf_counter()
            await client.post(url, content=body, headers={"webhook-id": f"lat-{n}"})
            latencies.append((time.perf_counter() - t1) * 1000)
    return rate, latencies


def event(community_id: str) -> ses.SessionRegistrationConfirmed:
    return ses.SessionRegistrationConfirmed(
        registration_id=str(uuid.uuid4()),
        session_id=str(uuid.uuid4()),
        community_id=community_id,
        member_id=str(uuid.uuid4()),
        confirmed_at=datetime.now(UTC),
    )


def send(producer: KafkaProducer, value: ses.SessionRegistrationConfirmed) -> str:
    envelope = Envelope.wrap(value, source="/cercle/bench")
    key, data, headers = envelope.to_kafka()
    topic = CATALOG.by_type(envelope.type).topic.name
    producer.send(topic, key=key, value=data, headers=[(k, v.encode()) for k, v in headers.items()])
    return envelope.id


def wait_stored(api, ids: set[str]) -> float:
    """When every event of the burst was owed to the endpoint (consumed, stored, fanned out)."""
    from sqlalchemy import func, select

    from cercle_notifications.domain.partners import Message

    while True:
        with api.app_state.runtime.db_factory() as db:
            count = db.scalar(select(func.count()).select_from(Message).where(Message.event_id.in_(ids)))
        if count == len(ids):
            return time.perf_counter()
        time.sleep(0.01)


def bench(pg: LocalPostgres, kafka: LocalKafka, messages: int, latency_events: int) -> None:
    from tests.support.services import auth, running_service

    receiver = Receiver()
    base_rate, base_latencies = asyncio.run(baseline(receiver.url, messages))
    url = pg.create_database(f"bench_webhooks_{uuid.uuid4().hex[:6]}")
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", linger_ms=5)
    with running_service(
        "notifications",
        url,
        kafka.bootstrap,
        webhook_allow_hosts="127.0.0.1",
        webhook_poll_interval=0.05,
        webhook_endpoint_concurrency=CONCURRENCY,
    ) as api:
        org = "org-bench"
        assert api.put(f"/v1/partners/{org}/grant", json={"event_types": ["org.cercle.sessions."]}, headers=auth())
        r = api.post(
            f"/v1/partners/{org}/endpoints",
            json={"url": receiver.url, "event_types": ["org.cercle.sessions.registration.*"]},
            headers=auth(),
        )
        assert r.status_code == 201, r.text
        # warm-up: the consumer has joined its group and the first webhook went through
        receiver.wait({send(producer, event("warm"))}, timeout=120)

        t0 = time.perf_counter()
        ids = {send(producer, event("burst")) for _ in range(messages)}
        producer.flush()
        stored_after = wait_stored(api, ids)
        receiver.wait(ids)
        rate = messages / (max(receiver.arrivals[i] for i in ids) - t0)
        stored_rate = messages / (stored_after - t0)

        # the dispatcher alone: messages already owed (as the consumer leaves them), sent and recorded
        with api.app_state.runtime.uow() as uow:
            from cercle_notifications.domain.partners import Message, PartnerEvent

            target = uow.partners.endpoints_of(org)[0]
            now = datetime.now(UTC)
            owed = {f"owed-{uuid.uuid4().hex}" for _ in range(messages)}
            for event_id in owed:
                uow.partners.add(
                    PartnerEvent(
                        event_id,
                        "org.cercle.sessions.registration.confirmed.v1",
                        now,
                        [],
                        None,
                        '{"specversion":"1.0"}',
                        now,
                    )
                )
                uow.partners.add(Message.owed(target, event_id, "org.cercle.sessions.registration.confirmed.v1", now))
            t2 = time.perf_counter()
            uow.commit()
        receiver.wait(owed)
        dispatch_rate = messages / (max(receiver.arrivals[i] for i in owed) - t2)

        added = []
        for _ in range(latency_events):
            t1 = time.perf_counter()
            one = send(producer, event("latency"))
            producer.flush()
            receiver.wait({one}, timeout=60)
            added.append((receiver.arrivals[one] - t1) * 1000)
    producer.close()
    receiver.server.shutdown()

    print(
        f"baseline raw httpx POST loop: {base_rate:8.0f} requests/s ({CONCURRENCY} concurrent); "
        f"latency p50 {statistics.median(base_latencies):.1f} ms, p95 {pct(base_latencies, 0.95):.1f} ms"
    )
    print(
        f"webhooks Kafka -> notifications -> receiver: {rate:8.0f} messages/s ({messages} events in one burst, "
        f"{CONCURRENCY} in flight per endpoint)"
    )
    print(
        f"webhooks added latency event -> webhook: p50 {statistics.median(added):.1f} ms, "
        f"p95 {pct(added, 0.95):.1f} ms ({latency_events} events one at a time; poll interval 50 ms)"
    )
    print(f"         (the consumer stored and fanned out the burst at {stored_rate:.0f} events/s)")
    print(
        f"webhooks dispatcher alone (messages already owed): {dispatch_rate:8.0f} messages/s "
        f"({CONCURRENCY} in flight per endpoint, each claimed, signed, sent and recorded)"
    )
    print(
        f"ratio    baseline / webhooks: {base_rate / rate:.1f}x end to end, {base_rate / dispatch_rate:.1f}x dispatcher"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--latency-events", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp:
        t0 = time.perf_counter()
        with LocalKafka(Path(tmp) / "kafka") as kafka, LocalPostgres(Path(tmp) / "pg") as pg:
            ensure_topics(kafka.bootstrap)
            print(f"infra    Kafka + PostgreSQL ready in {time.perf_counter() - t0:.1f}s")
            bench(pg, kafka, args.messages, args.latency_events)


if __name__ == "__main__":
    main()
