"""Records the Kafka client itself cannot read, stepped over instead of stalling the consumer.

aiokafka decodes every header *name* as strict UTF-8 while it unpacks a fetched batch (its C extension
raises a bare UnicodeDecodeError, its pure-Python reader a CorruptRecordException). The broker stores
such a record as it was sent (a header name is raw bytes on the wire: a Go or C producer can send any),
so every fetch of that partition fails at the same place: `getmany` raises for the whole consumer, and
FastStream's consume loop either dies (UnicodeDecodeError is not a KafkaError) or retries it every 5 s
forever, with every partition of the subscriber held back.

Here the batch subscriber's `get_msg` catches that error, finds the partition whose records failed
(from the client's fetch buffer), re-reads the good records before the undecodable one one at a time
(the client stops before it), and moves past it. The undecodable record is handed on as an
`UnreadableRecord` placeholder (no key, no value: the client cannot give them) for the consumer to
dead-letter, so it is accounted for like any other poison record. On a compacted topic an offset may be
missing (compacted away) between the last good record and the bad one; the placeholder then names the
first offset after the last good record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CorruptRecordException
from faststream.kafka.subscriber.usecase import BatchSubscriber

log = logging.getLogger(__name__)

REREAD_TIMEOUT_MS = 5000


@dataclass
class UnreadableRecord(ConsumerRecord[Any, Any]):  # type: ignore[misc]
    """Stands for a record the Kafka client could not unpack: only its position is known."""

    reason: str = ""


def is_undecodable(exc: BaseException) -> bool:
    """The client's error for a record it cannot unpack because a header name is not UTF-8."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, CorruptRecordException) and "UnicodeDecodeError" in str(exc)


def failed_partition(consumer: Any) -> tuple[TopicPartition, int] | None:
    """(partition, first offset not yet read) of the fetched records whose unpacking raised, if any.

    Reads aiokafka's fetch buffer: a partition's record generator that raised is finished but still
    referenced (one that ran out normally is dropped), and its `next_fetch_offset` is just past the last
    record it yielded."""
    fetcher = getattr(consumer, "_fetcher", None)
    for tp, result in list(getattr(fetcher, "_records", {}).items()):
        records = getattr(result, "_partition_records", None)
        iterator = getattr(records, "_records_iterator", None)
        if iterator is not None and getattr(iterator, "gi_frame", True) is None:
            return tp, int(records.next_fetch_offset)  # type: ignore[union-attr]
    return None


async def step_over(consumer: Any, error: BaseException) -> tuple[ConsumerRecord[Any, Any], ...]:
    """The good records before the undecodable one, then its placeholder; the partition moves past it.
    An empty tuple when it cannot tell which record failed (the next fetch tries again)."""
    found = failed_partition(consumer)
    if found is None:
        log.error("the Kafka client could not unpack a record and its partition cannot be told: %s", error)
        await asyncio.sleep(1)
        return ()
    tp, failed_at = found
    start = await consumer.position(tp)
    consumer.seek(tp, start)
    good: list[ConsumerRecord[Any, Any]] = []
    position = start
    while position < failed_at:
        try:
            fetched = await consumer.getmany(tp, timeout_ms=REREAD_TIMEOUT_MS, max_records=1)
        except Exception as exc:
            if not is_undecodable(exc):
                raise
            break
        records = fetched.get(tp, [])
        if not records:  # not fetched again in time: give up this round, from where it started
            consumer.seek(tp, start)
            return ()
        good.extend(records)
        position = records[-1].offset + 1
    bad = await consumer.position(tp)
    consumer.seek(tp, bad + 1)
    reason = f"the Kafka client could not unpack this record ({type(error).__name__}: {error})"
    log.error("%s@%s/%s: %s; moving past it", tp.topic, tp.partition, bad, reason)
    placeholder = UnreadableRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=bad,
        timestamp=-1,
        timestamp_type=0,
        key=None,
        value=None,
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=-1,
        headers=(),
        reason=reason,
    )
    return (*good, placeholder)


class SteppingBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber, whose fetch steps over records the client cannot unpack."""

    __slots__ = ()

    async def get_msg(self, consumer: Any) -> tuple[ConsumerRecord[Any, Any], ...]:
        try:
            return await super().get_msg(consumer)
        except Exception as exc:
            if not is_undecodable(exc):
                raise
            return await step_over(consumer, exc)


def step_over_undecodable(subscriber: Any) -> bool:
    """Make a batch subscriber step over undecodable records (same object, same state: only its fetch
    changes). False when it is not FastStream's batch subscriber, which is left as it is."""
    if type(subscriber) is not BatchSubscriber:
        log.warning("%s is not FastStream's batch subscriber: undecodable records will not be stepped over", subscriber)
        return False
    with contextlib.suppress(TypeError):
        subscriber.__class__ = SteppingBatchSubscriber
        return True
    return False
