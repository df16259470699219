"""Events published by the sessions service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from . import topics
from .base import EventSpec, IntegrationEvent

SessionMode = Literal["in_person", "virtual", "hybrid"]

_SESSION_ID = Field(description="Stable session id.", examples=["5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"])
_COMMUNITY_ID = Field(description="Community the session belongs to.")
_MEMBER_ID = Field(description="Opaque member id (never a name or an email).")


class SessionScheduled(IntegrationEvent):
    """A session was put on a community's calendar."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    title: str = Field(description="Title.", examples=["Nature et santé mentale"])
    starts_at: datetime = Field(description="Start, time-zone aware.")
    ends_at: datetime = Field(description="End, time-zone aware.")
    timezone: str = Field(default="America/Toronto", description="IANA time zone of the session.")
    mode: SessionMode = Field(description="In person, virtual or hybrid.", examples=["hybrid"])
    location: str | None = Field(default=None, description="Place or link.")
    capacity: int = Field(description="Seats.", examples=[20])
    theme_id: str | None = Field(default=None, description="Theme the session belongs to, if any.")


class SessionRegistrationConfirmed(IntegrationEvent):
    """A member has a seat at a session."""

    registration_id: str = Field(description="Stable registration id.")
    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    confirmed_at: datetime = Field(description="When the seat was confirmed.")


class SessionRegistrationWaitlisted(IntegrationEvent):
    """A session was full: the member waits for a seat."""

    registration_id: str = Field(description="Stable registration id.")
    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    position: int = Field(description="Position on the waitlist, 1 for the first.", examples=[1])
    waitlisted_at: datetime = Field(description="When the member was waitlisted.")


def _t(name: str) -> str:
    return f"org.cercle.sessions.{name}.v1"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(_t("session.scheduled"), SessionScheduled, topics.SESSIONS, "session_id"),
    EventSpec(_t("registration.confirmed"), SessionRegistrationConfirmed, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("registration.waitlisted"), SessionRegistrationWaitlisted, topics.SESSION_REGISTRATIONS, "session_id"),
)
