"""A three-broker cluster (topics with 3 replicas, min.insync.replicas 2) loses a broker, then its controller leader,
under a steady stream of API writes: the API never fails (it writes to its database; the outbox absorbs the
broker's trouble), every event reaches the consumer once, and the consumer catches up.

Real parts: a KRaft cluster of three JVMs on loopback (devtools.kafka_cluster), PostgreSQL, registration's and
notifications' own `serve` processes. Each broker dies by SIGKILL (a crash, no clean shutdown)."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from sqlalchemy import create_engine, text

from cercle_shared.contracts import topics
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.settings import KafkaSettings
from devtools.kafka_cluster import KafkaCluster
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth

from .serve import ServeProcess

# Three JVMs, two outages of 20 s and two restarts: minutes on a busy 2-core machine, hence the bound.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

RATE = 20  # API writes a second
WRITERS = 4  # clients writing side by side: one alone waits for each answer and falls short of RATE on a busy machine
OUTAGE = 20.0  # seconds of writing while a broker is down
CATCH_UP = 240.0  # bound on the wait for the relay and the consumer to drain everything
CONTACT_CHANGED = "org.cercle.registration.member.contact_changed.v1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with KafkaCluster(tmp_path_factory.mktemp("cluster"), 3) as kafka_cluster:
        # As the topics step runs it: replication from the settings (CERCLE_KAFKA_REPLICATION_FACTOR=3, ..._MIN_ISR=2).
        settings = KafkaSettings(
            kafka_bootstrap=kafka_cluster.bootstrap, kafka_replication_factor=3, kafka_min_insync_replicas=2
        )
        ensure_topics(kafka_cluster.bootstrap, security=settings)
        yield kafka_cluster


@dataclass
class Writer:
    """POST /v1/members at a steady rate from WRITERS threads; every answer recorded."""

    url: str
    rate: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)
    started: float = 0.0
    stopped: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def achieved_rate(self) -> float:
        return len(self.member_ids) / max(1e-9, self.stopped - self.started)

    def start(self) -> None:
        self.started = time.monotonic()
        for n in range(WRITERS):
            thread = threading.Thread(target=self._run, name=f"api-writer-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        if not self._stop.is_set():
            self.stopped = time.monotonic()
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _run(self) -> None:
        headers = auth("operator")
        period = WRITERS / self.rate
        next_at = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=30) as api:
            i = 0
            while not self._stop.is_set():
                i += 1
                tag = uuid.uuid4().hex[:12]
                try:
                    response = api.post(
                        "/v1/members",
                        json={
                            "display_name": f"Membre {i}",
                            "email": f"membre-{tag}@example.org",
                            "region": "13",
                            "consents": {"processing": True},
                        },
                        headers=headers,
                    )
                    with self._lock:
                        self.statuses[response.status_code] += 1
                        if response.status_code == 201:
                            self.member_ids.append(response.json()["id"])
                        else:
                            self.errors.append(f"{response.status_code}: {response.text[:300]}")
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.statuses[0] += 1
                        self.errors.append(repr(exc))
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))


def _install_write_log(engine) -> None:
    """Log every committed write to notifications' contacts: a contact written twice is an effect applied twice."""
    with engine.begin() as db:
        db.execute(text("CREATE TABLE test_contact_writes (member_id text NOT NULL, op text NOT NULL)"))
        db.execute(
            text(
                "CREATE FUNCTION test_log_contact_write() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN INSERT INTO test_contact_writes VALUES (NEW.member_id, TG_OP); RETURN NEW; END $$"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER test_log_contact_write AFTER INSERT OR UPDATE ON contacts "
                "FOR EACH ROW EXECUTE FUNCTION test_log_contact_write()"
            )
        )


def _outbox(engine) -> list[tuple[str, str, float, float | None]]:
    """(event_id, type, created, published) of every row registration wrote, as epoch seconds."""
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT event_id, event_type, extract(epoch FROM created_at), extract(epoch FROM published_at) "
                "FROM outbox"
            )
        ).all()
    return [(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3])) for r in rows]


def _processed(engine) -> dict[str, float]:
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT event_id, extract(epoch FROM processed_at) FROM processed_events "
                "WHERE consumer = 'notifications'"
            )
        ).all()
    return {r[0]: float(r[1]) for r in rows}


def _topic_copies(bootstrap: str, wanted: set[str]) -> Counter[str]:
    """How many records of each event id the contacts topic holds (the relay may publish one twice), read to the
    topic's end as of now (not until a few quiet seconds, which a loaded machine can spend before the first fetch)."""
    with TopicReader(bootstrap, topics.MEMBER_CONTACTS.name) as reader:
        records = reader.read_to_end(timeout=120)
    copies: Counter[str] = Counter()
    for record in records:
        event_id = (record.headers.get("ce_id") or b"").decode(errors="replace")
        if event_id in wanted:
            copies[event_id] += 1
    return copies


def _stall(window: tuple[float, float], rows: list[tuple[float, float | None]]) -> str:
    """Longest and median delay of the events created within `window` (epoch seconds)."""
    delays = [done - created for created, done in rows if window[0] <= created <= window[1] and done is not None]
    if not delays:
        return "no events"
    return f"max {max(delays):.1f}s, median {statistics.median(delays):.2f}s over {len(delays)} events"


