"""Insights scales by consumer group: 1 → 2 → 1 instances (real `serve` processes sharing one database and one
group) while events keep coming. Every event is applied exactly once and each key's events in their order.

Order is checked where it shows: a community's name carries a version (v0, v1, ...) that a trigger of this test
logs on every committed change, so the log must read v0, v1, v2, ... for each community, each version once; and a
membership's role, changed again and again on its community's key, must end as the last change said."""

from __future__ import annotations

import itertools
import signal
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import create_engine, text

from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.contracts import registration as reg
from cercle_shared.messaging.envelope import Envelope
from devtools.wait import wait_until
from tests.integration.cluster.serve import ServeProcess

# Two service processes start and stop while a stream runs: minutes on a busy machine, hence the bound.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

COMMUNITIES = 12
ROLES = ("participant", "facilitator", "coordinator")
ROUNDS_PER_SECOND = 2.0  # each round: one rename per community and one role change per membership
CATCH_UP = 180.0


class Stream:
    """Publishes, from a thread, per community: its creation (v0), then a rename (v1, v2, ...) and a role change of
    its one membership each round, as registration would (CloudEvents, keyed by community id)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self.communities = [str(uuid.uuid4()) for _ in range(COMMUNITIES)]
        self.memberships = {c: str(uuid.uuid4()) for c in self.communities}
        self.member = str(uuid.uuid4())
        self.event_ids: list[str] = []
        self.rounds = 0
        self.last_role: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)

    def start(self) -> None:
        now = datetime.now(UTC)
        for community in self.communities:
            self._send(reg.CommunityCreated(**self._details(community, 0), created_at=now))
            self._send(
                reg.MembershipJoined(
                    membership_id=self.memberships[community],
                    community_id=community,
                    member_id=self.member,
                    role="participant",
                    joined_at=now,
                )
            )
            self.last_role[community] = "participant"
        self.producer.flush(30)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self.producer.flush(30)
        self.producer.close()

    def _run(self) -> None:
        period = 1 / ROUNDS_PER_SECOND
        next_at = time.monotonic()
        roles = itertools.cycle(ROLES[1:] + ROLES[:1])
        while not self._stop.is_set():
            self.rounds += 1
            role = next(roles)
            now = datetime.now(UTC)
            for community in self.communities:
                self._send(reg.CommunityUpdated(**self._details(community, self.rounds), updated_at=now))
                self._send(
                    reg.MembershipRoleChanged(
                        membership_id=self.memberships[community],
                        community_id=community,
                        member_id=self.member,
                        role=role,
                        changed_at=now,
                    )
                )
                self.last_role[community] = role
            self.producer.flush(30)
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _details(self, community: str, version: int) -> dict[str, object]:
        return {
            "community_id": community,
            "name_fr": f"v{version}",
            "name_en": f"v{version}",
            "kind": "community_of_practice",
            "regions": ["13"],
            "cadence": 6,
            "status": "active",
        }

    def _send(self, event: IntegrationEvent) -> None:
        envelope = Envelope.wrap(event, source="/cercle/registration")
        key, value, headers = envelope.to_kafka()
        topic = CATALOG.by_type(envelope.type).topic.name
        self.producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()])
        self.event_ids.append(envelope.id)


def _install_name_log(engine) -> None:
    """Log every committed change of a community's name, in the order the database applied them."""
    with engine.begin() as db:
        db.execute(
            text("CREATE TABLE test_name_log (seq bigserial PRIMARY KEY, community_id text NOT NULL, name text)")
        )
        db.execute(
            text(
                "CREATE FUNCTION test_log_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.name_fr IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.name_fr IS DISTINCT FROM NEW.name_fr) THEN "
                "INSERT INTO test_name_log (community_id, name) VALUES (NEW.id, NEW.name_fr); END IF; "
                "RETURN NEW; END $$"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER test_log_name AFTER INSERT OR UPDATE ON communities "
                "FOR EACH ROW EXECUTE FUNCTION test_log_name()"
            )
        )


def _group_members(bootstrap: str, group: str) -> int:
    """Members of a stable group (0 while it rebalances)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
    except KafkaError:
        return 0
    finally:
        admin.close()
    return len(description["members"]) if description["group_state"] == "Stable" else 0


def test_one_then_two_then_one_instances_apply_every_event_once_and_in_order(kafka, postgres, tmp_path):
    database = postgres.create_database(f"insights_{uuid.uuid4().hex[:8]}")
    group = f"test-insights-{uuid.uuid4().hex[:8]}"
    first, second = (
        ServeProcess("insights", database, kafka.bootstrap, tmp_path / f"insights-{n}.log", consumer_group=group)
        for n in (1, 2)
    )
    first.migrate()
    engine = create_engine(database)
    _install_name_log(engine)
    stream = Stream(kafka.bootstrap)
    try:
        first.start()
        stream.start()
        wait_until(lambda: _group_members(kafka.bootstrap, group) == 1, 60, interval=0.5, message="one member")
        time.sleep(4)
        rounds_alone = stream.rounds

        second.start()  # scale out: the group rebalances while events keep coming
        wait_until(lambda: _group_members(kafka.bootstrap, group) == 2, 90, interval=0.5, message="two members")
        rounds_at_two = stream.rounds
        time.sleep(6)

        # Scale in (SIGTERM, as an orchestrator does): its partitions go back to the first instance.
        assert second.stop() in (0, -signal.SIGTERM)
        wait_until(lambda: _group_members(kafka.bootstrap, group) == 1, 90, interval=0.5, message="one member again")
        rounds_back_to_one = stream.rounds
        time.sleep(4)
        stream.stop()
        sent = set(stream.event_ids)
        assert len(sent) == len(stream.event_ids)

        def processed() -> set[str]:
            with engine.connect() as db:
                return {row[0] for row in db.execute(text("SELECT event_id FROM processed_events"))}

        t0 = time.monotonic()
        wait_until(lambda: sent <= processed(), CATCH_UP, interval=1, message="insights to apply every event")
        drained = time.monotonic() - t0
    finally:
        second.stop()
        first.stop()

    # Every event recorded as processed (the shared broker's topics also hold other tests' events, which this new
    # group reads too: only this stream's are compared).
    assert sent <= processed()
    # In order, each once: per community, the names applied read v0, v1, ..., vN.
    applied: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as db:
        for community_id, name in db.execute(text("SELECT community_id, name FROM test_name_log ORDER BY seq")):
            applied[community_id].append(name)
        roles = dict(db.execute(text("SELECT community_id, role FROM memberships")).all())
        names = dict(db.execute(text("SELECT id, name_fr FROM communities")).all())
    expected = [f"v{n}" for n in range(stream.rounds + 1)]
    assert set(stream.communities) <= set(applied)
    for community in stream.communities:
        assert applied[community] == expected, community
        assert names[community] == f"v{stream.rounds}"
        assert roles[community] == stream.last_role[community]
    print(
        f"\n{len(sent)} events over {stream.rounds} rounds ({len(stream.communities)} communities): rounds "
        f"1-{rounds_alone}+ with one instance, from {rounds_at_two} with two, from {rounds_back_to_one} with one "
        f"again; all applied once and in order; drained {drained:.1f}s after the last"
    )
