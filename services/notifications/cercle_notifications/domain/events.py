"""What happens to this service's aggregates (integration_events.py decides what leaves the service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cercle_shared.domain import DomainEvent

if TYPE_CHECKING:
    from .model import DeliveryStatus


@dataclass(frozen=True)
class EmailDeliveryRecorded(DomainEvent):
    """A delivery's outcome is known: its email was sent, or given up on. Not recorded once its member is erased."""

    delivery_id: str
    member_id: str
    kind: str
    language: str
    status: DeliveryStatus
    occurred_at: datetime
    session_id: str | None


@dataclass(frozen=True)
class PreferencesChanged(DomainEvent):
    """A member chose a language for emails, or the kinds they do not want."""

    member_id: str
    language: str | None
    opt_out: tuple[str, ...]
