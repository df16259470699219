"""Whatever a record on a consumed topic holds, the consumer applies it or dead-letters it: nothing escapes.

Every record of the table below is malformed in one way; each is followed by a valid event, as on a
partition. The same table runs against every service on the real broker in tests/integration.
"""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser
from sqlalchemy import select

from cercle_shared.contracts import CATALOG, topics
from cercle_shared.contracts import registration as r
from cercle_shared.messaging import Envelope, IdempotentConsumer, Record, Subscriptions
from cercle_shared.messaging.consumer import DEAD_LETTER_MAX_VALUE
from cercle_shared.messaging.envelope import InvalidMessage
from cercle_shared.messaging.runtime import _raw_records
from cercle_shared.messaging.undecodable import UnreadableRecord, is_undecodable, read_leniently
from cercle_shared.uow import UnitOfWork

MEMBERS = topics.MEMBERS.name
CONTACTS = topics.MEMBER_CONTACTS.name


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def __call__(self, topic, key, value, headers):
        self.sent.append((topic, key, value, headers))


def _consumer(database, dlq: Recorder, *, tombstones: bool = True) -> IdempotentConsumer:
    db_factory, tables, effects = database

    def handler(event, uow, ctx):
        uow.db.execute(effects.insert().values(member_id=event.member_id))

    subs = Subscriptions().on(r.MemberRegistered, handler).on(r.MemberContactChanged, handler)
    if tombstones:
        subs.on_tombstone(CONTACTS, lambda key, uow, ctx: None)
    return IdempotentConsumer(
        name="test",
        uow_factory=lambda: UnitOfWork(db_factory),
        tables=tables,
        subscriptions=subs,
        dead_letter_topic="dlq",
        publish_dead_letter=dlq,
        max_attempts=2,
        backoff_initial=0.001,
    )


def _applied(database) -> list[str]:
    db_factory, _, effects = database
    with db_factory() as db:
        return list(db.scalars(select(effects.c.member_id).order_by(effects.c.id)))


def _valid(member_id: str) -> tuple[bytes, bytes, dict[str, bytes]]:
    event = r.MemberRegistered(member_id=member_id, language="fr", registered_at=datetime.now(UTC))
    key, value, headers = Envelope.wrap(event, source="/t").to_kafka()
    return key, value, {k: v.encode() for k, v in headers.items()}


def _without(headers: dict[str, bytes], *names: str) -> dict[str, bytes]:
    return {k: v for k, v in headers.items() if k not in names}


def _hostile() -> list[tuple[str, str, bytes | None, bytes | None, dict[str, bytes | None]]]:
    """(name, topic, key, value, headers) of records that are not Cercle events."""
    key, value, h = _valid("bad")
    contact_type = CATALOG.for_event(r.MemberContactChanged).type.encode()  # an event of the contacts topic
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("non-UTF-8 key", MEMBERS, b"\xff\xfe", value, h),
        ("non-UTF-8 header value", MEMBERS, key, value, {**h, "trace": b"\xff\xfe"}),
        ("non-UTF-8 ce_type", MEMBERS, key, value, {**h, "ce_type": b"\xff"}),
        ("header without a value", MEMBERS, key, value, {**h, "trace": None}),
        ("non-UTF-8 value", MEMBERS, key, b"\xff\xfe\xfd", h),
        ("value not JSON", MEMBERS, key, b"{nope", h),
        ("value a JSON list", MEMBERS, key, b"[1, 2]", h),
        ("value nested too deep", MEMBERS, key, deep, h),
        ("empty value", MEMBERS, key, b"", h),
        ("no value on a topic that is not compacted", MEMBERS, key, None, h),
        ("tombstone without a key", CONTACTS, None, None, {}),
        ("no headers", MEMBERS, key, value, {}),
        ("ce_specversion missing", MEMBERS, key, value, _without(h, "ce_specversion")),
        ("ce_specversion 0.3", MEMBERS, key, value, {**h, "ce_specversion": b"0.3"}),
        ("ce_specversion unknown", MEMBERS, key, value, {**h, "ce_specversion": b"9.9"}),
        ("ce_id missing", MEMBERS, key, value, _without(h, "ce_id")),
        ("ce_id empty", MEMBERS, key, value, {**h, "ce_id": b""}),
        ("ce_id too long", MEMBERS, key, value, {**h, "ce_id": b"x" * 1000}),
        ("ce_id with a NUL", MEMBERS, key, value, {**h, "ce_id": b"a\x00b"}),
        ("ce_source missing", MEMBERS, key, value, _without(h, "ce_source")),
        ("ce_type missing", MEMBERS, key, value, _without(h, "ce_type")),
        ("ce_type unknown", MEMBERS, key, value, {**h, "ce_type": b"org.cercle.nothing.v1"}),
        ("ce_type of another topic", MEMBERS, key, value, {**h, "ce_type": contact_type}),
        ("ce_time not a time", MEMBERS, key, value, {**h, "ce_time": b"yesterday"}),
        ("ce_time without a zone", MEMBERS, key, value, {**h, "ce_time": b"2024-01-01T00:00:00"}),
        ("ce_time in year 9999", MEMBERS, key, value, {**h, "ce_time": b"9999-12-31T23:59:59+00:00"}),
        ("ce_correlationid multi-line", MEMBERS, key, value, {**h, "ce_correlationid": b"a\r\nb"}),
        ("content-type not JSON", MEMBERS, key, b"hello", {**h, "content-type": b"text/plain"}),
        ("content-type missing", MEMBERS, key, value, _without(h, "content-type")),
        ("payload of the wrong shape", MEMBERS, key, json.dumps({"member_id": 3}).encode(), h),
        ("key too long", MEMBERS, b"k" * 5000, value, h),
    ]


