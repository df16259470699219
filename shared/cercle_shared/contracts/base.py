"""What every integration event and every topic is made of."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class IntegrationEvent(BaseModel):
    """Payload (CloudEvents `data`) of an event that crosses a service boundary.

    Events are immutable facts, named in the past tense. Unknown fields are
    ignored on the way in so that an additive, backward-compatible change of
    a producer never breaks an older consumer.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")


class Visibility(StrEnum):
    PARTNER = "partner"  # may be relayed to partner organizations: never a name or an email
    INTERNAL = "internal"  # stays inside Cercle's own services


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    visibility: Visibility
    description: str
    retention_ms: int | None = None  # None: the broker's default; -1: forever
    compacted: bool = False
    extra_config: dict[str, str] = field(default_factory=dict)
    personal_data: bool = False  # names or emails travel here: a dead letter keeps only a digest of a record

    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None:
            config["retention.ms"] = str(self.retention_ms)
        config.update(self.extra_config)
        return config


@dataclass(frozen=True)
class EventSpec:
    """One row of the event catalog: a CloudEvents type, its topic, key and payload model."""

    type: str
    model: builtins.type[IntegrationEvent]  # `type` alone would name the field above
    topic: TopicSpec
    key: str  # the payload field whose value is the Kafka key (and the CloudEvents subject)
    description: str = ""

    def key_of(self, event: IntegrationEvent) -> str:
        return str(getattr(event, self.key))

    @property
    def partner_visible(self) -> bool:
        return self.topic.visibility is Visibility.PARTNER

    def json_schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:cercle:event:{self.type}"
        schema["x-cercle-topic"] = self.topic.name
        schema["x-cercle-key"] = self.key
        return schema
