"""The event catalog: each CloudEvents type mapped to its payload model, topic and partition key."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from . import insights, notifications, registration, sessions
from .base import EventSpec, IntegrationEvent


class EventCatalog:
    def __init__(self, specs: Iterable[EventSpec]) -> None:
        self._by_type: dict[str, EventSpec] = {}
        self._by_model: dict[type[IntegrationEvent], EventSpec] = {}
        for spec in specs:
            if spec.type in self._by_type or spec.model in self._by_model:
                raise ValueError(f"event registered twice: {spec.type}")
            if spec.key not in spec.model.model_fields:
                raise ValueError(f"{spec.type}: key field {spec.key!r} is not a field of {spec.model.__name__}")
            self._by_type[spec.type] = spec
            self._by_model[spec.model] = spec

    def __iter__(self) -> Iterator[EventSpec]:
        return iter(self._by_type.values())

    def __len__(self) -> int:
        return len(self._by_type)

    def by_type(self, event_type: str) -> EventSpec:
        return self._by_type[event_type]

    def find_type(self, event_type: str) -> EventSpec | None:
        return self._by_type.get(event_type)

    def for_event(self, event: IntegrationEvent | type[IntegrationEvent]) -> EventSpec:
        model = event if isinstance(event, type) else type(event)
        return self._by_model[model]

    def on_topic(self, topic: str) -> list[EventSpec]:
        return [s for s in self._by_type.values() if s.topic.name == topic]


CATALOG = EventCatalog((*registration.EVENTS, *sessions.EVENTS, *notifications.EVENTS, *insights.EVENTS))
