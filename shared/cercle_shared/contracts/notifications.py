"""Events published by the notifications service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from . import topics
from .base import EventSpec, IntegrationEvent


class EmailDeliveryRecorded(IntegrationEvent):
    """An email was sent, or given up on, for a member. Internal: no address, no content."""

    delivery_id: str = Field(description="Stable delivery id.")
    member_id: str = Field(description="Opaque member id.")
    kind: str = Field(description="Which message.", examples=["session_registration_confirmed"])
    language: Literal["fr", "en"] = Field(description="Language the email was written in.")
    status: Literal["sent", "failed"] = Field(description="Outcome.")
    occurred_at: datetime = Field(description="When the outcome was known.")
    session_id: str | None = Field(default=None, description="Session the email was about, if any.")


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "org.cercle.notifications.email.delivery_recorded.v1", EmailDeliveryRecorded, topics.DELIVERIES, "member_id"
    ),
)
