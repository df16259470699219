"""The erasures a restore re-applies: every MemberErased record of the members topic (kept forever, never compacted:
the one record of an erasure that outlives every database), read as the admin principal from the beginning up to
the end offsets seen at the start. Services read nothing from Kafka for it (registration may not even read that
topic): each restored service gets these records as a file (cercle_shared.erasures)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from cercle_shared import erasures
from cercle_shared.messaging import Envelope, InvalidMessage, Record
from cercle_shared.messaging.security import aiokafka_config
from cercle_shared.messaging.undecodable import UnreadableRecord, as_record, drain_leniently
from cercle_shared.settings import KafkaSettings


def read(settings: KafkaSettings, *, timeout: float = 120.0) -> list[Record]:
    """Every MemberErased record on the members topic, in each partition's order. Raises (TimeoutError, or the
    client's error) rather than return a partial list: a restore must not start the service on fewer erasures."""
    return asyncio.run(_read(settings, timeout))


async def _read(settings: KafkaSettings, timeout: float) -> list[Record]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="cercle-ops-restore",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **aiokafka_config(settings),
    )
    try:
        await consumer.start()  # inside: a start that fails still closes what it opened
        found = (await consumer._client.fetch_all_metadata()).partitions_for_topic(erasures.TOPIC)
        if not found:
            raise LookupError(f"no topic {erasures.TOPIC} on the broker: were the topics created?")
        partitions = [TopicPartition(erasures.TOPIC, p) for p in sorted(found)]
        consumer.assign(partitions)
        beginning = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, beginning[tp])
        records: list[Record] = []
        remaining = {tp for tp in partitions if beginning[tp] < ends[tp]}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{erasures.TOPIC}: not read to its end within {timeout:.0f}s")
            # Read leniently: a hostile record the client cannot unpack (a header name that is not UTF-8) must not
            # stop a restore; the services dead-lettered it and never applied it, so it is passed over here too.
            for tp, batch in (await drain_leniently(consumer, remaining, limit=5000)).items():
                for r in batch:
                    if r.offset < ends[tp] and not isinstance(r, UnreadableRecord) and erasures.is_erasure(r.headers):
                        record = as_record(r)
                        if _valid(record):
                            records.append(record)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def _valid(record: Record) -> bool:
    """A Cercle event as the services read it (UTF-8 throughout, CloudEvents, a JSON object): anything else on the
    topic, even named MemberErased, was dead-lettered by them and is passed over (it could not be written as text)."""
    try:
        Envelope.from_kafka(record.key, record.value, record.headers)
    except InvalidMessage:
        return False
    return True


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
