"""Consumer-group lag per topic and dead-letter counts, from the broker's offsets (kafka-python admin)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from cercle_shared.contracts.topics import SERVICES, dead_letter_topic


@dataclass(frozen=True, order=True)
class TopicLag:
    group: str
    topic: str
    lag: int
    partitions: int


def lag_by_topic(
    group: str,
    committed: Mapping[TopicPartition, int | None],
    ends: Mapping[TopicPartition, int],
    starts: Mapping[TopicPartition, int],
) -> list[TopicLag]:
    """Records not yet consumed, per topic: end offset minus the committed one (or minus the log start for a
    partition the group never committed, which it will read from the beginning)."""
    totals: dict[str, list[int]] = {}
    for tp, end in ends.items():
        position = committed.get(tp)
        if position is None or position < 0:
            position = starts.get(tp, 0)
        entry = totals.setdefault(tp.topic, [0, 0])
        entry[0] += max(0, end - position)
        entry[1] += 1
    return sorted(TopicLag(group, topic, lag, partitions) for topic, (lag, partitions) in totals.items())


def _offsets(admin: KafkaAdminClient, partitions: list[TopicPartition], spec: OffsetSpec) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    found = admin.list_partition_offsets(dict.fromkeys(partitions, spec))
    return {tp: result.offset for tp, result in found.items()}


def _partitions(admin: KafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    described = admin.describe_topics(topics)
    return [
        TopicPartition(topic["name"], partition["partition_index"])
        for topic in described
        if not topic.get("error_code")
        for partition in topic["partitions"]
    ]


def group_lags(admin: KafkaAdminClient, groups: list[str]) -> list[TopicLag]:
    """Lag of each group on every topic it has committed offsets for."""
    if not groups:
        return []
    committed_by_group = admin.list_group_offsets(dict.fromkeys(groups))
    result: list[TopicLag] = []
    for group in groups:
        committed = {tp: meta.offset for tp, meta in (committed_by_group.get(group) or {}).items()}
        topics = sorted({tp.topic for tp in committed})
        partitions = _partitions(admin, topics)
        ends = _offsets(admin, partitions, OffsetSpec.LATEST)
        starts = _offsets(admin, partitions, OffsetSpec.EARLIEST)
        result += lag_by_topic(group, committed, ends, starts)
    return result


def consumer_groups(admin: KafkaAdminClient) -> list[str]:
    """Cercle's consumer groups (cercle-<service> or a deployment's own) and partners' (partner.<org>.…)."""
    return sorted(str(group["group_id"]) for group in admin.list_groups())


def dead_letter_counts(admin: KafkaAdminClient, services: tuple[str, ...] = SERVICES) -> dict[str, int]:
    """Records held on each service's dead-letter topic (kept 30 days)."""
    names = [dead_letter_topic(service).name for service in services]
    partitions = _partitions(admin, names)
    ends = _offsets(admin, partitions, OffsetSpec.LATEST)
    starts = _offsets(admin, partitions, OffsetSpec.EARLIEST)
    counts = dict.fromkeys(services, 0)
    for service, name in zip(services, names, strict=True):
        counts[service] = sum(ends[tp] - starts.get(tp, 0) for tp in ends if tp.topic == name)
    return counts
