"""Sessions (a community's meetings) with their registrations, waitlist and attendance; and the replica of
registration's communities and memberships. The rules, with no framework in sight.

The program year is in `program`, summary notes, the library and calendar feeds in `library`. Aggregates record
what happened to them (`events`); the unit of work publishes it at commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cercle_shared.domain import Aggregate
from cercle_shared.errors import Conflict, InvalidInput
from cercle_shared.vocabulary import (  # re-exported: the domain's own words too
    CommunityStatus as CommunityStatus,
)
from cercle_shared.vocabulary import (
    MembershipRole as MembershipRole,
)

from . import events


class Mode(StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


class Format(StrEnum):
    EXPERIENCE_SHARING = "experience_sharing"
    PROBLEM_SOLVING = "problem_solving"
    COLLECTIVE_REFLECTION = "collective_reflection"
    CO_CONSTRUCTION = "co_construction"
    INVITED_GUEST = "invited_guest"


class SessionStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    HELD = "held"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Attendance(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


MODES = tuple(m.value for m in Mode)
FORMATS = tuple(f.value for f in Format)
OPEN_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.RESCHEDULED)
MANAGER_ROLES = (MembershipRole.FACILITATOR, MembershipRole.COORDINATOR)
ERASED_PREFIX = "erased-"
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200  # as the API's SaneDateTime: beyond, calendar arithmetic overflows


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def anonymous_marker() -> str:
    """Stands in for an erased member: counts stay right, nobody can be linked back."""
    return ERASED_PREFIX + uuid.uuid4().hex


def check_timezone(name: str, field_name: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", field=field_name) from exc


def check_aware(value: datetime, field_name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("give a time zone offset (e.g. 2026-10-15T13:00:00-04:00)", field=field_name)
    check_sane_year(value, field_name)


def check_sane_year(value: date, field_name: str) -> None:
    """A date (or date and time) within the years Cercle plans for: year 9999 is a typo, not a session."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InvalidInput(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}", field=field_name)


# --- the replica of registration's communities and memberships ------------------------------------------------


@dataclass(eq=False)
class Community(Aggregate):
    id: str
    name_fr: str
    name_en: str
    regions: list[str]
    province_wide: bool = False
    cadence: int = 6
    status: CommunityStatus = CommunityStatus.ACTIVE
    updated_at: datetime = field(default_factory=now)

    def ensure_active(self) -> None:
        if self.status != CommunityStatus.ACTIVE:
            raise Conflict(f"this community is {self.status}", field="community_id")


@dataclass(eq=False)
class Membership(Aggregate):
    id: str
    community_id: str
    member_id: str
    role: MembershipRole
    active: bool = True
    changed_at: datetime = field(default_factory=now)

    @property
    def manages(self) -> bool:
        return self.role in MANAGER_ROLES


@dataclass(eq=False)
class MemberContact:
    """What sessions keeps of registration's contacts topic: the name shown to the people who run a session,
    and whether the member agreed to be named to peers (the directory consent). No email, ever."""

    member_id: str
    display_name: str
    listed: bool = False
    updated_at: datetime = field(default_factory=now)


# --- sessions and their registrations -----------------------------------------------------------------------


@dataclass(eq=False)
class Registration:
    """A member's seat (or place in line) at a session; part of the Session aggregate."""

    id: str
    session_id: str
    member_id: str
    status: RegistrationStatus
    arrival: int  # order of arrival at this session: the waitlist is served in this order
    registered_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    attendance: Attendance | None = None
    checked_in_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED


@dataclass(frozen=True)
class Guest:
    name: str
    expertise: str | None = None


