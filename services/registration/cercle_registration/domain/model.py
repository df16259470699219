"""Organizations, members, communities and memberships: the rules, with no framework in sight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from email_validator import EmailNotValidError, validate_email

from cercle_shared.errors import Conflict, InvalidInput, NotFound

LANGUAGES = ("fr", "en")
CONSENT_PURPOSES = ("processing", "directory", "email", "surveys")
COMMUNITY_KINDS = ("community_of_practice", "co_development_group", "community_of_interest")
COMMUNITY_STATUSES = ("active", "paused", "closed")
ROLES = ("participant", "facilitator", "coordinator")
SIZE_BANDS = ("1-9", "10-49", "50-249", "250-999", "1000+")
MAX_EXPERTISE_TAGS = 30


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    """A valid address, lower-cased: emails are unique without regard to case."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid email address: {exc}", field="email") from exc
    return checked.normalized.lower()


def normalize_expertise(tags: list[str] | None) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags or () if t and t.strip()})
    if len(cleaned) > MAX_EXPERTISE_TAGS:
        raise InvalidInput(f"at most {MAX_EXPERTISE_TAGS} expertise tags", field="expertise")
    if any(len(t) > 60 for t in cleaned):
        raise InvalidInput("an expertise tag has at most 60 characters", field="expertise")
    return cleaned


def _text(value: str | None, name: str, *, max_length: int = 200, required: bool = True) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if not value:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{name} has at most {max_length} characters", field=name)
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


@dataclass(eq=False)
class Organization:
    id: str
    name: str
    sector: str | None = None
    region: str | None = None
    size_band: str | None = None
    created_at: datetime = field(default_factory=now)
    version: int = 1

    @classmethod
    def create(
        cls, *, name: str, sector: str | None = None, region: str | None = None, size_band: str | None = None
    ) -> Organization:
        org = cls(id=new_id(), name="")
        org.update(name=name, sector=sector, region=region, size_band=size_band)
        return org

    def update(self, **changes) -> set[str]:
        if "name" in changes:
            changes["name"] = _text(changes["name"], "name")
        if "sector" in changes:
            changes["sector"] = _text(changes["sector"], "sector", max_length=100, required=False)
        if changes.get("size_band") is not None:
            _choice(changes["size_band"], SIZE_BANDS, "size_band")
        return _apply(self, changes)


