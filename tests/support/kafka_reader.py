"""Read what services published, straight from the real broker.

The session's broker is shared by every test, and a topic may hold what another test left on it, such as the
hostile records of tests/integration/test_hostile_records.py: one has a header *name* that is not UTF-8, which
kafka-python cannot unpack (CorruptRecordError on every poll, for ever). A TopicReader reads header names
leniently instead (an undecodable byte written as \\xff), so that such a record is read like any other, and a
test that looks for its own keys never fails on another test's records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import SupportsIndex

from kafka import KafkaConsumer, TopicPartition
from kafka.record.default_records import DefaultRecordBatch

from cercle_shared.messaging.envelope import Envelope


class _LenientSlice(bytearray):
    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return super().decode(encoding, "backslashreplace")  # a str kafka-python can encode again


class _LenientBuffer(bytearray):
    """kafka-python decodes a header name as `buffer[a:b].decode("utf-8")`: here that slice decodes leniently."""

    def __getitem__(self, index: SupportsIndex | slice):
        item = super().__getitem__(index)
        return _LenientSlice(item) if isinstance(index, slice) else item


_lenient = threading.local()  # set only while a TopicReader polls: other kafka-python consumers stay strict
_strict_uncompress = DefaultRecordBatch._maybe_uncompress


def _maybe_uncompress(self) -> None:
    _strict_uncompress(self)
    if getattr(_lenient, "active", False) and not isinstance(self._buffer, _LenientBuffer):
        self._buffer = _LenientBuffer(self._buffer)


DefaultRecordBatch._maybe_uncompress = _maybe_uncompress


@contextmanager
def lenient_header_names() -> Iterator[None]:
    """While inside, kafka-python consumers polled by this thread read a header name that is not UTF-8."""
    _lenient.active = True
    try:
        yield
    finally:
        _lenient.active = False


@dataclass(frozen=True)
class Published:
    topic: str
    key: str | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def envelope(self) -> Envelope:
        return Envelope.from_kafka(self.key.encode() if self.key else None, self.value, self.headers)

    @property
    def type(self) -> str | None:
        raw = self.headers.get("ce_type")
        return raw.decode() if raw else None


class TopicReader:
    """Reads topics from the beginning; `wait_for` polls until a predicate holds over what was read."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._topics = topics
        # No consumer group: the partitions are assigned here, so no join or sync with a coordinator can hold the
        # reader back (under load one stalled for a minute after its SyncGroup request).
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=200,
        )
        self.records: list[Published] = []

    def _assign(self) -> None:
        """Assign every partition of the topics that exists by now (a topic created later is taken at a later poll)."""
        wanted = {TopicPartition(t, p) for t in self._topics for p in self._consumer.partitions_for_topic(t) or ()}
        assigned = set(self._consumer.assignment())
        if not wanted - assigned:
            return
        kept = {tp: self._consumer.position(tp) for tp in assigned}  # where the reader was
        self._consumer.assign(sorted(wanted | assigned))
        self._consumer.seek_to_beginning(*sorted(wanted - assigned))
        for tp, offset in kept.items():
            self._consumer.seek(tp, offset)

    def poll(self) -> list[Published]:
        self._assign()
        if not self._consumer.assignment():  # none of the topics exists yet
            time.sleep(0.2)
            return self.records
        with lenient_header_names():
            batch = self._consumer.poll(timeout_ms=200)
        for records in batch.values():
            for r in records:
                self.records.append(
                    Published(r.topic, r.key.decode(errors="replace") if r.key else None, r.value, dict(r.headers))
                )
        return self.records

    def wait_for(self, predicate, timeout: float = 60.0, message: str = "records"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            result = predicate(self.records)
            if result:
                return result
        raise TimeoutError(f"timed out waiting for {message}; read {[r.type for r in self.records]}")

    def read_to_end(self, timeout: float = 60.0) -> list[Published]:
        """Poll until every partition of the topics is read up to its end as of this call; return what was read."""
        partitions = [TopicPartition(t, p) for t in self._topics for p in self._consumer.partitions_for_topic(t) or ()]
        ends = self._consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            assigned = self._consumer.assignment()
            if all(end == 0 or (tp in assigned and self._consumer.position(tp) >= end) for tp, end in ends.items()):
                return self.records
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out reading {sorted(self._topics)} to their end")

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