@dataclass(eq=False)
class Session(Aggregate):
    """One meeting of a community, with its seats, waitlist and attendance."""

    id: str
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    mode: Mode = Mode.IN_PERSON
    timezone: str = "America/Toronto"
    location: str | None = None
    link: str | None = None
    description: str = ""
    theme_id: str | None = None
    cycle_id: str | None = None
    formats: list[str] = field(default_factory=list)
    co_facilitators: list[str] = field(default_factory=list)
    guests: list[dict[str, Any]] = field(default_factory=list)
    status: SessionStatus = SessionStatus.SCHEDULED
    sequence: int = 0  # iCalendar SEQUENCE: raised on every reschedule
    arrivals: int = 0
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    version: int = 1
    registrations: list[Registration] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def schedule(cls, *, at: datetime, draft: bool = False, **details: Any) -> Session:
        """A new session; announced at once (registration opens) unless kept as a draft."""
        session = cls(
            id=new_id(),
            status=SessionStatus.DRAFT if draft else SessionStatus.SCHEDULED,
            created_at=at,
            updated_at=at,
            **details,
        )
        if not draft:
            if session.starts_at <= at:
                raise InvalidInput("a session is scheduled in the future", field="starts_at")
            session._record_scheduled()
        return session

    def validate(self) -> None:
        check_aware(self.starts_at, "starts_at")
        check_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise InvalidInput("a session ends after it starts", field="ends_at")
        if self.mode not in MODES:
            raise InvalidInput(f"mode must be one of {MODES}", field="mode")
        self.mode = Mode(self.mode)
        check_timezone(self.timezone)
        if self.capacity < 1:
            raise InvalidInput("capacity is at least 1", field="capacity")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise InvalidInput(f"unknown activity formats {unknown}; known: {FORMATS}", field="formats")
        if self.mode == Mode.IN_PERSON and self.link and not self.location:
            raise InvalidInput("an in-person session needs a place", field="location")

    @property
    def local_day(self) -> date:
        """The day it starts on, where it happens (UTC for a stored zone no longer known)."""
        try:
            return self.starts_at.astimezone(ZoneInfo(self.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError, OverflowError):
            return self.starts_at.astimezone(UTC).date()

    @property
    def place(self) -> str | None:
        """Where it happens, as announced: the location, else the link."""
        return self.location or self.link

    # counts
    def seated(self) -> list[Registration]:
        return [r for r in self.registrations if r.status == RegistrationStatus.CONFIRMED]

    def waitlist(self) -> list[Registration]:
        waiting = (r for r in self.registrations if r.status == RegistrationStatus.WAITLISTED)
        return sorted(waiting, key=lambda r: r.arrival)

    def position_of(self, registration: Registration) -> int:
        return self.waitlist().index(registration) + 1

    def current_registration(self, member_id: str) -> Registration | None:
        return next((r for r in self.registrations if r.member_id == member_id and r.active), None)

    def find_registration(self, registration_id: str) -> Registration | None:
        return next((r for r in self.registrations if r.id == registration_id), None)

    def attendance_counts(self) -> dict[str, int]:
        confirmed = self.seated()
        return {
            "confirmed": len(confirmed),
            "present": sum(r.attendance == Attendance.PRESENT for r in confirmed),
            "absent": sum(r.attendance == Attendance.ABSENT for r in confirmed),
        }

    def present_member_ids(self) -> tuple[str, ...]:
        """The members marked present, in a stable order; an erased member's marker is no one to ask."""
        return tuple(
            sorted(
                r.member_id
                for r in self.seated()
                if r.attendance == Attendance.PRESENT and not r.member_id.startswith(ERASED_PREFIX)
            )
        )

    # the session itself
    def ensure_editable(self) -> None:
        if self.status == SessionStatus.CANCELLED:
            raise Conflict("this session is cancelled and can no longer change", field="status")
        if self.status == SessionStatus.HELD:
            raise Conflict("this session was held and can no longer change", field="status")

    def announce(self, at: datetime) -> None:
        """A draft is scheduled: registration opens."""
        if self.starts_at <= at:
            raise Conflict("this draft starts in the past: move it first", field="starts_at")
        if self.status != SessionStatus.DRAFT:
            raise Conflict("only a draft session can be scheduled", field="status")
        self.status = SessionStatus.SCHEDULED
        self.updated_at = at
        self._record_scheduled()

    def reschedule(self, at: datetime, **changes: Any) -> tuple[bool, list[Registration]]:
        """Apply changes; return (whether attendees must be told, who got a seat from a larger capacity)."""
        self.ensure_editable()
        capacity = changes.get("capacity")
        if capacity is not None and capacity < len(self.seated()):
            raise Conflict(
                f"capacity {capacity} is below the {len(self.seated())} confirmed registrations", field="capacity"
            )
        if "starts_at" in changes and changes["starts_at"] <= at:
            raise InvalidInput("a session cannot move into the past", field="starts_at")
        before = (self.starts_at, self.ends_at, self.location, self.link, self.mode, self.timezone)
        for name, value in changes.items():
            setattr(self, name, value)
        self.validate()
        moved = before != (self.starts_at, self.ends_at, self.location, self.link, self.mode, self.timezone)
        if moved and self.status != SessionStatus.DRAFT:
            self.sequence += 1
            self.status = SessionStatus.RESCHEDULED
        self.updated_at = at
        if self.status != SessionStatus.DRAFT and (moved or "capacity" in changes):
            self.record(
                events.SessionRescheduled(
                    session_id=self.id,
                    community_id=self.community_id,
                    title=self.title,
                    starts_at=self.starts_at,
                    ends_at=self.ends_at,
                    timezone=self.timezone,
                    mode=str(self.mode),
                    place=self.place,
                    capacity=self.capacity,
                    sequence=self.sequence,
                    rescheduled_at=at,
                )
            )
        return moved, self._fill_seats(at)

    def cancel(self, at: datetime, reason: str | None = None) -> None:
        self.ensure_editable()
        announced = self.status != SessionStatus.DRAFT
        self.status = SessionStatus.CANCELLED
        self.sequence += 1
        self.updated_at = at
        if announced:
            self.record(
                events.SessionCancelled(
                    session_id=self.id, community_id=self.community_id, reason=reason, cancelled_at=at
                )
            )

    def mark_held(self, at: datetime) -> None:
        if self.status not in OPEN_STATUSES:
            raise Conflict(f"a {self.status} session cannot be marked held", field="status")
        if at < self.starts_at:
            raise Conflict("a session is held once it has started", field="status")
        self.status = SessionStatus.HELD
        self.updated_at = at
        self.record(
            events.SessionHeld(
                session_id=self.id,
                community_id=self.community_id,
                theme_id=self.theme_id,
                starts_at=self.starts_at,
                formats=tuple(self.formats),
                held_at=at,
            )
        )

    def ensure_started(self, at: datetime, what: str) -> None:
        if self.status == SessionStatus.CANCELLED:
            raise Conflict(f"this session is cancelled: no {what}", field="status")
        if at < self.starts_at:
            raise Conflict(f"{what} comes after the session has started", field="status")

    # registrations
    def register(self, member_id: str, at: datetime) -> Registration:
        if self.status not in OPEN_STATUSES:
            raise Conflict(f"registration is not open: the session is {self.status}", field="session_id")
        if at >= self.starts_at:
            raise Conflict("registration closed when the session started", field="session_id")
        if self.current_registration(member_id) is not None:
            raise Conflict("this member is already registered to this session", field="member_id")
        self.arrivals += 1
        seated = len(self.seated()) < self.capacity
        registration = Registration(
            id=new_id(),
            session_id=self.id,
            member_id=member_id,
            status=RegistrationStatus.CONFIRMED if seated else RegistrationStatus.WAITLISTED,
            arrival=self.arrivals,
            registered_at=at,
            confirmed_at=at if seated else None,
        )
        self.registrations.append(registration)
        if seated:
            self.record(
                events.RegistrationConfirmed(
                    registration_id=registration.id,
                    session_id=self.id,
                    community_id=self.community_id,
                    member_id=member_id,
                    confirmed_at=at,
                )
            )
        else:
            self.record(
                events.RegistrationWaitlisted(
                    registration_id=registration.id,
                    session_id=self.id,
                    community_id=self.community_id,
                    member_id=member_id,
                    position=self.position_of(registration),
                    waitlisted_at=at,
                )
            )
        return registration

    def cancel_registration(self, registration: Registration, at: datetime) -> list[Registration]:
        """Cancel; return who was promoted from the waitlist (in arrival order) to fill the seats."""
        if not registration.active:
            raise Conflict("this registration is already cancelled", field="registration_id")
        if at >= self.starts_at:
            raise Conflict("the session has started: record attendance instead", field="registration_id")
        was = registration.status
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = at
        self.record(
            events.RegistrationCancelled(
                registration_id=registration.id,
                session_id=self.id,
                community_id=self.community_id,
                member_id=registration.member_id,
                was=str(was),
                cancelled_at=at,
            )
        )
        return self._fill_seats(at)

    def _fill_seats(self, at: datetime) -> list[Registration]:
        promoted: list[Registration] = []
        if self.status not in OPEN_STATUSES:
            return promoted
        for waiting in self.waitlist():
            if len(self.seated()) >= self.capacity:
                break
            waiting.status = RegistrationStatus.CONFIRMED
            waiting.confirmed_at = at
            promoted.append(waiting)
            self.record(
                events.RegistrationPromoted(
                    registration_id=waiting.id,
                    session_id=self.id,
                    community_id=self.community_id,
                    member_id=waiting.member_id,
                    promoted_at=at,
                )
            )
        return promoted

    # attendance
    def record_attendance(self, marks: dict[str, bool], at: datetime) -> None:
        self.ensure_started(at, "attendance")
        marked: list[tuple[Registration, bool]] = []
        for registration_id, present in marks.items():
            registration = self.find_registration(registration_id)
            if registration is None or registration.status != RegistrationStatus.CONFIRMED:
                raise InvalidInput(
                    f"{registration_id} is not a confirmed registration of this session", field="records"
                )
            marked.append((registration, present))
        for registration, present in marked:
            registration.attendance = Attendance.PRESENT if present else Attendance.ABSENT
        self._record_attendance(at)

    def check_in(self, registration: Registration, at: datetime) -> None:
        if self.status == SessionStatus.CANCELLED or registration.status != RegistrationStatus.CONFIRMED:
            raise Conflict("only a confirmed registration can check in", field="registration_id")
        if not (self.starts_at.timestamp() - 3600 <= at.timestamp() <= self.ends_at.timestamp()):
            raise Conflict("check-in opens an hour before the start and closes at the end", field="registration_id")
        registration.attendance = Attendance.PRESENT
        registration.checked_in_at = at
        self._record_attendance(at)

    def withdraw(self, member_id: str, at: datetime) -> Registration | None:
        """The member gave up her place (she left the community, or was erased): her registration to this session,
        if it is still ahead, is cancelled and the next in line promoted, as by a cancellation by hand."""
        registration = self.current_registration(member_id)
        if registration is None or self.status not in OPEN_STATUSES or at >= self.starts_at:
            return None
        self.cancel_registration(registration, at)
        return registration

    # erasure
    def forget_member(self, member_id: str, at: datetime) -> None:
        """Erasure: her registrations count on under an anonymous marker; the one she still held for a session
        ahead is cancelled (under that marker) and the next in line promoted; she co-facilitates no more."""
        ahead = self.status in OPEN_STATUSES and at < self.starts_at
        for registration in self.registrations:
            if registration.member_id == member_id:
                registration.member_id = anonymous_marker()
                if ahead and registration.active:
                    self.cancel_registration(registration, at)
        self.drop_co_facilitator(member_id)

    def drop_co_facilitator(self, member_id: str) -> None:
        if member_id in self.co_facilitators:
            self.co_facilitators = [m for m in self.co_facilitators if m != member_id]

    def _record_scheduled(self) -> None:
        self.record(
            events.SessionScheduled(
                session_id=self.id,
                community_id=self.community_id,
                title=self.title,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                timezone=self.timezone,
                mode=str(self.mode),
                place=self.place,
                capacity=self.capacity,
                theme_id=self.theme_id,
            )
        )

    def _record_attendance(self, at: datetime) -> None:
        self.record(
            events.AttendanceRecorded(
                session_id=self.id,
                community_id=self.community_id,
                recorded_at=at,
                present_member_ids=self.present_member_ids(),
                **self.attendance_counts(),
            )
        )
