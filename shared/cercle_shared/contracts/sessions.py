"""Events published by the sessions service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class SessionRegistrationPromoted(IntegrationEvent):
    """A seat freed up: the first member on the waitlist now has it (so that they are told)."""

    registration_id: str = Field(description="Stable registration id.")
    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    promoted_at: datetime = Field(description="When the member got the seat.")


class SessionRegistrationCancelled(IntegrationEvent):
    """A member cancelled a registration (confirmed or waitlisted)."""

    registration_id: str = Field(description="Stable registration id.")
    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    was: Literal["confirmed", "waitlisted"] = Field(description="Status before the cancellation.")
    cancelled_at: datetime = Field(description="When it was cancelled.")


class SessionAttendanceRecorded(IntegrationEvent):
    """Attendance of a session was recorded or corrected: counts only."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    confirmed: int = Field(description="Confirmed registrations.", examples=[18])
    present: int = Field(description="Registrations marked present.", examples=[15])
    absent: int = Field(description="Registrations marked absent.", examples=[3])
    present_member_ids: list[str] = Field(
        default_factory=list,
        description="Opaque ids of the members marked present (never names or emails), so that insights can ask "
        "them for their feedback.",
    )
    recorded_at: datetime = Field(description="When attendance was recorded.")


class SessionRescheduled(IntegrationEvent):
    """A scheduled session moved, or its place, link or capacity changed."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    title: str = Field(description="Title.")
    starts_at: datetime = Field(description="New start, time-zone aware.")
    ends_at: datetime = Field(description="New end, time-zone aware.")
    timezone: str = Field(default="America/Toronto", description="IANA time zone of the session.")
    mode: SessionMode = Field(description="In person, virtual or hybrid.")
    location: str | None = Field(default=None, description="Place or link.")
    capacity: int = Field(description="Seats.")
    sequence: int = Field(description="iCalendar SEQUENCE after the change.", examples=[1])
    rescheduled_at: datetime = Field(description="When it changed.")


class SessionCancelled(IntegrationEvent):
    """A session was cancelled."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    reason: str | None = Field(default=None, description="Why, if said.")
    cancelled_at: datetime = Field(description="When it was cancelled.")


class SessionHeld(IntegrationEvent):
    """A session took place."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    theme_id: str | None = Field(default=None, description="Theme, if any.")
    starts_at: datetime = Field(description="Start.")
    formats: list[str] = Field(
        default_factory=list, description="Activity formats used.", examples=[["experience_sharing", "invited_guest"]]
    )
    held_at: datetime = Field(description="When it was marked held.")


class SessionSummaryPublished(IntegrationEvent):
    """A facilitator published (or edited) a session's summary note."""

    session_id: str = _SESSION_ID
    community_id: str = _COMMUNITY_ID
    version: int = Field(description="Version of the note, 1 for the first.", examples=[1])
    languages: list[Literal["fr", "en"]] = Field(description="Languages the note is written in.", examples=[["fr"]])
    published_at: datetime = Field(description="When this version was published.")


