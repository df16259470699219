"""What callers ask the sessions service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ScheduleSession:
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    mode: str = "in_person"
    timezone: str = "America/Toronto"
    location: str | None = None
    link: str | None = None
    description: str = ""
    theme_id: str | None = None
    formats: list[str] = field(default_factory=list)
    co_facilitators: list[str] = field(default_factory=list)
    guests: list[dict] = field(default_factory=list)
    draft: bool = False


@dataclass(frozen=True)
class ChangeSession:
    session_id: str
    changes: dict[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class CancelSession:
    session_id: str
    reason: str | None = None


@dataclass(frozen=True)
class Register:
    session_id: str
    member_id: str | None = None


@dataclass(frozen=True)
class CancelRegistration:
    session_id: str
    registration_id: str


@dataclass(frozen=True)
class RecordAttendance:
    session_id: str
    marks: dict[str, bool]


@dataclass(frozen=True)
class CheckIn:
    session_id: str
    registration_id: str


@dataclass(frozen=True)
class OpenCycle:
    community_id: str
    label: str
    starts_on: Any
    ends_on: Any
    proposals_open_at: datetime
    proposals_close_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    themes_to_retain: int = 3
    sessions_per_theme: int = 2
    votes_per_member: int = 3
    max_votes_per_theme: int = 1


@dataclass(frozen=True)
class ProposeTheme:
    cycle_id: str
    title: str
    need: str
    description: str = ""


@dataclass(frozen=True)
class MergeTheme:
    cycle_id: str
    theme_id: str
    into_theme_id: str


@dataclass(frozen=True)
class CastVote:
    cycle_id: str
    theme_id: str


@dataclass(frozen=True)
class ProposePlan:
    cycle_id: str
    weekday: int
    start_time: Any
    duration_minutes: int
    timezone: str = "America/Toronto"
    blackout_dates: list = field(default_factory=list)


@dataclass(frozen=True)
class ConfirmPlan:
    cycle_id: str
    capacity: int
    mode: str = "in_person"
    location: str | None = None
    link: str | None = None
    timezone: str = "America/Toronto"
    items: list[dict] | None = None  # the coordinator's adjusted plan; None keeps the proposal


@dataclass(frozen=True)
class PublishSummary:
    session_id: str
    body_fr: str | None
    body_en: str | None


@dataclass(frozen=True)
class ShareResource:
    community_id: str
    title: str
    kind: str
    language: str
    description: str = ""
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    session_id: str | None = None
    theme_id: str | None = None
