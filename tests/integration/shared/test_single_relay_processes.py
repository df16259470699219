"""Two `serve` processes of registration on one PostgreSQL database: one relays, the other stands by; the active one
is SIGKILLed during a stream of API writes and the other takes over. Every committed outbox event reaches its topic
(0 lost), each key's events first arrive in commit order, and an event sent twice is the same event (same id),
which consumers de-duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict

import httpx
import psycopg
import pytest

from devtools import REPO_ROOT
from devtools.ports import free_port
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import JWT_SECRET, auth

pytestmark = pytest.mark.integration

TIMEOUT = 120


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _relay_holder(conninfo: str) -> int | None:
    """The process id of the registration instance holding the relay lock (from its connection's name)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'cercle-registration-relay-%'"
        ).fetchone()
    return int(row[0].rsplit("-", 1)[1]) if row else None


def _outbox(conninfo: str) -> list[tuple[int, str, str, str, bool]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return [
            (seq, event_id, topic, key, published)
            for seq, event_id, topic, key, published in conn.execute(
                "SELECT seq, event_id, topic, key, published_at IS NOT NULL FROM outbox ORDER BY seq"
            ).fetchall()
        ]


class Writer(threading.Thread):
    """Registers members through whichever instance answers, until told to stop."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls = urls
        self.accepted: list[str] = []
        self.failed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        with httpx.Client(timeout=15) as client:
            while not self.stopping.is_set():
                n += 1
                url = self.urls[n % len(self.urls)]
                body = {
                    "display_name": f"Relais {n}",
                    "email": f"relay-{n}-{uuid.uuid4().hex[:6]}@example.org",
                    "region": "06",
                    "consents": {"processing": True},
                }
                try:
                    response = client.post(f"{url}/v1/members", json=body, headers=auth("operator"))
                except httpx.HTTPError:
                    self.failed += 1  # the killed instance: the next request goes to the other
                    continue
                if response.status_code == 201:
                    self.accepted.append(response.json()["id"])
                else:
                    self.failed += 1


def test_the_standby_takes_over_when_the_active_relay_is_killed_losing_and_reordering_nothing(
    kafka, postgres, tmp_path
):
    name = f"registration_{uuid.uuid4().hex[:10]}"
    database = postgres.create_database(name)
    conninfo = postgres.conninfo(name)
    base_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "CERCLE_DATABASE_URL": database,
        "CERCLE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CERCLE_JWT_SECRET": JWT_SECRET,
        "CERCLE_HTTP_HOST": "127.0.0.1",
        "CERCLE_CONSUMER_GROUP": f"test-registration-{uuid.uuid4().hex[:8]}",
        "CERCLE_RELAY_LEASE_RETRY": "0.5",
        "CERCLE_RELAY_BATCH_SIZE": "20",  # many batches in flight when the kill lands
    }
    subprocess.run(
        [sys.executable, "-m", "cercle_registration.main", "migrate"], env=base_env, check=True, capture_output=True
    )
    processes: dict[int, subprocess.Popen] = {}
    urls: dict[int, str] = {}
    log = open(tmp_path / "registration.log", "ab")  # noqa: SIM115
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "cercle_registration.main", "serve"],
            env={**base_env, "CERCLE_HTTP_PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes[process.pid] = process
        urls[process.pid] = f"http://127.0.0.1:{port}"
    writer = Writer(list(urls.values()))
    try:
        for url in urls.values():
            wait_until(lambda url=url: _ready(url), TIMEOUT, message=f"{url} ready")
        holder = wait_until(lambda: _relay_holder(conninfo), TIMEOUT, message="one relay active")
        assert holder in processes

        writer.start()
        wait_until(lambda: len(writer.accepted) >= 30, TIMEOUT, message="writes flowing")
        wait_until(
            lambda: any(published for *_, published in _outbox(conninfo)), TIMEOUT, message="the holder relaying"
        )
        processes[holder].send_signal(signal.SIGKILL)  # mid-stream: batches handed to Kafka, not yet marked
        processes[holder].wait(30)
        killed_at = time.monotonic()
        survivor = next(pid for pid in processes if pid != holder)
        new_holder = wait_until(lambda: _relay_holder(conninfo), TIMEOUT, message="the standby took over")
        print(f"take-over in {time.monotonic() - killed_at:.1f}s")
        assert new_holder == survivor

        accepted_before = len(writer.accepted)
        wait_until(lambda: len(writer.accepted) >= accepted_before + 30, TIMEOUT, message="writes go on")
        writer.stopping.set()
        writer.join(30)
        wait_until(lambda: all(published for *_, published in _outbox(conninfo)), TIMEOUT, message="the outbox drained")

        rows = _outbox(conninfo)
        assert len(rows) >= 60
        topics = sorted({topic for _, _, topic, _, _ in rows})
        wanted = {event_id for _, event_id, _, _, _ in rows}
        reader = TopicReader(kafka.bootstrap, *topics)

        def every_event_read(records) -> bool:
            return wanted <= {r.headers.get("ce_id", b"").decode() for r in records}

        reader.wait_for(every_event_read, TIMEOUT, message="every committed event on its topic")
        time.sleep(1)
        reader.poll()

        mine = [r for r in reader.records if r.headers.get("ce_id", b"").decode() in wanted]
        received: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        copies: dict[str, int] = defaultdict(int)
        for record in mine:
            event_id = record.headers["ce_id"].decode()
            copies[event_id] += 1
            if copies[event_id] == 1:
                received[(record.topic, record.key)].append(event_id)
        expected: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for _, event_id, topic, key, _ in rows:
            expected[(topic, key)].append(event_id)
        assert received == expected  # none lost, each key's events first seen in commit order
        twice = sum(1 for n in copies.values() if n > 1)
        print(
            f"{len(rows)} events, {len(writer.accepted)} members accepted, {writer.failed} requests failed with the "
            f"killed instance, {twice} events sent twice (same id: consumers de-duplicate)"
        )
        registered = {r.key for r in mine if r.headers.get("ce_type", b"").decode().endswith(".member.registered.v1")}
        assert set(writer.accepted) <= registered  # every accepted registration was published
    finally:
        writer.stopping.set()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        log.close()
