"""Records the Kafka client itself cannot unpack, read leniently instead of stalling (or losing) others.

aiokafka decodes every header *name* as strict UTF-8 while it unpacks a fetched batch (its C extension
raises a bare UnicodeDecodeError, its pure-Python reader a CorruptRecordException). The broker stores
such a record as it was sent (a header name is raw bytes on the wire: a Go or C producer can send any).
Then every fetch of that partition fails at the same place, and more: the records of the same producer
batch that follow it can never be read either (the client re-reads a batch from its start); `getmany`
raises for the whole consumer, and records it had already drained from *other* partitions in that call
are dropped while their positions have moved on (lost at the next commit); FastStream's consume loop dies
(UnicodeDecodeError is not a KafkaError) or, for the pure-Python reader, retries every 5 s forever.

So the batch subscriber here drains one partition at a time, and when a partition cannot be unpacked it
fetches that partition's raw bytes itself and reads them leniently (aiokafka's own record reader, with
header names decoded with `surrogateescape`): good records go on as usual, a record with an undecodable
header name goes on as an `UnreadableRecord` (key, value and headers kept, the name made printable) for
the consumer to dead-letter, and the partition moves past what was read.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, SupportsIndex

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CorruptRecordException, IllegalStateError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.default_records import _DefaultRecordBatchPy
from aiokafka.record.legacy_records import LegacyRecordBatch
from faststream.kafka.subscriber.usecase import BatchSubscriber

from .consumer import Record

log = logging.getLogger(__name__)

RAW_FETCH_MAX_BYTES = 8 * 1024 * 1024  # the broker sends at least one whole batch, whatever this says
RAW_FETCH_WAIT_MS = 500
DEFAULT_BATCH = 500


@dataclass
class UnreadableRecord(ConsumerRecord[Any, Any]):  # type: ignore[misc]
    """A record the Kafka client could not unpack, as read leniently; `reason` says what is wrong."""

    reason: str = ""


# After the call on every partition failed on a record it cannot unpack, aiokafka has dropped that fetch, and the call
# on the partition alone finds nothing (its fetch is under way again), every time: when the record was the first of a
# batch that call met first (a consumer caught up, the record first in a new batch), its partition would never move.
# So after such a failure, each partition that gave nothing is read leniently from its position (a raw fetch that
# does not wait: a partition with nothing to read costs a round trip).


def _read_if_first_call_failed(consumer: Any, tp: TopicPartition) -> Any:
    return read_past_undecodable(consumer, tp, wait_ms=0)


def is_undecodable(exc: BaseException) -> bool:
    """The client's error for a record it cannot unpack because a header name is not UTF-8."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, CorruptRecordException) and "UnicodeDecodeError" in str(exc)


class _LenientSlice(bytearray):
    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return super().decode(encoding, "surrogateescape")


class _LenientBuffer(bytearray):
    """A buffer whose slices decode leniently: aiokafka's reader decodes a header name as `buffer[a:b].decode()`."""

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        item = super().__getitem__(index)
        return _LenientSlice(item) if isinstance(index, slice) else item


class _LenientBatch(_DefaultRecordBatchPy):  # type: ignore[misc]
    def _maybe_uncompress(self) -> None:
        super()._maybe_uncompress()
        buffer: bytearray = self._buffer  # type: ignore[has-type]
        if not isinstance(buffer, _LenientBuffer):
            self._buffer = _LenientBuffer(buffer)


def read_leniently(tp: TopicPartition, raw: bytes, start: int) -> list[ConsumerRecord[Any, Any]]:
    """The records of a raw fetch response from offset `start` on, none refused for a header name."""
    records: list[ConsumerRecord[Any, Any]] = []
    pos = 0
    while pos + 17 <= len(raw):  # base offset (8), length (4), leader epoch (4), magic (1)
        length = struct.unpack_from(">i", raw, pos + 8)[0]
        end = pos + 12 + length
        if end > len(raw):
            break  # a batch cut at the end of the response: the next fetch brings it whole
        chunk, magic, pos = raw[pos:end], raw[pos + 16], end
        batch: Any = _LenientBatch(chunk) if magic >= 2 else LegacyRecordBatch(chunk, magic)
        if magic >= 2 and batch.is_control_batch:
            continue
        for record in batch:
            if record.offset >= start:
                records.append(_consumer_record(tp, record))
    return records


def _consumer_record(tp: TopicPartition, record: Any) -> ConsumerRecord[Any, Any]:
    headers = tuple(getattr(record, "headers", ()) or ())
    fields = (
        tp.topic,
        tp.partition,
        record.offset,
        record.timestamp,
        record.timestamp_type,
        record.key,
        record.value,
        getattr(record, "checksum", None),
        len(record.key) if record.key is not None else -1,
        len(record.value) if record.value is not None else -1,
    )
    try:
        for name, _ in headers:
            name.encode("utf-8")
    except UnicodeEncodeError:
        printable = tuple(
            (name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), v) for name, v in headers
        )
        return UnreadableRecord(
            *fields, printable, reason="a header name is not UTF-8 (the Kafka client cannot read it)"
        )
    return ConsumerRecord(*fields, headers)


