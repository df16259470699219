"""`cercle-insights rebuild` on the real broker and PostgreSQL: events projected by the running service, the
projections corrupted, the service stopped, the rebuild replays the topics and the projections are as they were."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from sqlalchemy import Integer, create_engine, func, select, text

from cercle_insights.entrypoints.rebuild import RebuildRefused, projection_tables, rebuild
from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts.topics import SESSIONS
from cercle_shared.messaging import Envelope
from devtools.wait import wait_until
from tests.support.services import SERVICES, auth, running_service

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


class _RawName(str):
    """A header name sent as bytes that are not UTF-8 (kafka-python encodes names with str.encode)."""

    def encode(self, *args, **kwargs):
        return b"\xff\xfe"


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def publish(kafka):
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")

    def send(event, source: str) -> Envelope:
        envelope = Envelope.wrap(event, source=source)
        key, value, headers = envelope.to_kafka()
        topic = CATALOG.by_type(envelope.type).topic.name
        producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(10)
        return envelope

    yield send
    producer.close()


def caught_up(bootstrap: str, group: str, topics: list[str]) -> bool:
    """The group has committed every partition of `topics` up to its end."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    reader = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(reader.partitions_for_topic(t) or ())]
        ends = reader.end_offsets(partitions)
        return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in partitions)
    finally:
        admin.close()
        reader.close()


def snapshot(database_url: str, tables) -> dict[str, list[tuple]]:
    """Every row of every projection, without surrogate integer keys (a replay may number rows differently)."""
    engine = create_engine(database_url)
    rows = {}
    with engine.connect() as connection:
        for table in tables:
            columns = [
                c
                for c in table.columns
                if not (c.primary_key and isinstance(c.type, Integer) and c.autoincrement in (True, "auto"))
            ]
            rows[table.name] = sorted(
                (tuple(repr(v) for v in row) for row in connection.execute(select(*columns))), key=repr
            )
    engine.dispose()
    return rows


def test_a_rebuild_refuses_while_the_service_runs_and_refills_the_projections_as_they_were(
    kafka, new_database, publish
):
    database = new_database("insights")
    community, session = new_id(), new_id()
    members = [new_id() for _ in range(4)]
    registrations = [new_id() for _ in range(3)]
    with running_service("insights", database, kafka.bootstrap) as insights:
        runtime = insights.app_state.runtime
        settings = runtime.settings
        topics = runtime.messaging.subscriptions.topics()
        source = "/cercle/registration"
        publish(
            reg.CommunityCreated(
                community_id=community,
                name_fr="CoP Mauricie",
                name_en="Mauricie CoP",
                kind="community_of_practice",
                regions=["04"],
                cadence=6,
                status="active",
                created_at=NOW - timedelta(days=60),
            ),
            source,
        )
        for n, member in enumerate(members):
            publish(
                reg.MembershipJoined(
                    membership_id=f"{community}-{n}",
                    community_id=community,
                    member_id=member,
                    role="participant",
                    joined_at=NOW - timedelta(days=50 - n),
                ),
                source,
            )
        publish(
            reg.MembershipLeft(
                membership_id=f"{community}-3", community_id=community, member_id=members[3], left_at=NOW
            ),
            source,
        )
        source = "/cercle/sessions"
        publish(
            ses.SessionScheduled(
                session_id=session,
                community_id=community,
                title="Pratiques réflexives",
                starts_at=NOW + timedelta(days=20),
                ends_at=NOW + timedelta(days=20, hours=2),
                mode="in_person",
                capacity=2,
            ),
            source,
        )
        for registration, member in zip(registrations[:2], members, strict=False):
            publish(
                ses.SessionRegistrationConfirmed(
                    registration_id=registration,
                    session_id=session,
                    community_id=community,
                    member_id=member,
                    confirmed_at=NOW,
                ),
                source,
            )
        publish(
            ses.SessionRegistrationWaitlisted(
                registration_id=registrations[2],
                session_id=session,
                community_id=community,
                member_id=members[2],
                position=1,
                waitlisted_at=NOW,
            ),
            source,
        )

        # A record the Kafka client itself cannot unpack (a header name that is not UTF-8), on the partition of the
        # session's events: the service dead-letters it, and the rebuild must skip it, not stop on it.
        hostile = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
        try:
            hostile.send(
                SESSIONS.name,
                key=session.encode(),
                value=b"{}",
                headers=[(_RawName("x"), b"v")],
            ).get(10)
        finally:
            hostile.close()

        def projected():
            response = insights.get(f"/v1/communities/{community}/stats", headers=auth("operator"))
            body = response.json()
            return (
                response.status_code == 200
                and body["members"]["active"] == 3
                and body["registrations"]["confirmed"] == 2
                and body["registrations"]["waitlisted"] == 1
            )

        wait_until(projected, timeout=60, interval=0.2, message="the events projected")
        wait_until(
            lambda: caught_up(kafka.bootstrap, settings.consumer_group, topics),
            timeout=120,  # the whole history of the shared topics, every earlier test's records included
            interval=0.5,
            message="the service's group caught up",
        )
        with pytest.raises(RebuildRefused, match="stop the insights service"):
            asyncio.run(rebuild(runtime, settings, show_progress=False))

    tables = projection_tables(runtime)
    names = {t.name for t in tables}
    assert {"communities", "memberships", "sessions", "session_registrations"} <= names
    assert not {"outbox", "processed_events", "surveys", "action_plans", "health_states"} & names
    before = snapshot(database, tables)
    assert any(community in row[0] for row in before["communities"])
    engine = create_engine(database)
    with engine.begin() as connection:
        outbox_before = connection.scalar(select(func.count()).select_from(runtime.tables.outbox))
        connection.execute(text("DELETE FROM session_registrations"))
        connection.execute(text("UPDATE communities SET name_fr = 'corrompu'"))
    assert snapshot(database, tables) != before

    fresh = SERVICES["insights"].bootstrap().build_runtime(settings)  # as the command builds it, not started
    try:
        report = asyncio.run(rebuild(fresh, settings, show_progress=False))
    finally:
        fresh.engine.dispose()

    assert report.records >= len(members) + len(registrations) + 3
    assert report.skipped >= 1  # the unreadable record, counted and passed
    assert snapshot(database, tables) == before
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(runtime.tables.outbox)) == outbox_before
        processed = connection.scalar(
            select(func.count())
            .select_from(runtime.tables.processed_events)
            .where(runtime.tables.processed_events.c.consumer == "insights")
        )
    assert processed >= 10  # cleared, then recorded again as the rebuild applied them
    engine.dispose()


def test_a_second_rebuild_is_refused_while_one_holds_the_lock(kafka, new_database):
    from cercle_insights.entrypoints.rebuild import LOCK_KEY
    from cercle_shared.db.migrations import upgrade
    from tests.support.services import make_settings

    database = new_database("insights")
    upgrade(SERVICES["insights"].bootstrap().MIGRATIONS, database)
    settings = make_settings("insights", database, kafka.bootstrap)
    runtime = SERVICES["insights"].bootstrap().build_runtime(settings)
    engine = create_engine(database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO communities (id, regions, province_wide) VALUES ('kept', '[]', false)")
            )
        with engine.connect() as holder:
            assert holder.scalar(text("select pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            with pytest.raises(RebuildRefused, match="another rebuild"):
                asyncio.run(rebuild(runtime, settings, show_progress=False, check_group=False))
        with engine.connect() as connection:  # refused before emptying anything
            assert connection.scalar(text("SELECT count(*) FROM communities")) == 1
    finally:
        runtime.engine.dispose()
        engine.dispose()
