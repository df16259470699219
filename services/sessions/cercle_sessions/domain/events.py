"""What happened in the sessions service, in its own words; `integration_events` turns each into a contract event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cercle_shared.domain import DomainEvent

# --- sessions (meetings) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionScheduled(DomainEvent):
    session_id: str
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    place: str | None  # the location, else the link
    capacity: int
    theme_id: str | None


@dataclass(frozen=True)
class SessionRescheduled(DomainEvent):
    session_id: str
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    place: str | None
    capacity: int
    sequence: int
    rescheduled_at: datetime


@dataclass(frozen=True)
class SessionCancelled(DomainEvent):
    session_id: str
    community_id: str
    reason: str | None
    cancelled_at: datetime


@dataclass(frozen=True)
class SessionHeld(DomainEvent):
    session_id: str
    community_id: str
    theme_id: str | None
    starts_at: datetime
    formats: tuple[str, ...]
    held_at: datetime


# --- registrations and attendance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationConfirmed(DomainEvent):
    registration_id: str
    session_id: str
    community_id: str
    member_id: str
    confirmed_at: datetime


@dataclass(frozen=True)
class RegistrationWaitlisted(DomainEvent):
    registration_id: str
    session_id: str
    community_id: str
    member_id: str
    position: int
    waitlisted_at: datetime


@dataclass(frozen=True)
class RegistrationPromoted(DomainEvent):
    registration_id: str
    session_id: str
    community_id: str
    member_id: str
    promoted_at: datetime


@dataclass(frozen=True)
class RegistrationCancelled(DomainEvent):
    registration_id: str
    session_id: str
    community_id: str
    member_id: str
    was: str  # confirmed | waitlisted
    cancelled_at: datetime


@dataclass(frozen=True)
class AttendanceRecorded(DomainEvent):
    session_id: str
    community_id: str
    confirmed: int
    present: int
    absent: int
    recorded_at: datetime
    present_member_ids: tuple[str, ...] = ()  # who was there, so that insights may ask for their feedback


# --- summaries and the library --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryWritten(DomainEvent):
    session_id: str
    community_id: str
    version: int
    languages: tuple[str, ...]
    written_at: datetime


@dataclass(frozen=True)
class ResourceShared(DomainEvent):
    resource_id: str
    community_id: str
    session_id: str | None
    theme_id: str | None
    kind: str
    title: str
    language: str
    tags: tuple[str, ...]
    shared_at: datetime


# --- the program year -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramCycleOpened(DomainEvent):
    cycle_id: str
    community_id: str
    starts_on: date
    ends_on: date
    proposals_open_at: datetime
    proposals_close_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    themes_to_retain: int
    sessions_per_theme: int
    opened_at: datetime


@dataclass(frozen=True)
class ThemeProposed(DomainEvent):
    theme_id: str
    cycle_id: str
    community_id: str
    title: str
    need: str
    proposed_at: datetime


@dataclass(frozen=True)
class ThemeMerged(DomainEvent):
    theme_id: str
    into_theme_id: str
    cycle_id: str
    community_id: str
    merged_at: datetime


@dataclass(frozen=True)
class VoteCast(DomainEvent):
    vote_id: str
    theme_id: str
    cycle_id: str
    community_id: str
    cast_at: datetime


@dataclass(frozen=True)
class BallotCast(DomainEvent):
    """A member's first vote of a cycle: who took part, never for what (so that only non-voters are reminded)."""

    cycle_id: str
    community_id: str
    member_id: str
    cast_at: datetime


@dataclass(frozen=True)
class RetainedTheme:
    theme_id: str
    title: str
    votes: int
    rank: int


@dataclass(frozen=True)
class ThemesRetained(DomainEvent):
    cycle_id: str
    community_id: str
    themes: tuple[RetainedTheme, ...]
    total_votes: int
    retained_at: datetime
