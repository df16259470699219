"""Sessions, registrations and the community replica: the rules, with no framework in sight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cercle_shared.errors import Conflict, InvalidInput

MODES = ("in_person", "virtual", "hybrid")
FORMATS = ("experience_sharing", "problem_solving", "collective_reflection", "co_construction", "invited_guest")
SESSION_STATUSES = ("draft", "scheduled", "rescheduled", "cancelled", "held")
OPEN_STATUSES = ("scheduled", "rescheduled")
MANAGER_ROLES = ("facilitator", "coordinator")
ERASED_PREFIX = "erased-"


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


# --- the replica of registration's communities and memberships ------------------------------------------------


@dataclass(eq=False)
class Community:
    id: str
    name_fr: str
    name_en: str
    regions: list[str]
    province_wide: bool = False
    cadence: int = 6
    status: str = "active"
    updated_at: datetime = field(default_factory=now)

    def ensure_active(self) -> None:
        if self.status != "active":
            raise Conflict(f"this community is {self.status}", field="community_id")


@dataclass(eq=False)
class Membership:
    id: str
    community_id: str
    member_id: str
    role: str
    active: bool = True
    changed_at: datetime = field(default_factory=now)


# --- sessions and their registrations -----------------------------------------------------------------------


@dataclass(eq=False)
class Registration:
    id: str
    session_id: str
    member_id: str
    status: str  # confirmed | waitlisted | cancelled
    arrival: int  # order of arrival at this session: the waitlist is served in this order
    registered_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    attendance: str | None = None  # present | absent
    checked_in_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status != "cancelled"


@dataclass(frozen=True)
class Guest:
    name: str
    expertise: str | None = None


@dataclass(eq=False)
class Session:
    id: str
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
    cycle_id: str | None = None
    formats: list[str] = field(default_factory=list)
    co_facilitators: list[str] = field(default_factory=list)
    guests: list[dict] = field(default_factory=list)
    status: str = "scheduled"
    sequence: int = 0  # iCalendar SEQUENCE: raised on every reschedule
    arrivals: int = 0
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    version: int = 1
    registrations: list[Registration] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_aware(self.starts_at, "starts_at")
        check_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise InvalidInput("a session ends after it starts", field="ends_at")
        if self.mode not in MODES:
            raise InvalidInput(f"mode must be one of {MODES}", field="mode")
        check_timezone(self.timezone)
        if self.capacity < 1:
            raise InvalidInput("capacity is at least 1", field="capacity")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise InvalidInput(f"unknown activity formats {unknown}; known: {FORMATS}", field="formats")
        if self.mode == "in_person" and self.link and not self.location:
            raise InvalidInput("an in-person session needs a place", field="location")

    # counts
    def seated(self) -> list[Registration]:
        return [r for r in self.registrations if r.status == "confirmed"]

    def waitlist(self) -> list[Registration]:
        return sorted((r for r in self.registrations if r.status == "waitlisted"), key=lambda r: r.arrival)

    def position_of(self, registration: Registration) -> int:
        return self.waitlist().index(registration) + 1

    def current_registration(self, member_id: str) -> Registration | None:
        return next((r for r in self.registrations if r.member_id == member_id and r.active), None)

    def find_registration(self, registration_id: str) -> Registration | None:
        return next((r for r in self.registrations if r.id == registration_id), None)

    # rules
    def ensure_editable(self) -> None:
        if self.status == "cancelled":
            raise Conflict("this session is cancelled and can no longer change", field="status")
        if self.status == "held":
            raise Conflict("this session was held and can no longer change", field="status")

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
            status="confirmed" if seated else "waitlisted",
            arrival=self.arrivals,
            registered_at=at,
            confirmed_at=at if seated else None,
        )
        self.registrations.append(registration)
        return registration

    def cancel_registration(self, registration: Registration, at: datetime) -> list[Registration]:
        """Cancel; return who was promoted from the waitlist (in arrival order) to fill the seats."""
        if not registration.active:
            raise Conflict("this registration is already cancelled", field="registration_id")
        if at >= self.starts_at:
            raise Conflict("the session has started: record attendance instead", field="registration_id")
        registration.status = "cancelled"
        registration.cancelled_at = at
        return self._fill_seats(at)

    def _fill_seats(self, at: datetime) -> list[Registration]:
        promoted = []
        if self.status not in OPEN_STATUSES:
            return promoted
        for waiting in self.waitlist():
            if len(self.seated()) >= self.capacity:
                break
            waiting.status = "confirmed"
            waiting.confirmed_at = at
            promoted.append(waiting)
        return promoted

    def reschedule(self, at: datetime, **changes) -> tuple[bool, list[Registration]]:
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
        if moved and self.status != "draft":
            self.sequence += 1
            self.status = "rescheduled"
        self.updated_at = at
        return moved, self._fill_seats(at)

    def publish(self, at: datetime) -> None:
        if self.status != "draft":
            raise Conflict("only a draft session can be scheduled", field="status")
        self.status = "scheduled"
        self.updated_at = at

    def cancel(self, at: datetime) -> None:
        self.ensure_editable()
        self.status = "cancelled"
        self.sequence += 1
        self.updated_at = at

    def mark_held(self, at: datetime) -> None:
        if self.status not in OPEN_STATUSES:
            raise Conflict(f"a {self.status} session cannot be marked held", field="status")
        if at < self.starts_at:
            raise Conflict("a session is held once it has started", field="status")
        self.status = "held"
        self.updated_at = at

    def ensure_started(self, at: datetime, what: str) -> None:
        if self.status == "cancelled":
            raise Conflict(f"this session is cancelled: no {what}", field="status")
        if at < self.starts_at:
            raise Conflict(f"{what} comes after the session has started", field="status")

    def record_attendance(self, marks: dict[str, bool], at: datetime) -> None:
        self.ensure_started(at, "attendance")
        for registration_id in marks:
            registration = self.find_registration(registration_id)
            if registration is None or registration.status != "confirmed":
                raise InvalidInput(
                    f"{registration_id} is not a confirmed registration of this session", field="records"
                )
        for registration_id, present in marks.items():
            self.find_registration(registration_id).attendance = "present" if present else "absent"

    def check_in(self, registration: Registration, at: datetime) -> None:
        if self.status == "cancelled" or registration.status != "confirmed":
            raise Conflict("only a confirmed registration can check in", field="registration_id")
        if not (self.starts_at.timestamp() - 3600 <= at.timestamp() <= self.ends_at.timestamp()):
            raise Conflict("check-in opens an hour before the start and closes at the end", field="registration_id")
        registration.attendance = "present"
        registration.checked_in_at = at

    def attendance_counts(self) -> dict[str, int]:
        confirmed = self.seated()
        return {
            "confirmed": len(confirmed),
            "present": sum(r.attendance == "present" for r in confirmed),
            "absent": sum(r.attendance == "absent" for r in confirmed),
        }

    def forget_member(self, member_id: str) -> None:
        for registration in self.registrations:
            if registration.member_id == member_id:
                registration.member_id = anonymous_marker()
        self.co_facilitators = [m for m in self.co_facilitators if m != member_id]
