"""Dead letters: read them from `cercle.deadletter.<service>` with the error headers the consumer wrote
(cercle_shared.messaging.consumer: dlq_error, dlq_topic, dlq_partition, dlq_offset, dlq_attempts, ...), and put
chosen ones back on their original topic. Consumers apply an event once (by its ce_id), so a replay of an event
that was applied meanwhile changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer
from kafka.errors import KafkaError

from cercle_shared.contracts.topics import DOMAIN_TOPICS, dead_letter_topic
from cercle_shared.messaging.security import aiokafka_config, kafka_python_config
from cercle_shared.messaging.undecodable import drain_leniently
from cercle_shared.settings import KafkaSettings

REPLAYED_FROM = "cercle_replayed_from"
REPLAYABLE_TOPICS = frozenset(spec.name for spec in DOMAIN_TOPICS)  # never a dead-letter topic, never any other
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the time shown for a record whose own time is out of range


@dataclass(frozen=True)
class DeadLetter:
    id: str  # "<partition>-<offset>" on the dead-letter topic
    at: datetime
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    altered: str | None = None  # why the headers read are not byte for byte the record's, if they are not

    @property
    def error(self) -> str:
        return self.headers.get("dlq_error", "")

    @property
    def original_topic(self) -> str | None:
        return self.headers.get("dlq_topic")

    @property
    def original_position(self) -> str:
        return f"{self.headers.get('dlq_partition', '?')}/{self.headers.get('dlq_offset', '?')}"

    @property
    def attempts(self) -> str:
        return self.headers.get("dlq_attempts", "")

    @property
    def event_id(self) -> str | None:
        return self.headers.get("ce_id")

    @property
    def event_type(self) -> str | None:
        return self.headers.get("ce_type")

    def replay_refusal(self) -> str | None:
        """Why this record cannot be put back as it was, or None."""
        if not self.original_topic:
            return "no dlq_topic header: the original topic is unknown"
        if self.original_topic not in REPLAYABLE_TOPICS:
            return f"{self.original_topic!r} is not a topic Cercle's services consume"
        if self.altered:
            return f"it cannot be put back as it was: {self.altered}"
        if "dlq_value_withheld" in self.headers:
            return f"its value was withheld ({self.headers['dlq_value_withheld']}): only a digest was kept"
        if self.headers.get("dlq_value_truncated") == "true":
            return "its value was cut to fit the dead-letter topic"
        if "dlq_key_bytes" in self.headers:
            return "its key was cut to fit the dead-letter topic"
        if self.headers.get("dlq_headers_dropped"):
            return "some of its headers were dropped to fit the dead-letter topic"
        return None

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers (the dlq_ ones removed), plus where the replay came from."""
        kept = [(name, value.encode()) for name, value in self.headers.items() if not name.startswith("dlq_")]
        return [*kept, (REPLAYED_FROM, f"{self.headers.get('dlq_consumer', '')}:{self.id}".encode())]

    def matches(self, wanted: str) -> bool:
        return wanted in (self.id, self.event_id)


def parse(
    partition: int,
    offset: int,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[Any],
    unreadable: str | None = None,
) -> DeadLetter:
    """One dead-letter record as read from Kafka; header values as text (the consumer wrote them as text).
    `unreadable`: why the Kafka client could not read the record as it is (it was read leniently)."""
    decoded: dict[str, str] = {}
    lossy: list[str] = []
    for name, raw in headers:
        try:
            decoded[str(name)] = "" if raw is None else bytes(raw).decode()
        except UnicodeDecodeError:
            decoded[str(name)] = bytes(raw).decode(errors="replace")
            lossy.append(str(name))
    try:
        at = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):  # a producer sets a record's time: any 64-bit number
        at = EPOCH
    altered = unreadable or (f"header values that are not UTF-8 ({', '.join(lossy)})" if lossy else None)
    return DeadLetter(id=f"{partition}-{offset}", at=at, key=key, value=value, headers=decoded, altered=altered)


def read(settings: KafkaSettings, service: str, *, limit: int | None = None, timeout: float = 60.0) -> list[DeadLetter]:
    """Every dead letter the service's topic still holds (oldest first), without joining a consumer group. A record
    the Kafka client cannot unpack (a header name that is not UTF-8) is listed too, read leniently; the topic not
    read to its end within `timeout` raises TimeoutError rather than show part of it."""
    return asyncio.run(_read(settings, dead_letter_topic(service).name, service, timeout))[-limit if limit else 0 :]


async def _read(settings: KafkaSettings, topic: str, service: str, timeout: float) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="cercle-ops",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=int(min(timeout, 40) * 1000),
        **aiokafka_config(settings),
    )
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        found = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
        if not found:
            raise LookupError(f"no topic {topic}: is {service!r} a Cercle service, and were the topics created?")
        partitions = [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(partitions)
        beginning = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, beginning[tp])
        letters: list[DeadLetter] = []
        remaining = {tp for tp in partitions if beginning[tp] < ends[tp]}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout:.0f}s")
            for tp, batch in (await drain_leniently(consumer, remaining, limit=5000)).items():
                letters += [
                    parse(
                        r.partition, r.offset, r.timestamp, r.key, r.value, r.headers or (), getattr(r, "reason", None)
                    )
                    for r in batch
                    if r.offset < ends[tp]
                ]
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        letters.sort(key=lambda letter: (letter.at, letter.id))
        return letters
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class ReplayOutcome:
    letter: DeadLetter
    replayed: bool
    reason: str = ""


def choose(letters: list[DeadLetter], ids: Iterable[str]) -> tuple[list[DeadLetter], list[str]]:
    """The letters named by id (dead-letter position or event id) and the ids that name none."""
    wanted = list(ids)
    chosen = [letter for letter in letters if any(letter.matches(i) for i in wanted)]
    unknown = [i for i in wanted if not any(letter.matches(i) for letter in letters)]
    return chosen, unknown


def replay(settings: KafkaSettings, letters: Iterable[DeadLetter], *, timeout: float = 30.0) -> list[ReplayOutcome]:
    """Publish each replayable letter to its original topic with its original key, value and headers."""
    outcomes: list[ReplayOutcome] = []
    producer: KafkaProducer | None = None
    try:
        for letter in letters:
            refusal = letter.replay_refusal()
            if refusal:
                outcomes.append(ReplayOutcome(letter, False, refusal))
                continue
            if producer is None:
                producer = KafkaProducer(
                    bootstrap_servers=settings.kafka_bootstrap,
                    client_id="cercle-ops",
                    acks="all",
                    **kafka_python_config(settings),
                )
            assert letter.original_topic is not None
            try:
                producer.send(
                    letter.original_topic, key=letter.key, value=letter.value, headers=letter.replay_headers()
                ).get(timeout=timeout)
            except KafkaError as exc:
                outcomes.append(ReplayOutcome(letter, False, f"not sent: {type(exc).__name__}: {exc}"))
                continue
            outcomes.append(ReplayOutcome(letter, True))
    finally:
        if producer is not None:
            producer.close()
    return outcomes


def summary_rows(letters: Iterable[DeadLetter]) -> list[Mapping[str, str]]:
    return [
        {
            "id": letter.id,
            "at": letter.at.strftime("%Y-%m-%d %H:%M:%S"),
            "from": f"{letter.original_topic or '?'} {letter.original_position}",
            "type": letter.event_type or "-",
            "event id": letter.event_id or "-",
            "attempts": letter.attempts,
            "error": letter.error,
            "replayable": "yes" if letter.replay_refusal() is None else "no",
        }
        for letter in letters
    ]
