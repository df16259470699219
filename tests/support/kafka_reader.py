"""Read what services published, straight from the real broker."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from kafka import KafkaConsumer

from cercle_shared.messaging.envelope import Envelope


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
        self._consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=f"reader-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=200,
        )
        self.records: list[Published] = []

    def poll(self) -> list[Published]:
        batch = self._consumer.poll(timeout_ms=200)
        for records in batch.values():
            for r in records:
                self.records.append(
                    Published(r.topic, r.key.decode(errors="replace") if r.key else None, r.value, dict(r.headers))
                )
        return self.records

    def wait_for(self, predicate, timeout: float = 30.0, message: str = "records"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            result = predicate(self.records)
            if result:
                return result
        raise TimeoutError(f"timed out waiting for {message}; read {[r.type for r in self.records]}")

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