async def _fetch_raw(consumer: Any, tp: TopicPartition, offset: int, wait_ms: int = RAW_FETCH_WAIT_MS) -> bytes | None:
    client = consumer._client
    node_id = client.cluster.leader_for_partition(tp)
    if node_id is None or node_id < 0:
        return None
    request = FetchRequest(
        wait_ms,
        1,
        RAW_FETCH_MAX_BYTES,
        0,  # read uncommitted, the consumer's own isolation level
        [(tp.topic, [(tp.partition, offset, RAW_FETCH_MAX_BYTES)])],
    )
    response = await client.send(node_id, request)
    for topic, partitions in response.topics:
        for partition, error_code, _highwater, *part_data in partitions:
            if (topic, partition) == (tp.topic, tp.partition) and error_code == 0:
                return bytes(part_data[-1])
    return None


async def read_past_undecodable(
    consumer: Any, tp: TopicPartition, *, wait_ms: int = RAW_FETCH_WAIT_MS
) -> list[ConsumerRecord[Any, Any]]:
    """Read `tp` from its position leniently, and move its position past what was read. `wait_ms`: how long the
    broker may wait for a first record when there is none at the position."""
    position = await consumer.position(tp)
    raw = await _fetch_raw(consumer, tp, position, wait_ms)
    records = read_leniently(tp, raw, position) if raw else []
    if records:
        consumer.seek(tp, records[-1].offset + 1)
        for record in records:
            if isinstance(record, UnreadableRecord):
                log.error("%s@%s/%s: %s", tp.topic, tp.partition, record.offset, record.reason)
    else:
        consumer.seek(tp, position)  # nothing read this time: the next fetch tries again from the same place
    return records


def as_record(record: ConsumerRecord[Any, Any]) -> Record:
    """A record as the consumer takes it (an unreadable one says why, for the consumer to dead-letter or skip it)."""
    return Record(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=dict(record.headers or ()),
        unreadable=record.reason if isinstance(record, UnreadableRecord) else None,
    )


async def drain_leniently(
    consumer: Any, partitions: Iterable[TopicPartition], *, limit: int, timeout_ms: int = 1000
) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
    """Up to `limit` records of `partitions` from an aiokafka consumer, for tools that read topics themselves (a
    rebuild, a restore): drained one partition at a time, so a partition the client cannot unpack is read
    leniently (its unreadable record comes as an `UnreadableRecord`) and cannot make the others' records drop."""
    wanted = sorted(partitions)
    fetched: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
    first_failed = False
    try:
        # Waits for data; draining at most one record, it can lose none of another partition.
        for tp, batch in (await consumer.getmany(*wanted, timeout_ms=timeout_ms, max_records=1)).items():
            fetched[tp] = list(batch)
    except Exception as exc:
        if not is_undecodable(exc):
            raise
        first_failed = True
    room = limit - sum(len(batch) for batch in fetched.values())
    for tp in wanted:
        if room <= 0:
            break
        try:
            batch = list((await consumer.getmany(tp, timeout_ms=0, max_records=room)).get(tp, ()))
        except Exception as exc:
            if not is_undecodable(exc):
                raise
            batch = await read_past_undecodable(consumer, tp)
        if not batch and first_failed:
            batch = await _read_if_first_call_failed(consumer, tp)
        fetched.setdefault(tp, []).extend(batch)
        room -= len(batch)
    return fetched


class LenientBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber, draining one partition at a time and reading leniently a partition
    that the Kafka client cannot unpack."""

    __slots__ = ()

    async def get_msg(self, consumer: Any) -> tuple[ConsumerRecord[Any, Any], ...]:
        limit = self.max_records or DEFAULT_BATCH
        records: list[ConsumerRecord[Any, Any]] = []
        first_failed = False
        try:
            # Waits for data like FastStream's; draining at most one record, it can lose none of another partition.
            first = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=1)
            records.extend(record for batch in first.values() for record in batch)
        except Exception as exc:
            if not is_undecodable(exc):
                raise
            first_failed = True
        for tp in sorted(consumer.assignment()):
            if len(records) >= limit:
                break
            try:
                fetched = (await consumer.getmany(tp, timeout_ms=0, max_records=limit - len(records))).get(tp, ())
                if not fetched and first_failed:
                    fetched = await _read_if_first_call_failed(consumer, tp)
                records.extend(fetched)
            except IllegalStateError:
                continue  # no longer assigned (a rebalance meanwhile)
            except Exception as exc:
                if not is_undecodable(exc):
                    raise
                records.extend(await read_past_undecodable(consumer, tp))
        return tuple(records)


def read_undecodable_leniently(subscriber: Any) -> bool:
    """Make a batch subscriber read leniently what the Kafka client cannot unpack (same object, same state:
    only its fetch changes). False when it is not FastStream's batch subscriber, which is left as it is."""
    if type(subscriber) is not BatchSubscriber:
        log.warning("%s is not FastStream's batch subscriber: undecodable records will stall it", subscriber)
        return False
    subscriber.__class__ = LenientBatchSubscriber
    return True
