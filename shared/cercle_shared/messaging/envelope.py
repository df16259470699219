"""CloudEvents 1.0 in the Kafka protocol binding (binary content mode), via the CloudEvents SDK.

Attributes travel as `ce_*` headers, the payload as the JSON value, the partition key as the
Kafka key (and the `partitionkey` extension). Correlation and causation ids are extensions.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from ..contracts import CATALOG, EventCatalog, IntegrationEvent
from ..text import check_single_line

JSON = "application/json"


class InvalidMessage(ValueError):
    """A Kafka record that is not a valid Cercle event: retrying will not help."""


SPECVERSION = "1.0"
MAX_ATTRIBUTE = 200  # processed_events.event_id and the outbox's columns hold 200 characters
MAX_KEY = 200  # keys are aggregate ids
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def decode_key(key: bytes | None) -> str:
    """A record's key as text: UTF-8, single-line, bounded; InvalidMessage otherwise."""
    if not key:
        return ""
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"the key is not UTF-8: {exc}") from exc
    _check_attribute("key", text, required=False, limit=MAX_KEY)
    return text


def _header_text(name: str, raw: bytes | None) -> str:
    if raw is None:
        raise InvalidMessage(f"header {name[:80]!r} has no value")
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"header {name[:80]!r} is not UTF-8: {exc}") from exc


def _check_attribute(name: str, value: str | None, *, required: bool, limit: int = MAX_ATTRIBUTE) -> None:
    if value is None or value == "":
        if required:
            raise InvalidMessage(f"{name} is missing or empty")
        return
    if len(value) > limit:
        raise InvalidMessage(f"{name} is longer than {limit} characters")
    try:
        check_single_line(value)
    except ValueError as exc:
        raise InvalidMessage(f"{name}: {exc}") from exc


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
    def from_kafka(cls, key: bytes | None, value: bytes | None, headers: Mapping[str, bytes | None]) -> Envelope:
        """Read a record strictly: anything that is not a Cercle event raises InvalidMessage, nothing else.

        A Cercle event has a UTF-8 key, only UTF-8 headers, CloudEvents 1.0 (`ce_specversion` is required:
        the SDK would take a record without it for 1.0), a non-empty `ce_id` (the SDK would invent one,
        which would defeat idempotence), `ce_source` and `ce_type`, a JSON `content-type`, and a JSON object
        as its value."""
        if value is None:
            raise InvalidMessage("a tombstone is not an event")
        text_key = decode_key(key)
        texts = {name: _header_text(name, raw) for name, raw in headers.items()}
        lowered = {name.lower(): text for name, text in texts.items()}
        specversion = lowered.get("ce_specversion")
        if specversion != SPECVERSION:
            raise InvalidMessage(
                "ce_specversion is missing" if specversion is None else f"unsupported specversion {specversion[:40]!r}"
            )
        for name in ("ce_id", "ce_source", "ce_type"):
            _check_attribute(name, lowered.get(name), required=True)
        for name in ("ce_correlationid", "ce_causationid", "ce_subject"):
            _check_attribute(name, lowered.get(name), required=False)
        content_type = lowered.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != JSON:
            raise InvalidMessage(f"content-type must be {JSON}, not {content_type[:80]!r}")
        try:
            event = ce_kafka.from_binary_event(
                ce_kafka.KafkaMessage(headers={n: t.encode() for n, t in texts.items()}, key=key, value=value)
            )
            data = event.get_data()
        except Exception as exc:  # the SDK raises several kinds (and RecursionError on deep JSON)
            raise InvalidMessage(f"not a CloudEvent in the Kafka binary binding: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidMessage("event data is not a JSON object")
        time = event.get_time() or datetime.now(UTC)
        if not EARLIEST <= time <= LATEST:
            raise InvalidMessage(f"ce_time {time.isoformat()} is out of range")
        return cls(
            id=event.get_id(),
            type=event.get_type(),
            source=event.get_source(),
            subject=event.get_subject() or "",
            key=text_key,
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
