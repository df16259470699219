"""Hostile records on every consumed topic of every service: each is dead-lettered, every valid event after it
is applied, no partition stalls. Real services (their app, lifespan and consumer) on PostgreSQL, a real broker.

Records are produced with kafka-python, which lets a test send what Cercle's own producer never would: keys,
header values and even header *names* that are not UTF-8 (the last one the Kafka client itself cannot unpack),
attributes missing or wrong, empty and missing values, and a 5 MB value. A broker keeps the default limit of
1 MiB a record (message.max.bytes); a topic may allow more (max.message.bytes), so the consumed topics are
raised to 8 MiB here, as an operator might: the consumer must cope, and park such a record in a dead-letter
topic that keeps the default limit.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from sqlalchemy import create_engine, text

from cercle_shared.contracts import insights as ins
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts import topics
from cercle_shared.contracts.topics import dead_letter_topic
from cercle_shared.messaging import Envelope
from cercle_shared.messaging.undecodable import LenientBatchSubscriber, drain_leniently
from devtools.wait import wait_until, wait_until_async
from tests.support.kafka_reader import TopicReader
from tests.support.services import SERVICES, running_service

pytestmark = pytest.mark.integration

CONSUMING = ("sessions", "notifications", "insights")  # registration consumes nothing
TOPIC_MAX_BYTES = 8 * 1024 * 1024
PARTITION = 0  # every record of a topic on one partition: a stall there would hold back the valid events


class _RawName(str):
    """A header name sent as bytes that are not UTF-8 (kafka-python encodes names with str.encode)."""

    def encode(self, *args, **kwargs):
        return b"\xff\xfe"


def _now() -> datetime:
    return datetime.now(UTC)


def _valid_event(topic: str, n: int):
    """A valid event of `topic` that every service consuming the topic handles and can apply on its own."""
    ident = f"hostile-{uuid.uuid4().hex[:8]}-{n}"
    events = {
        topics.MEMBERS.name: lambda: reg.MemberErased(member_id=ident, erased_at=_now()),
        topics.MEMBER_CONTACTS.name: lambda: reg.MemberContactChanged(
            member_id=ident,
            email=f"{ident}@example.org",
            display_name="Hostile Test",
            language="fr",
            consents={"email": True},
            updated_at=_now(),
        ),
        topics.COMMUNITIES.name: lambda: reg.CommunityCreated(
            community_id=ident,
            name_fr="CoP test",
            name_en="Test CoP",
            kind="community_of_practice",
            regions=["06"],
            cadence=6,
            status="active",
            created_at=_now(),
        ),
        topics.MEMBERSHIPS.name: lambda: reg.MembershipLeft(
            membership_id=ident, community_id=ident, member_id=ident, left_at=_now()
        ),
        topics.SESSIONS.name: lambda: ses.SessionCancelled(session_id=ident, community_id=ident, cancelled_at=_now()),
        # notifications consumes every partner-visible topic (stored for partners' webhooks and pull feed)
        topics.ORGANIZATIONS.name: lambda: reg.OrganizationDeleted(organization_id=ident, deleted_at=_now()),
        topics.PROGRAM.name: lambda: ses.VoteCast(
            vote_id=ident, theme_id=ident, cycle_id=ident, community_id=ident, cast_at=_now()
        ),
        # notifications emails sign-in links and cancels the vote reminder of a member who voted
        topics.SIGN_IN_LINKS.name: lambda: reg.SignInLinkRequested(
            member_id=ident,
            link="https://cercle.example/v1/auth/callback?code=x",
            code="x",
            language="fr",
            expires_at=_now(),
            requested_at=_now(),
        ),
        topics.BALLOTS.name: lambda: ses.BallotCast(
            cycle_id=ident, community_id=ident, member_id=ident, cast_at=_now()
        ),
        # notifications emails on insights' behalf; an alert about a community nobody coordinates emails nobody
        topics.INSIGHTS_MEMBER_MESSAGES.name: lambda: ins.ActionPlanNudged(
            nudge_id=ident,
            plan_id=ident,
            member_id=ident,
            kind="day_30",
            plan_title="x",
            community_id=ident,
            current_step="need_sensed",
            plan_url="https://cercle.example/v1/action-plans/x",
            nudged_at=_now(),
        ),
        topics.COMMUNITY_HEALTH.name: lambda: ins.CommunityHealthAlerted(
            alert_id=ident,
            community_id=ident,
            regions=["13"],
            status="raised",
            signals=["aging"],
            score=50,
            month=_now().date().replace(day=1),
            alerted_at=_now(),
        ),
        topics.SESSION_REGISTRATIONS.name: lambda: ses.SessionRegistrationCancelled(
            registration_id=ident,
            session_id=ident,
            community_id=ident,
            member_id=ident,
            was="confirmed",
            cancelled_at=_now(),
        ),
    }
    return Envelope.wrap(events[topic](), source="/hostile-test")


def _hostile(topic: str) -> list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    """(name, key, value, headers) of records that are not Cercle events, for `topic`."""
    template = _valid_event(topic, 0)
    key, value, text_headers = template.to_kafka()
    headers = [(name, v.encode()) for name, v in text_headers.items()]

    def replaced(**changes: bytes | None) -> list[tuple[str, bytes]]:
        kept = [(n, v) for n, v in headers if n not in changes]
        return kept + [(n, v) for n, v in changes.items() if v is not None]

    def fresh_id() -> list[tuple[str, bytes]]:  # a distinct event id per record, so none is taken for a duplicate
        return replaced(ce_id=str(uuid.uuid4()).encode())

    compacted = by_name(topic).compacted
    rows = [
        ("non-UTF-8 key", b"\xff\xfe", value, fresh_id()),
        ("non-UTF-8 header value", key, value, [*fresh_id(), ("trace", b"\xff\xfe")]),
        ("non-UTF-8 header name", key, value, [*fresh_id(), (_RawName("x"), b"v")]),
        ("non-UTF-8 value", key, b"\xff\xfe\xfd", fresh_id()),
        ("value not a JSON object", key, b"[1, 2]", fresh_id()),
        ("ce_id missing", key, value, replaced(ce_id=None)),
        ("ce_specversion missing", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_specversion=None)),
        ("ce_specversion 0.3", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_specversion=b"0.3")),
        ("ce_specversion unknown", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_specversion=b"2.0")),
        ("ce_type unknown", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_type=b"org.cercle.x.v1")),
        ("ce_time not a time", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_time=b"soon")),
        ("ce_source empty", key, value, replaced(ce_id=str(uuid.uuid4()).encode(), ce_source=b"")),
        ("content-type not JSON", key, b"plain", replaced(ce_id=str(uuid.uuid4()).encode(), **{"content-type": b"x"})),
        ("payload of the wrong shape", key, json.dumps({"unexpected": [1]}).encode(), fresh_id()),
        ("empty value", key, b"", fresh_id()),
        ("5 MB value", key, b'{"x": "' + b"y" * (5 * 1024 * 1024) + b'"}', fresh_id()),
    ]
    if compacted:  # a null value is a tombstone here: one without a usable key is poison
        rows.append(("tombstone with a non-UTF-8 key", b"\xff\xfe", None, []))
    else:
        rows.append(("no value on a topic that is not compacted", key, None, fresh_id()))
    return rows


def by_name(topic: str):
    return topics.by_name(topic)


def _allow_large_records(bootstrap: str, names: list[str]) -> None:
    """Raise the topics' record limit and wait until the broker applies it (the controller commits the change to
    its metadata log first: a 5 MB record produced a moment too early would be refused as too large)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    limit = str(TOPIC_MAX_BYTES)
    try:
        results = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs={"max.message.bytes": limit}) for name in names]
        )
        refused = {name: result for name, result in results.get("topic", {}).items() if result != "OK"}
        assert not refused, f"the broker refused the raised limit: {refused}"

        def applied() -> bool:
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
            configs = described.get("topic", {})
            return all((configs.get(name, {}).get("max.message.bytes") or {}).get("value") == limit for name in names)

        wait_until(applied, 60, interval=0.2, message=f"max.message.bytes={limit} on {names}")
    finally:
        admin.close()


