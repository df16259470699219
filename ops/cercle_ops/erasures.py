"""The erasures a restore re-applies: every MemberErased record of the members topic (kept forever, never compacted:
the one record of an erasure that outlives every database), read as the admin principal from the beginning up to
the end offsets seen at the start. Services read nothing from Kafka for it (registration may not even read that
topic): each restored service gets these records as a file (cercle_shared.erasures)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaConsumer, TopicPartition

from cercle_shared import erasures
from cercle_shared.messaging import Record
from cercle_shared.messaging.security import kafka_python_config
from cercle_shared.settings import KafkaSettings


def read(settings: KafkaSettings, *, timeout: float = 120.0) -> list[Record]:
    """Every MemberErased record on the members topic, in each partition's order. Raises (TimeoutError, or the
    client's error) rather than return a partial list: a restore must not start the service on fewer erasures."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="cercle-ops-restore",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_python_config(settings),
    )
    try:
        found = consumer.partitions_for_topic(erasures.TOPIC)
        if not found:
            raise LookupError(f"no topic {erasures.TOPIC} on the broker: were the topics created?")
        partitions = [TopicPartition(erasures.TOPIC, p) for p in sorted(found)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[Record] = []
        remaining = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{erasures.TOPIC}: not read to its end within {timeout:.0f}s")
            for tp, batch in consumer.poll(timeout_ms=1000, max_records=5000).items():
                for r in batch:
                    if r.offset < ends[tp] and erasures.is_erasure(r.headers or ()):
                        records.append(
                            Record(
                                topic=r.topic,
                                partition=r.partition,
                                offset=r.offset,
                                key=r.key,
                                value=r.value,
                                headers={str(name): value for name, value in (r.headers or ())},
                            )
                        )
            for tp in list(remaining):
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        consumer.close()


def from_outbox(rows: Iterable[dict[str, object]]) -> list[Record]:
    """MemberErased rows registration committed but had not published when it was stopped (its relay is stopped
    too): the restore is about to overwrite them, so they are re-applied with the others (registration publishes
    them again, with new ids). `rows`: event_id, key, value, headers, as the outbox holds them."""
    records: list[Record] = []
    for row in rows:
        headers = row.get("headers") or {}
        assert isinstance(headers, dict)
        value = row.get("value")
        records.append(
            Record(
                topic=erasures.TOPIC,
                partition=-1,
                offset=-1,
                key=str(row["key"]).encode(),
                value=None if value is None else str(value).encode(),
                headers={str(name): str(text).encode() for name, text in headers.items()},
            )
        )
    return records


def to_file(records: Iterable[Record]) -> bytes:
    return "".join(erasures.to_line(record) + "\n" for record in records).encode()
