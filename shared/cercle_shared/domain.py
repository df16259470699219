"""What every service's domain builds on: aggregates that record their events, and version checks.

No framework here: domain modules import this and `errors` only.
"""

from __future__ import annotations

import itertools
from typing import Any

from .errors import StaleVersion

_order = itertools.count()


class DomainEvent:
    """Marker base of a service's domain events (frozen dataclasses named in the past tense)."""


class Aggregate:
    """An aggregate root records what happened to it; the unit of work publishes it at commit.

    Mapped classes are loaded without `__init__`, so the list is created on first use.
    """

    def record(self, event: DomainEvent) -> None:
        recorded: list[tuple[int, DomainEvent]] = self.__dict__.setdefault("_recorded_events", [])
        recorded.append((next(_order), event))  # a process-wide order keeps several aggregates' events in sequence

    @property
    def recorded_events(self) -> list[DomainEvent]:
        return [event for _, event in self.__dict__.get("_recorded_events", [])]

    def pull_events(self) -> list[tuple[int, DomainEvent]]:
        """Hand the recorded events over (with their order) and forget them."""
        events: list[tuple[int, DomainEvent]] = self.__dict__.pop("_recorded_events", [])
        return events


def check_version(current: int, expected: int) -> None:
    """Optimistic concurrency: the caller changes what it read, or gets a 409."""
    if current != expected:
        raise StaleVersion(
            f"the resource changed since you read it (version {expected}, now {current}); read it again",
            field="version",
        )


def has_events(obj: Any) -> bool:
    return bool(getattr(obj, "__dict__", {}).get("_recorded_events"))