@dataclass(eq=False)
class ConsentChange:
    """One line of a member's consent history: given or withdrawn, for one purpose, at a time."""

    member_id: str
    purpose: str
    granted: bool
    changed_at: datetime
    seq: int | None = None


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
    consent_history: list[ConsentChange] = field(default_factory=list)

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
        unknown = set(consents) - set(CONSENT_PURPOSES)
        if unknown:
            raise InvalidInput(f"unknown consent purposes {sorted(unknown)}", field="consents")
        if not consents.get("processing"):
            raise InvalidInput("consent to processing is required to register", field="consents.processing")
        member = cls(
            id=new_id(),
            display_name=_text(display_name, "display_name"),
            email=normalize_email(email),
            language=_choice(language, LANGUAGES, "language"),
            region=region,
            organization_id=organization_id,
            job_title=_text(job_title, "job_title", required=False),
            expertise=normalize_expertise(expertise),
        )
        # Every purpose is recorded at registration, given or not: the history starts complete.
        member.consents = {p: bool(consents.get(p, False)) for p in CONSENT_PURPOSES}
        member.consent_history = [
            ConsentChange(member.id, p, granted, member.registered_at) for p, granted in member.consents.items()
        ]
        return member

    def update_profile(self, **changes) -> set[str]:
        """Apply the given changes; return the names of the fields that actually changed."""
        if "display_name" in changes:
            changes["display_name"] = _text(changes["display_name"], "display_name")
        if "email" in changes:
            if changes["email"] is None:
                raise InvalidInput("email is required", field="email")
            changes["email"] = normalize_email(changes["email"])
        if "language" in changes:
            _choice(changes["language"], LANGUAGES, "language")
        if "job_title" in changes:
            changes["job_title"] = _text(changes["job_title"], "job_title", required=False)
        if "expertise" in changes:
            changes["expertise"] = normalize_expertise(changes["expertise"])
        return _apply(self, changes)

    def set_consent(self, purpose: str, granted: bool, at: datetime | None = None) -> ConsentChange | None:
        """Give or withdraw consent for one purpose; None when nothing changes."""
        _choice(purpose, CONSENT_PURPOSES, "consents")
        if purpose == "processing" and not granted:
            raise InvalidInput(
                "consent to processing cannot be withdrawn while registered: ask for erasure instead",
                field="consents.processing",
            )
        if self.consents.get(purpose) == granted:
            return None
        change = ConsentChange(self.id, purpose, granted, at or now())
        self.consents = {**self.consents, purpose: granted}  # a new dict, so the change is persisted
        self.consent_history.append(change)
        return change

    def consents_changed_at(self) -> dict[str, datetime]:
        return {change.purpose: change.changed_at for change in self.consent_history}  # the history is in order

    @property
    def listed_in_directory(self) -> bool:
        return bool(self.consents.get("directory"))


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
        self._check()

    def _check(self) -> None:
        _choice(self.kind, COMMUNITY_KINDS, "kind")
        _choice(self.status, COMMUNITY_STATUSES, "status")
        if not self.regions and not self.province_wide:
            raise InvalidInput("a community needs at least one region, or province_wide", field="regions")
        if self.regions and self.province_wide:
            raise InvalidInput("a province-wide community lists no regions", field="regions")
        if not 1 <= self.cadence <= 24:
            raise InvalidInput("cadence is between 1 and 24 meetings a year", field="cadence")

    def update(self, **changes) -> set[str]:
        if "regions" in changes:
            changes["regions"] = sorted(set(changes["regions"] or ()))
        for name in ("name_fr", "name_en"):
            if name in changes:
                changes[name] = _text(changes[name], name)
        before = {k: getattr(self, k) for k in changes}
        changed = _apply(self, changes)
        try:
            self._check()
        except InvalidInput:
            _apply(self, before)
            raise
        return changed

    def change_status(self, status: str) -> bool:
        """Activate, pause or close; a closed community stays closed. False when nothing changes."""
        _choice(status, COMMUNITY_STATUSES, "status")
        if status == self.status:
            return False
        if self.status == "closed":
            raise Conflict("a closed community cannot be reopened; found a new one", field="status")
        self.status = status
        return True

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
    version: int = 1

    @property
    def active(self) -> bool:
        return self.left_at is None

    def leave(self, at: datetime | None = None) -> None:
        if not self.active:
            raise Conflict("this member already left this community", field="member_id")
        self.left_at = at or now()

    def change_role(self, role: str) -> bool:
        _choice(role, ROLES, "role")
        if not self.active:
            raise Conflict("this member left this community", field="member_id")
        if role == self.role:
            return False
        self.role = role
        return True


def join(community: Community, member: Member, role: str, current: Membership | None) -> Membership:
    community.ensure_open()
    _choice(role, ROLES, "role")
    if current is not None and current.active:
        raise Conflict("this member already belongs to this community", field="member_id")
    # A new row each time: the join/leave history (tenure) is kept.
    return Membership(id=new_id(), community_id=community.id, member_id=member.id, role=role, joined_at=now())


def leave(current: Membership | None, *, ever_joined: bool) -> Membership:
    """The member's current membership, now ended; leaving twice is a conflict, never having joined is not found."""
    if current is None:
        if ever_joined:
            raise Conflict("this member already left this community", field="member_id")
        raise NotFound("this member never belonged to this community", field="member_id")
    current.leave()
    return current


def _apply(target: object, changes: dict) -> set[str]:
    changed = set()
    for name, value in changes.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.add(name)
    return changed