HOSTILE = _hostile()


@pytest.mark.parametrize(("name", "topic", "key", "value", "headers"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_a_hostile_record_is_dead_lettered_and_the_next_event_applied(database, name, topic, key, value, headers):
    dlq = Recorder()
    consumer = _consumer(database, dlq)
    bad = Record(topic, 0, 10, key, value, headers)
    next_key, next_value, next_headers = _valid("next")
    asyncio.run(consumer.handle(bad))
    asyncio.run(consumer.handle(Record(MEMBERS, 0, 11, next_key, next_value, next_headers)))
    assert len(dlq.sent) == 1, f"{name}: not dead-lettered"
    dlq_topic, _, _, dlq_headers = dlq.sent[0]
    assert dlq_topic == "dlq"
    assert dlq_headers["dlq_offset"] == "10"
    assert dlq_headers["dlq_attempts"] == "0"  # poison: never retried
    assert dlq_headers["dlq_error"]
    assert all(isinstance(v, str) for v in dlq_headers.values())
    assert _applied(database) == ["next"]


def test_a_tombstone_on_a_compacted_topic_without_a_handler_is_skipped(database):
    dlq = Recorder()
    asyncio.run(_consumer(database, dlq, tombstones=False).handle(Record(CONTACTS, 0, 1, b"m-1", None, {})))
    assert dlq.sent == []


def test_a_valid_event_with_text_headers_and_fields_of_its_own_is_applied(database):
    # Unknown fields and extra text headers are how a producer evolves compatibly: they are no poison.
    dlq = Recorder()
    key, value, headers = _valid("ok")
    value = json.dumps({**json.loads(value), "added_later": 1}).encode()
    asyncio.run(_consumer(database, dlq).handle(Record(MEMBERS, 0, 1, key, value, {**headers, "traceparent": b"00-x"})))
    assert dlq.sent == []
    assert _applied(database) == ["ok"]


def test_a_huge_record_is_dead_lettered_cut_to_a_size_the_broker_takes(database):
    dlq = Recorder()
    _, _, headers = _valid("huge")
    huge = b'{"member_id": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    headers = {**headers, **{f"h{n}": b"y" * 100_000 for n in range(50)}}
    asyncio.run(_consumer(database, dlq).handle(Record(MEMBERS, 0, 1, b"k" * 100_000, huge, headers)))
    _, dlq_key, dlq_value, dlq_headers = dlq.sent[0]
    size = len(dlq_key) + len(dlq_value) + sum(len(k) + len(v.encode()) for k, v in dlq_headers.items())
    assert size < 1_000_000  # under the broker's default message.max.bytes (1 MiB), headers included
    assert len(dlq_value) <= DEAD_LETTER_MAX_VALUE
    assert dlq_headers["dlq_value_bytes"] == str(len(huge))
    assert dlq_headers["dlq_value_truncated"] == "true"
    assert len(dlq_headers["dlq_value_sha256"]) == 64
    assert int(dlq_headers["dlq_headers_dropped"]) > 0


def test_a_record_the_kafka_client_could_not_unpack_is_dead_lettered(database):
    dlq = Recorder()
    placeholder = Record(MEMBERS, 2, 40, None, None, {}, unreadable="a header name is not UTF-8")
    asyncio.run(_consumer(database, dlq).handle(placeholder))
    assert "a header name is not UTF-8" in dlq.sent[0][3]["dlq_error"]
    assert dlq.sent[0][3]["dlq_partition"] == "2"


def test_a_record_header_cannot_forge_the_dead_letter_headers(database):
    dlq = Recorder()
    key, value, headers = _valid("x")
    forged = {**headers, "dlq_error": b"nothing wrong", "ce_id": b""}
    asyncio.run(_consumer(database, dlq).handle(Record(MEMBERS, 0, 9, key, value, forged)))
    assert "ce_id" in dlq.sent[0][3]["dlq_error"]


def test_the_envelope_refuses_what_the_cloudevents_sdk_would_let_through():
    key, value, headers = _valid("m")
    # The SDK invents an id when ce_id is missing (a redelivery would then be applied twice) and takes a record
    # without ce_specversion for 1.0.
    for name in ("ce_id", "ce_specversion"):
        with pytest.raises(InvalidMessage, match=name):
            Envelope.from_kafka(key, value, _without(headers, name))


def test_the_kafka_clients_header_name_error_is_recognised():
    from aiokafka.errors import CorruptRecordException

    assert is_undecodable(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))  # the C extension
    assert is_undecodable(CorruptRecordException("Found invalid record structure: UnicodeDecodeError(...)"))
    assert not is_undecodable(CorruptRecordException("Invalid CRC"))
    assert not is_undecodable(RuntimeError("x"))


def _consumer_record(offset: int, headers):
    from aiokafka import ConsumerRecord

    return ConsumerRecord(MEMBERS, 0, offset, 0, 0, b"k", b"v", None, 1, 1, headers)


def test_faststreams_parser_is_shown_no_header_and_the_raw_records_are_kept():
    batch = (_consumer_record(1, [("trace", b"\xff\xfe")]), _consumer_record(2, [("reply_to", b"elsewhere")]))
    parser = AioKafkaBatchParser(KafkaAckableMessage, None)
    with pytest.raises(UnicodeDecodeError):  # FastStream's own parser loses the whole batch
        asyncio.run(parser.parse_batch(batch))
    message = asyncio.run(_raw_records(batch, parser.parse_batch))
    assert message.raw_message is batch  # the records, headers and all, reach IdempotentConsumer
    assert message.reply_to == ""  # FastStream never acts on a record's headers
    assert [m.offset for m in message.raw_message] == [1, 2]


def test_an_unreadable_record_placeholder_carries_only_its_position():
    placeholder = UnreadableRecord(MEMBERS, 1, 7, -1, 0, None, None, None, -1, -1, (), reason="r")
    assert (placeholder.topic, placeholder.partition, placeholder.offset, placeholder.reason) == (MEMBERS, 1, 7, "r")


class _RawName(str):
    """A header name that goes on the wire as bytes that are not UTF-8 (as a Go or C producer may send)."""

    def encode(self, *args, **kwargs):
        return b"\xff\xfe"


def _raw_batch(compression: int = 0) -> bytes:
    from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

    builder = _DefaultRecordBatchBuilderPy(
        magic=2,
        compression_type=compression,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1_000_000,
    )
    builder.append(0, timestamp=None, key=b"k0", value=b"v0", headers=[("trace", b"t")])
    builder.append(1, timestamp=None, key=b"k1", value=b"v1", headers=[(_RawName("x"), b"h")])
    builder.append(2, timestamp=None, key=b"k2", value=b"v2", headers=[])
    return bytes(builder.build())


@pytest.mark.parametrize("compression", [0, 1], ids=["plain", "gzip"])
def test_the_kafka_client_cannot_unpack_a_header_name_that_is_not_utf8_but_the_lenient_reader_can(compression):
    from aiokafka import TopicPartition
    from aiokafka.record.memory_records import MemoryRecords

    raw = _raw_batch(compression)
    batch = MemoryRecords(raw).next_batch()
    with pytest.raises(Exception) as raised:  # aiokafka's own reader: the rest of the batch is unreadable too
        list(batch)
    assert is_undecodable(raised.value)

    tp = TopicPartition(MEMBERS, 0)
    records = read_leniently(tp, raw, start=0)
    assert [(r.offset, r.key, r.value) for r in records] == [(0, b"k0", b"v0"), (1, b"k1", b"v1"), (2, b"k2", b"v2")]
    assert [isinstance(r, UnreadableRecord) for r in records] == [False, True, False]
    assert records[0].headers == (("trace", b"t"),)
    assert records[1].headers == (("\ufffd\ufffd", b"h"),)  # printable, for the dead letter
    assert [r.offset for r in read_leniently(tp, raw, start=2)] == [2]
    assert read_leniently(tp, raw[:-5], start=0) == []  # a batch cut short waits for the next fetch
