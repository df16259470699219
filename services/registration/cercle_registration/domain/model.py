"""Members, communities and memberships: the rules, with no framework in sight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from cercle_shared.errors import Conflict, InvalidInput

LANGUAGES = ("fr", "en")
CONSENT_PURPOSES = ("processing", "directory", "email", "surveys")
COMMUNITY_KINDS = ("community_of_practice", "co_development_group", "community_of_interest")
COMMUNITY_STATUSES = ("active", "paused", "closed")
ROLES = ("participant", "facilitator", "coordinator")


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Member:
    id: str
    display_name: str
    email: str
    language: str
    region: str | None
    organization_id: str | None = None
    job_title: str | None = None
    expertise: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)
    registered_at: datetime = field(default_factory=now)
    version: int = 1

    @classmethod
    def register(
        cls,
        *,
        display_name: str,
        email: str,
        language: str = "fr",
        region: str | None = None,
        organization_id: str | None = None,
        job_title: str | None = None,
        expertise: list[str] | None = None,
        consents: dict[str, bool] | None = None,
    ) -> Member:
        consents = dict(consents or {})
        if not consents.get("processing"):
            raise InvalidInput("consent to processing is required to register", field="consents.processing")
        if language not in LANGUAGES:
            raise InvalidInput(f"language must be one of {LANGUAGES}", field="language")
        return cls(
            id=new_id(),
            display_name=display_name,
            email=normalize_email(email),
            language=language,
            region=region,
            organization_id=organization_id,
            job_title=job_title,
            expertise=sorted({t.strip().lower() for t in expertise or () if t.strip()}),
            consents={p: bool(consents.get(p, False)) for p in CONSENT_PURPOSES},
        )


def normalize_email(email: str) -> str:
    """Emails are unique without regard to case."""
    return email.strip().lower()


@dataclass(eq=False)
class Community:
    id: str
    name_fr: str
    name_en: str
    kind: str
    regions: list[str]
    province_wide: bool = False
    description_fr: str = ""
    description_en: str = ""
    domain: str | None = None
    cadence: int = 6
    status: str = "active"
    founded_on: date | None = None
    created_at: datetime = field(default_factory=now)
    version: int = 1

    def __post_init__(self) -> None:
        if self.kind not in COMMUNITY_KINDS:
            raise InvalidInput(f"kind must be one of {COMMUNITY_KINDS}", field="kind")
        if not self.regions and not self.province_wide:
            raise InvalidInput("a community needs at least one region, or province_wide", field="regions")

    def ensure_open(self) -> None:
        if self.status == "closed":
            raise Conflict("this community is closed and takes no new members", field="community_id")


@dataclass(eq=False)
class Membership:
    id: str
    community_id: str
    member_id: str
    role: str
    joined_at: datetime
    left_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.left_at is None


def join(community: Community, member: Member, role: str, current: Membership | None) -> Membership:
    community.ensure_open()
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {ROLES}", field="role")
    if current is not None and current.active:
        raise Conflict("this member already belongs to this community", field="member_id")
    # A new row each time: the join/leave history (tenure) is kept.
    return Membership(id=new_id(), community_id=community.id, member_id=member.id, role=role, joined_at=now())