class ResourceShared(IntegrationEvent):
    """A resource (book, tool, template...) was added to a community's library."""

    resource_id: str = Field(description="Stable resource id.")
    community_id: str = _COMMUNITY_ID
    session_id: str | None = Field(default=None, description="Session it was shared at, if any.")
    theme_id: str | None = Field(default=None, description="Theme it belongs to, if any.")
    kind: Literal["book", "tool", "template", "article", "model", "link"] = Field(description="Type of resource.")
    title: str = Field(description="Title.", examples=["Nature et santé mentale"])
    language: Literal["fr", "en"] = Field(description="Language of the resource.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    shared_at: datetime = Field(description="When it was shared.")


class ProgramCycleOpened(IntegrationEvent):
    """A community opened its program year, with its proposal and voting windows."""

    cycle_id: str = Field(description="Stable program cycle id.")
    community_id: str = _COMMUNITY_ID
    starts_on: date = Field(description="First day of the cycle.", examples=["2026-09-01"])
    ends_on: date = Field(description="Last day of the cycle.", examples=["2027-06-30"])
    proposals_open_at: datetime = Field(description="Theme proposals open.")
    proposals_close_at: datetime = Field(description="Theme proposals close.")
    voting_opens_at: datetime = Field(description="Voting opens.")
    voting_closes_at: datetime = Field(description="Voting closes.")
    themes_to_retain: int = Field(description="How many themes the vote retains.", examples=[3])
    sessions_per_theme: int = Field(description="Meetings per retained theme.", examples=[2])
    opened_at: datetime = Field(description="When it was opened.")


class ThemeProposed(IntegrationEvent):
    """A member proposed a theme from a need seen at work (no proposer identity)."""

    theme_id: str = Field(description="Stable theme id.")
    cycle_id: str = Field(description="Program cycle.")
    community_id: str = _COMMUNITY_ID
    title: str = Field(description="Title.", examples=["Nature et santé mentale"])
    need: str = Field(description="The need seen at work.")
    proposed_at: datetime = Field(description="When it was proposed.")


class ThemeMerged(IntegrationEvent):
    """A facilitator merged a duplicate theme into another."""

    theme_id: str = Field(description="The duplicate, now merged.")
    into_theme_id: str = Field(description="The theme it was merged into.")
    cycle_id: str = Field(description="Program cycle.")
    community_id: str = _COMMUNITY_ID
    merged_at: datetime = Field(description="When it was merged.")


class VoteCast(IntegrationEvent):
    """A vote went to a theme. Never carries the voter's identity."""

    vote_id: str = Field(description="Stable vote id.")
    theme_id: str = Field(description="Theme voted for.")
    cycle_id: str = Field(description="Program cycle.")
    community_id: str = _COMMUNITY_ID
    cast_at: datetime = Field(description="When it was cast.")


class BallotCast(IntegrationEvent):
    """A member cast her first vote of a program cycle: who took part, never for what. INTERNAL topic only (never
    beside VoteCast on the partner-visible program topic, where equal times would tie a voter to her theme)."""

    cycle_id: str = Field(description="Program cycle.")
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    cast_at: datetime = Field(description="When she first voted in this cycle.")


class RetainedTheme(BaseModel):
    """One retained theme, with its votes and rank."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    theme_id: str = Field(description="Theme id.")
    title: str = Field(description="Title.")
    votes: int = Field(description="Votes received.")
    rank: int = Field(description="Rank, 1 for the first.")


class ThemesRetained(IntegrationEvent):
    """The vote closed: the top themes are retained for the year (ties broken by earliest proposal, then id)."""

    cycle_id: str = Field(description="Program cycle.")
    community_id: str = _COMMUNITY_ID
    themes: list[RetainedTheme] = Field(description="Retained themes, in rank order.")
    total_votes: int = Field(description="Votes cast in the cycle.")
    retained_at: datetime = Field(description="When the vote closed.")


def _t(name: str) -> str:
    return f"org.cercle.sessions.{name}.v1"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(_t("session.scheduled"), SessionScheduled, topics.SESSIONS, "session_id"),
    EventSpec(_t("registration.confirmed"), SessionRegistrationConfirmed, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("registration.waitlisted"), SessionRegistrationWaitlisted, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("registration.promoted"), SessionRegistrationPromoted, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("registration.cancelled"), SessionRegistrationCancelled, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("attendance.recorded"), SessionAttendanceRecorded, topics.SESSION_REGISTRATIONS, "session_id"),
    EventSpec(_t("session.rescheduled"), SessionRescheduled, topics.SESSIONS, "session_id"),
    EventSpec(_t("session.cancelled"), SessionCancelled, topics.SESSIONS, "session_id"),
    EventSpec(_t("session.held"), SessionHeld, topics.SESSIONS, "session_id"),
    EventSpec(_t("summary.published"), SessionSummaryPublished, topics.SESSIONS, "session_id"),
    EventSpec(_t("resource.shared"), ResourceShared, topics.SESSIONS, "community_id"),
    EventSpec(_t("cycle.opened"), ProgramCycleOpened, topics.PROGRAM, "community_id"),
    EventSpec(_t("theme.proposed"), ThemeProposed, topics.PROGRAM, "community_id"),
    EventSpec(_t("theme.merged"), ThemeMerged, topics.PROGRAM, "community_id"),
    EventSpec(_t("vote.cast"), VoteCast, topics.PROGRAM, "community_id"),
    EventSpec(_t("themes.retained"), ThemesRetained, topics.PROGRAM, "community_id"),
    EventSpec(_t("ballot.cast"), BallotCast, topics.BALLOTS, "member_id"),
)
