"""Reading a topic to its end as a tool, leniently (cercle_shared.messaging.undecodable)."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from cercle_shared.messaging.undecodable import drain_leniently, read_past_undecodable


async def drain(consumer: Any, partitions: set[TopicPartition]) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
    """The next records of `partitions`, none of which is read to its end yet. When aiokafka cannot unpack the batch
    a partition's position is in, it says so only through the call on every partition, which drain_leniently passes
    over, and the call on that partition alone then finds nothing (its fetch is under way again): a partition whose
    first batch is unreadable would never be read. So when nothing came, each is read leniently here (a raw fetch
    from its position: right whatever the reason nothing came)."""
    fetched = await drain_leniently(consumer, partitions, limit=5000)
    if any(fetched.values()):
        return fetched
    return {tp: await read_past_undecodable(consumer, tp) for tp in sorted(partitions)}
