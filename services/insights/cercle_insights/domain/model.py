"""The read models insights keeps, and how each fact changes them.

Insights holds aggregates' raw material only: opaque member ids (dropped on erasure), never a name
or an email. Events of different topics arrive in any order, so every row may first exist as a
placeholder that a later event fills in. These are replicas, not aggregates: they record no events
(insights publishes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cercle_shared.vocabulary import (  # re-exported: the domain's own words too
    CommunityKind as CommunityKind,
)
from cercle_shared.vocabulary import (
    CommunityStatus as CommunityStatus,
)
from cercle_shared.vocabulary import (
    MembershipRole as MembershipRole,
)


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class SessionMode(StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


# Québec's administrative regions, 01 to 17: a community's regions are among them, anything else is dropped.
QUEBEC_REGIONS = frozenset(f"{n:02d}" for n in range(1, 18))

# A kind, status, role or mode a newer producer sends before this version knows it is kept as the string it is
# (the columns read such values back as strings too): one unknown value must not stop a projection.
Kind = CommunityKind | str
Status = CommunityStatus | str
Role = MembershipRole | str
Mode = SessionMode | str


@dataclass(eq=False)
class Community:
    id: str
    name_fr: str | None = None
    name_en: str | None = None
    kind: Kind | None = None
    domain: str | None = None
    regions: list[str] = field(default_factory=list)
    province_wide: bool = False
    status: Status | None = None
    created_at: datetime | None = None

    @property
    def described(self) -> bool:
        """False while a placeholder: other events named the community before its own details arrived."""
        return self.name_fr is not None

    def describe(
        self,
        *,
        name_fr: str,
        name_en: str,
        kind: Kind,
        domain: str | None,
        regions: list[str],
        province_wide: bool,
        status: Status,
    ) -> None:
        self.name_fr, self.name_en, self.kind, self.domain = name_fr, name_en, kind, domain
        self.regions = sorted(set(regions) & QUEBEC_REGIONS)
        self.province_wide = province_wide
        self.status = status

    def change_status(self, status: Status) -> None:
        self.status = status


@dataclass(eq=False)
class Membership:
    id: str
    community_id: str
    member_id: str | None = None  # None once the member is erased
    role: Role | None = None
    joined_at: datetime | None = None  # None while a placeholder (a later event arrived first)
    left_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.joined_at is not None and self.left_at is None

    def join(self, member_id: str | None, role: Role, at: datetime) -> None:
        if self.joined_at is not None:
            return  # the same join told twice
        self.joined_at = at
        self.role = self.role or role
        if self.member_id is None and self.left_at is None:
            self.member_id = member_id

    def change_role(self, role: Role, member_id: str | None) -> None:
        """`member_id` is None when the member is erased; a placeholder learns whose membership it is."""
        self.role = role
        if self.member_id is None and self.joined_at is None:
            self.member_id = member_id

    def end(self, at: datetime) -> None:
        """Left (or erased): the earliest end wins, so that erasure then a late `left` keep the real date."""
        if self.joined_at is not None and at < self.joined_at:
            at = self.joined_at
        self.left_at = at if self.left_at is None else min(self.left_at, at)

    def anonymize(self, erased_at: datetime) -> None:
        """An erased member no longer belongs anywhere; their past tenure stays in the counts, unnamed."""
        self.member_id = None
        if self.left_at is None:
            self.end(erased_at)


@dataclass(eq=False)
class CommunitySession:
    id: str
    community_id: str
    status: SessionStatus | None = None  # None while a placeholder (e.g. attendance arrived before the schedule)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    mode: Mode | None = None
    capacity: int | None = None
    present: int | None = None
    absent: int | None = None

    def schedule(self, *, starts_at: datetime, ends_at: datetime, mode: Mode, capacity: int) -> None:
        self.starts_at, self.ends_at, self.mode, self.capacity = starts_at, ends_at, mode, capacity
        if self.status is None:
            self.status = SessionStatus.SCHEDULED

    def hold(self, starts_at: datetime) -> None:
        self.status = SessionStatus.HELD
        self.starts_at = starts_at

    def cancel(self) -> None:
        self.status = SessionStatus.CANCELLED

    def record_attendance(self, present: int, absent: int) -> None:
        """Recorded or corrected: the latest counts replace the earlier ones."""
        self.present, self.absent = present, absent


@dataclass(eq=False)
class SessionRegistration:
    id: str
    session_id: str
    community_id: str
    status: RegistrationStatus
    member_id: str | None = None  # None once the member is erased

    def change_status(self, status: RegistrationStatus) -> None:
        # One registration's events share a partition (key: session_id), so the latest status is the truth.
        self.status = status

    def anonymize(self) -> None:
        self.member_id = None