def test_losing_a_broker_then_the_controller_leader_loses_no_write_and_duplicates_no_effect(
    cluster, postgres, tmp_path
):
    # Replication comes from the settings: every Cercle topic has 3 replicas and min.insync.replicas 2.
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        names = [s.name for s in topics.ALL_TOPICS]

        def replica_counts():
            # A topic just created is known to the controller before every broker's metadata has it: until then it
            # is described with an error and no partitions, so wait for every topic's partitions to show.
            described = admin.describe_topics(names)
            if len(described) != len(names) or any(t.get("error_code") or not t.get("partitions") for t in described):
                return None
            return {len(p["replica_nodes"]) for t in described for p in t["partitions"]}

        assert wait_until(replica_counts, 120, interval=1, message="every topic's partitions described") == {3}
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in topics.ALL_TOPICS]
        )["topic"]
        for spec in topics.ALL_TOPICS:
            min_isr = configs[spec.name]["min.insync.replicas"]
            # The topic's own setting (the topics step's), not the broker default that happens to match.
            assert (min_isr["value"], min_isr["config_source"]) == ("2", "DYNAMIC_TOPIC_CONFIG"), spec.name
    finally:
        admin.close()

    registration_db = postgres.create_database(f"registration_{uuid.uuid4().hex[:8]}")
    notifications_db = postgres.create_database(f"notifications_{uuid.uuid4().hex[:8]}")
    registration = ServeProcess("registration", registration_db, cluster.bootstrap, tmp_path / "registration.log")
    notifications = ServeProcess(
        "notifications",
        notifications_db,
        cluster.bootstrap,
        tmp_path / "notifications.log",
        consumer_group=f"test-notifications-{uuid.uuid4().hex[:8]}",
    )
    registration.migrate()
    notifications.migrate()
    notifications_engine = create_engine(notifications_db)
    registration_engine = create_engine(registration_db)
    _install_write_log(notifications_engine)
    writer = Writer(registration.url, RATE)
    phases: dict[str, tuple[float, float]] = {}
    try:
        registration.start()
        notifications.start()
        writer.start()
        time.sleep(5)

        for label in ("a follower broker", "the controller leader"):
            leader = cluster.controller_leader()
            victim = leader if label == "the controller leader" else next(i for i in cluster.nodes if i != leader)
            start = time.time()
            cluster.kill(victim)
            time.sleep(OUTAGE)
            back_in = cluster.restart(victim)
            in_sync = cluster.wait_in_sync(timeout=CATCH_UP)
            phases[f"node {victim} ({label}) killed"] = (start, time.time())
            new_leader = cluster.controller_leader()
            print(
                f"\nSIGKILL node {victim} ({label}; controller leader then: node {new_leader}): "
                f"restarted and serving in {back_in:.1f}s, replicas in sync {in_sync:.1f}s later"
            )
            time.sleep(3)
        writer.stop()
        written = set(writer.member_ids)

        # Bounded wait: the relay publishes every row and notifications applies every contact.
        def caught_up() -> bool:
            rows = _outbox(registration_engine)
            wanted = {r[0] for r in rows if r[1] == CONTACT_CHANGED}
            return all(r[3] is not None for r in rows) and wanted <= set(_processed(notifications_engine))

        t0 = time.monotonic()
        wait_until(caught_up, CATCH_UP, interval=1, message="the relay and notifications to catch up")
        drained = time.monotonic() - t0
    finally:
        writer.stop()
        notifications.stop()
        registration.stop()

    # No API error at all, brokers lost or not.
    assert writer.errors == [], writer.errors[:5]
    assert writer.statuses[201] == len(written) > OUTAGE * RATE

    outbox = _outbox(registration_engine)
    processed = _processed(notifications_engine)
    contact_events = {r[0] for r in outbox if r[1] == CONTACT_CHANGED}
    assert len(contact_events) == len(written)
    # Every contact event applied, each once; none beyond them.
    assert contact_events <= set(processed)
    with notifications_engine.connect() as db:
        contacts = {row[0] for row in db.execute(text("SELECT member_id FROM contacts"))}
        writes = Counter(tuple(row) for row in db.execute(text("SELECT member_id, op FROM test_contact_writes")))
    assert contacts == written
    assert writes == Counter({(member_id, "INSERT"): 1 for member_id in written})

    copies = _topic_copies(cluster.bootstrap, contact_events)
    assert set(copies) == contact_events
    published_twice = sum(1 for n in copies.values() if n > 1)

    created = {r[0]: r[2] for r in outbox}
    relay = [(r[2], r[3]) for r in outbox]
    consumer = [(created[e], processed.get(e)) for e in contact_events]
    print(
        f"\n{len(written)} members written ({writer.achieved_rate:.1f}/s, aiming at {RATE}/s), 0 API errors; "
        f"{len(outbox)} events relayed, "
        f"{len(contact_events)} contacts applied once each; {published_twice} published twice by the relay "
        f"(absorbed by the consumer); drained {drained:.1f}s after the last write"
    )
    for label, window in phases.items():
        print(f"  {label}: relay delay {_stall(window, relay)}; to notifications {_stall(window, consumer)}")
    start_all = min(r[2] for r in outbox)
    whole = (start_all, time.time())
    print(f"  whole run: relay delay {_stall(whole, relay)}; to notifications {_stall(whole, consumer)}")
