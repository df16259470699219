"""CloudEvents 1.0 in the Kafka protocol binding (binary content mode), via the CloudEvents SDK.

Attributes travel as `ce_*` headers, the payload as the JSON value, the partition key as the
Kafka key (and the `partitionkey` extension). Correlation and causation ids are extensions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from ..contracts import CATALOG, EventCatalog, IntegrationEvent

JSON = "application/json"


class InvalidMessage(ValueError):
    """A Kafka record that is not a valid Cercle event: retrying will not help."""


@dataclass(frozen=True)
class Envelope:
    type: str
    source: str
    subject: str
    key: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    causation_id: str | None = None

    @classmethod
    def wrap(
        cls,
        event: IntegrationEvent,
        *,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        catalog: EventCatalog = CATALOG,
    ) -> Envelope:
        spec = catalog.for_event(event)
        key = spec.key_of(event)
        return cls(
            type=spec.type,
            source=source,
            subject=key,
            key=key,
            data=event.model_dump(mode="json"),
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

    def to_kafka(self) -> tuple[bytes, bytes, dict[str, str]]:
        """(key, value, headers) ready for a producer."""
        attributes: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "subject": self.subject,
            "datacontenttype": JSON,
            "partitionkey": self.key,
        }
        if self.correlation_id:
            attributes["correlationid"] = self.correlation_id
        if self.causation_id:
            attributes["causationid"] = self.causation_id
        message = ce_kafka.to_binary_event(CloudEvent(attributes, self.data))
        headers = {name: value.decode() for name, value in message.headers.items()}
        return self.key.encode(), message.value, headers

    @classmethod
    def from_kafka(cls, key: bytes | None, value: bytes | None, headers: dict[str, bytes]) -> Envelope:
        if value is None:
            raise InvalidMessage("a tombstone is not an event")
        try:
            event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(headers=headers, key=key, value=value))
        except Exception as exc:  # the SDK raises several kinds; all mean "not a CloudEvent"
            raise InvalidMessage(f"not a CloudEvent in the Kafka binary binding: {exc}") from exc
        data = event.get_data()
        if not isinstance(data, dict):
            raise InvalidMessage("event data is not a JSON object")
        time = event.get_time() or datetime.now(UTC)
        return cls(
            id=event.get_id(),
            type=event.get_type(),
            source=event.get_source(),
            subject=event.get_subject() or "",
            key=key.decode() if key else "",
            data=data,
            time=time,
            correlation_id=event.get_extension("correlationid"),
            causation_id=event.get_extension("causationid"),
        )

    def payload(self, catalog: EventCatalog = CATALOG) -> IntegrationEvent:
        spec = catalog.find_type(self.type)
        if spec is None:
            raise InvalidMessage(f"unknown event type {self.type!r}")
        try:
            return spec.model.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidMessage(f"{self.type}: payload does not match its schema: {exc}") from exc
