"""cercle-ops against the real broker and a real service: the dead letters a running sessions service wrote are
listed with their error headers and replayed onto their original topic; lag and dead-letter counts are read from
the broker's offsets."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from cercle_ops import broker, dlq, lag
from cercle_ops.cli import main
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import topics
from cercle_shared.messaging import Envelope
from cercle_shared.settings import KafkaSettings
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import running_service

pytestmark = pytest.mark.integration


def _poison(bootstrap: str) -> str:
    """A MemberErased whose payload is not one (a member_id that is no string, no erased_at): a dead letter."""
    envelope = Envelope.wrap(reg.MemberErased(member_id="m-1", erased_at=datetime.now(UTC)), source="/test")
    key, _, headers = envelope.to_kafka()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(
            topics.MEMBERS.name,
            key=key,
            value=json.dumps({"member_id": {"not": "a string"}}).encode(),
            headers=[(name, value.encode()) for name, value in headers.items()],
        ).get(timeout=30)
    finally:
        producer.close()
    return envelope.id


def test_dead_letters_of_a_real_consumer_are_listed_and_replayed_to_their_topic(kafka, new_database, capsys):
    settings = KafkaSettings(kafka_bootstrap=kafka.bootstrap)
    with running_service("sessions", new_database("sessions"), kafka.bootstrap) as sessions:
        group = sessions.app_state.runtime.settings.consumer_group
        event_id = _poison(kafka.bootstrap)

        letter = wait_until(
            lambda: next((x for x in dlq.read(settings, "sessions") if x.event_id == event_id), None),
            60,
            message="the dead letter on cercle.deadletter.sessions",
        )
        assert letter.original_topic == topics.MEMBERS.name
        assert letter.event_type == "org.cercle.registration.member.erased.v1"
        assert letter.error.startswith("invalid message")
        assert letter.attempts == "0"
        assert letter.replay_refusal() is None

        assert main(["--bootstrap", kafka.bootstrap, "dlq", "list", "sessions", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        [row] = [row for row in listed if row["event id"] == event_id]
        assert row["id"] == letter.id
        assert row["from"].startswith(topics.MEMBERS.name)

        # The group consumed everything it was given: no lag on the members topic, one dead letter at least.
        admin = broker.admin_client(settings)
        try:
            lags = wait_until(
                lambda: [x for x in lag.group_lags(admin, [group]) if x.topic == topics.MEMBERS.name and x.lag == 0],
                30,
                message="the group's committed offsets past the poison record",
            )
            assert lags[0].partitions == topics.MEMBERS.partitions
            assert lag.dead_letter_counts(admin)["sessions"] >= 1
            assert group in lag.consumer_groups(admin)
        finally:
            admin.close()

    assert main(["--bootstrap", kafka.bootstrap, "dlq", "replay", "sessions", "--id", letter.id]) == 0
    assert f"replayed {letter.id}" in capsys.readouterr().out

    # Read to the end with assigned partitions (a poll that comes back empty under load is not the end); the members
    # topic is shared: another test may have left a record whose header name is not UTF-8 on it.
    with TopicReader(kafka.bootstrap, topics.MEMBERS.name) as reader:
        records = reader.read_to_end(timeout=120)
    replayed = [r for r in records if r.headers.get(dlq.REPLAYED_FROM) == f"sessions:{letter.id}".encode()]
    assert len(replayed) == 1
    headers = replayed[0].headers
    assert headers["ce_id"] == event_id.encode()
    assert not any(name.startswith("dlq_") for name in headers)
    assert replayed[0].key == (letter.key or b"").decode()
    assert replayed[0].value == letter.value


def test_replaying_an_unknown_id_changes_nothing_and_says_so(kafka, capsys):
    unknown = f"9-{uuid.uuid4().int % 10**9}"
    assert main(["--bootstrap", kafka.bootstrap, "dlq", "replay", "insights", "--id", unknown]) == 2
    assert unknown in capsys.readouterr().err


def test_a_dead_letter_whose_value_was_withheld_is_not_replayed(kafka):
    settings = KafkaSettings(kafka_bootstrap=kafka.bootstrap)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    marker = uuid.uuid4().hex
    try:
        producer.send(
            topics.dead_letter_topic("notifications").name,
            key=b"m-2",
            value=None,
            headers=[
                ("ce_id", marker.encode()),
                ("dlq_error", b"invalid message: x"),
                ("dlq_topic", topics.MEMBER_CONTACTS.name.encode()),
                ("dlq_value_withheld", b"personal data"),
                ("dlq_value_sha256", b"00"),
            ],
        ).get(timeout=30)
    finally:
        producer.close()
    [letter] = [x for x in dlq.read(settings, "notifications") if x.event_id == marker]
    [outcome] = dlq.replay(settings, [letter])
    assert not outcome.replayed
    assert "withheld" in outcome.reason


class _RawName(str):
    """A header name sent as bytes that are not UTF-8 (kafka-python encodes names with str.encode)."""

    def encode(self, *args, **kwargs):
        return b"\xff\xfe"


def test_hostile_dead_letters_are_listed_as_they_are_and_never_replayed(kafka, capsys):
    """On registration's dead-letter topic (registration consumes nothing: no other test reads it): a record with a
    header name the Kafka client cannot unpack, rich markup and terminal escapes in its error, one pointing to a
    topic no service consumes, and a plain one after them, which must still be listed."""
    marker = uuid.uuid4().hex[:8]
    base = [("dlq_topic", topics.MEMBERS.name.encode()), ("dlq_attempts", b"0")]
    letters = {
        f"{marker}-name": [(_RawName("x"), b"v"), ("dlq_error", b"[/] invalid \x1b]8;;https://x.example\x1b\\x")],
        f"{marker}-topic": [("dlq_error", b"invalid message"), ("dlq_topic", b"cercle.deadletter.sessions")],
        f"{marker}-plain": [("dlq_error", b"invalid message")],
    }
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    try:
        for event_id, headers in letters.items():
            named = dict(headers)
            sent = [*(h for h in base if h[0] not in named), ("ce_id", event_id.encode()), *headers]
            producer.send(topics.dead_letter_topic("registration").name, key=b"m-1", value=b"{}", headers=sent).get(30)
    finally:
        producer.close()

    assert main(["--bootstrap", kafka.bootstrap, "dlq", "list", "registration", "--json"]) == 0
    rows = {row["event id"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(letters) <= set(rows)
    assert rows[f"{marker}-name"]["error"].startswith("[/] invalid \x1b]8")
    assert [rows[event_id]["replayable"] for event_id in letters] == ["no", "no", "yes"]

    assert main(["--bootstrap", kafka.bootstrap, "dlq", "list", "registration"]) == 0
    table = capsys.readouterr().out
    assert "[/] invalid" in table
    assert "\x1b]8" not in table

    ids = [rows[event_id]["id"] for event_id in letters if not event_id.endswith("plain")]
    assert main(["--bootstrap", kafka.bootstrap, "dlq", "replay", "registration", *(f"--id={i}" for i in ids)]) == 1
    out = capsys.readouterr().out
    assert f"skipped {ids[0]}: it cannot be put back as it was: a header name is not UTF-8" in out
    assert f"skipped {ids[1]}: 'cercle.deadletter.sessions' is not a topic Cercle's services consume" in out
    assert "replayed" not in out