def _produce(bootstrap: str, consumed: list[str]):
    """On each topic: hostile record, valid event, hostile record, valid event... Returns what was sent."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_request_size=TOPIC_MAX_BYTES, batch_size=65536
    )
    bad: dict[tuple[str, int], str] = {}  # (topic, offset) -> name
    valid: dict[str, tuple[str, int]] = {}  # event id -> (topic, offset)
    last: dict[str, int] = {}
    try:
        for topic in consumed:
            futures = []
            for n, (name, key, value, headers) in enumerate(_hostile(topic), start=1):
                futures.append(
                    ("bad", name, producer.send(topic, key=key, value=value, headers=headers, partition=PARTITION))
                )
                good_key, good_value, good_headers = (event := _valid_event(topic, n)).to_kafka()
                good = [(h, v.encode()) for h, v in good_headers.items()]
                sent = producer.send(topic, key=good_key, value=good_value, headers=good, partition=PARTITION)
                futures.append(("valid", event.id, sent))
            producer.flush()
            for kind, label, future in futures:
                offset = future.get(timeout=30).offset
                if kind == "bad":
                    bad[(topic, offset)] = label
                else:
                    valid[label] = (topic, offset)
                last[topic] = max(last.get(topic, -1), offset)
    finally:
        producer.close()
    return bad, valid, last


def _applied(database_url: str, consumer: str, event_ids) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT event_id FROM processed_events WHERE consumer = :c AND event_id = ANY(:ids)"),
                {"c": consumer, "ids": list(event_ids)},
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def _committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


@pytest.mark.parametrize("service", CONSUMING)
def test_every_hostile_record_is_dead_lettered_and_every_valid_event_applied_without_a_stall(
    service, kafka, new_database
):
    consumed = SERVICES[service].bootstrap().subscriptions().topics()
    assert consumed, f"{service} consumes nothing"
    _allow_large_records(kafka.bootstrap, consumed)
    database_url = new_database(service)
    with running_service(service, database_url, kafka.bootstrap) as client:
        runtime = client.app_state.runtime
        group = runtime.settings.consumer_group
        bad, valid, last = _produce(kafka.bootstrap, consumed)

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            applied = _applied(database_url, service, valid)
            committed = _committed(kafka.bootstrap, group)
            if len(applied) == len(valid) and all(
                committed.get((t, PARTITION), -1) > offset for t, offset in last.items()
            ):
                break
            time.sleep(1)
        missing = {valid[event_id] for event_id in set(valid) - applied}
        assert not missing, f"{service}: valid events not applied (topic, offset): {sorted(missing)}"
        stalled = {t: (committed.get((t, PARTITION)), offset) for t, offset in last.items()}
        assert all(c is not None and c > o for c, o in stalled.values()), f"{service}: stalled {stalled}"

    seen = _dead_letters(kafka.bootstrap, dead_letter_topic(service).name, set(bad))
    lost = sorted(f"{name} ({topic}@{offset})" for (topic, offset), name in bad.items() if (topic, offset) not in seen)
    assert not lost, f"{service}: not dead-lettered: {lost}"
    for (topic, offset), name in bad.items():
        headers = seen[(topic, offset)].headers
        assert headers["dlq_consumer"] == service.encode(), name
        assert headers["dlq_attempts"] == b"0", f"{name}: poison must not be retried"
        assert headers["dlq_error"], name
    huge = [seen[key] for key, name in bad.items() if name == "5 MB value"]
    assert huge
    for record in huge:  # cut to a size the broker takes; from a personal-data topic, only a digest is kept
        if by_name(record.headers["dlq_topic"].decode()).personal_data:
            assert record.headers["dlq_value_withheld"] == b"personal data"
            assert record.value is None
        else:
            assert record.headers["dlq_value_truncated"] == b"true"
    assert all(len(r.value or b"") < 1024 * 1024 for r in seen.values())  # the dead-letter topic keeps 1 MiB


@dataclass(frozen=True)
class _DeadLetter:
    value: bytes | None
    headers: dict[str, bytes]


def _dead_letters(bootstrap: str, topic: str, wanted: set[tuple[str, int]], timeout: float = 120):
    """{(topic, offset): dead letter} of the records this test sent (all on PARTITION), read from the start.

    The partitions are assigned, not taken through a consumer group (a group's join or sync can stall for a minute
    under load), and header names are read leniently: the topic may hold other tests' dead letters, whose original
    records were on other partitions at the same offsets (hence the partition in the match)."""
    seen: dict[tuple[str, int], _DeadLetter] = {}
    with TopicReader(bootstrap, topic) as reader:
        read = 0
        deadline = time.monotonic() + timeout
        while not wanted <= set(seen) and time.monotonic() < deadline:
            records = reader.poll()
            for record in records[read:]:
                headers = record.headers
                if headers.get("dlq_partition") != str(PARTITION).encode() or "dlq_offset" not in headers:
                    continue
                where = (headers.get("dlq_topic", b"").decode(errors="replace"), int(headers["dlq_offset"]))
                if where in wanted:
                    seen[where] = _DeadLetter(record.value, headers)
            read = len(records)
    return seen


def test_a_caught_up_subscriber_reads_past_a_record_it_cannot_unpack_that_opens_a_new_batch(kafka):
    """The services' subscriber and the tools' drain, on a topic of their own: every record read, the next batch opens
    with a header name that is not UTF-8. aiokafka raises on the call over every partition and then finds nothing on
    the partition alone, at every call: without a lenient read after that failure the partition never moves."""
    topic = f"hostile-batch-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()

    async def scenario() -> tuple[list[int], list[int]]:
        subscribed = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap,
            group_id=f"hostile-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        assigned = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None, enable_auto_commit=False)
        await subscribed.start()
        await assigned.start()
        try:
            subscriber = SimpleNamespace(max_records=500, batch_timeout_ms=500)
            await wait_until_async(lambda: subscribed.assignment(), 60, message="partitions assigned")
            for _ in range(3):  # caught up: the fetches wait at the end of each partition
                assert await LenientBatchSubscriber.get_msg(subscriber, subscribed) == ()
            tp = TopicPartition(topic, 0)
            assigned.assign([tp, TopicPartition(topic, 1)])
            await assigned.seek_to_end()
            producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
            try:
                first = [(_RawName("x"), b"v")]
                producer.send(topic, key=b"k", value=b"{}", headers=first, partition=0).get(timeout=30)
                producer.send(topic, key=b"k", value=b"{}", headers=[("ce_id", b"2")], partition=0).get(timeout=30)
            finally:
                producer.close()
            by_subscriber: list[int] = []
            by_drain: list[int] = []
            for _ in range(10):
                by_subscriber += [r.offset for r in await LenientBatchSubscriber.get_msg(subscriber, subscribed)]
                drained = await drain_leniently(assigned, assigned.assignment(), limit=100, timeout_ms=500)
                by_drain += [r.offset for batch in drained.values() for r in batch]
            return by_subscriber, by_drain
        finally:
            await subscribed.stop()
            await assigned.stop()

    by_subscriber, by_drain = asyncio.run(scenario())
    assert by_subscriber == [0, 1]
    assert by_drain == [0, 1]
