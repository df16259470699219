"""Organizations, members, communities and memberships: the rules, with no framework in sight.

Each aggregate records what happened to it (domain/events.py); the unit of work publishes that at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email

from cercle_shared.domain import Aggregate
from cercle_shared.errors import Conflict, InvalidInput, NotFound
from cercle_shared.text import check_single_line
from cercle_shared.vocabulary import (  # re-exported: the domain's own words too
    CommunityKind as CommunityKind,
)
from cercle_shared.vocabulary import (
    CommunityStatus as CommunityStatus,
)
from cercle_shared.vocabulary import (
    MembershipRole as MembershipRole,
)

from . import events


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class ConsentPurpose(StrEnum):
    PROCESSING = "processing"
    DIRECTORY = "directory"
    EMAIL = "email"
    SURVEYS = "surveys"


class SizeBand(StrEnum):
    """Number of employees."""

    FROM_1_TO_9 = "1-9"
    FROM_10_TO_49 = "10-49"
    FROM_50_TO_249 = "50-249"
    FROM_250_TO_999 = "250-999"
    FROM_1000 = "1000+"


MAX_EXPERTISE_TAGS = 30
CONTACT_FIELDS = frozenset({"email", "display_name", "language"})  # what the contacts topic carries, with consents

E = TypeVar("E", bound=StrEnum)

Clock = Callable[[], datetime]


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    """A valid address and nothing else (no display name, no angle brackets, no list), lower-cased: emails are
    unique without regard to case. Surrounding spaces are trimmed; a control character anywhere is refused."""
    if not isinstance(email, str):
        raise InvalidInput("invalid email address", field="email")
    _single_line(email, "email")
    try:
        checked = validate_email(email.strip(), check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid email address: {exc}", field="email") from exc
    return checked.normalized.lower()


def normalize_expertise(tags: Iterable[str] | None) -> list[str]:
    for tag in tags or ():
        _single_line(tag, "expertise")
    cleaned = sorted({t.strip().lower() for t in tags or () if t and t.strip()})
    if len(cleaned) > MAX_EXPERTISE_TAGS:
        raise InvalidInput(f"at most {MAX_EXPERTISE_TAGS} expertise tags", field="expertise")
    if any(len(t) > 60 for t in cleaned):
        raise InvalidInput("an expertise tag has at most 60 characters", field="expertise")
    return cleaned


def _single_line(value: object, name: str) -> None:
    """A one-line field (a name, a title, a tag) ends up in email headers, calendar lines and CSV cells: a control
    character (CR and LF included) is refused, naming the field."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    try:
        check_single_line(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}", field=name) from None


def _optional_text(value: str | None, name: str, *, max_length: int = 200) -> str | None:
    if value is not None:
        _single_line(value, name)
    value = value.strip() if isinstance(value, str) else value
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidInput(f"{name} has at most {max_length} characters", field=name)
    return value


def _text(value: str | None, name: str, *, max_length: int = 200) -> str:
    checked = _optional_text(value, name, max_length=max_length)
    if checked is None:
        raise InvalidInput(f"{name} is required", field=name)
    return checked


def _choice(value: object, allowed: type[E], name: str) -> E:
    try:
        return allowed(value)  # type: ignore[arg-type]  # anything that is not one of the values is refused
    except ValueError:
        raise InvalidInput(f"{name} must be one of {', '.join(m.value for m in allowed)}", field=name) from None


def _apply(target: object, changes: Mapping[str, Any]) -> set[str]:
    changed = set()
    for name, value in changes.items():
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.add(name)
    return changed


@dataclass(eq=False)
class Organization(Aggregate):
    id: str
    name: str
    sector: str | None = None
    region: str | None = None
    size_band: SizeBand | None = None
    created_at: datetime = field(default_factory=now)
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        name: str,
        sector: str | None = None,
        region: str | None = None,
        size_band: str | None = None,
        at: datetime | None = None,
    ) -> Organization:
        organization = cls(id=new_id(), name="", created_at=at or now())
        organization._change({"name": name, "sector": sector, "region": region, "size_band": size_band})
        organization.record(
            events.OrganizationCreated(
                organization_id=organization.id,
                name=organization.name,
                sector=organization.sector,
                region=organization.region,
                size_band=organization.size_band,
                created_at=organization.created_at,
            )
        )
        return organization

    def update(self, *, at: datetime | None = None, **changes: Any) -> set[str]:
        changed = self._change(changes)
        if changed:
            self.record(
                events.OrganizationUpdated(
                    organization_id=self.id,
                    name=self.name,
                    sector=self.sector,
                    region=self.region,
                    size_band=self.size_band,
                    updated_at=at or now(),
                )
            )
        return changed

    def delete(self, *, in_use: bool, at: datetime | None = None) -> None:
        """Record the deletion (the repository removes the row); not while members belong to it."""
        if in_use:
            raise Conflict("members still belong to this organization", field="organization_id")
        self.record(events.OrganizationDeleted(organization_id=self.id, deleted_at=at or now()))

    def _change(self, changes: Mapping[str, Any]) -> set[str]:
        checked = dict(changes)
        if "name" in checked:
            checked["name"] = _text(checked["name"], "name")
        if "sector" in checked:
            checked["sector"] = _optional_text(checked["sector"], "sector", max_length=100)
        if checked.get("size_band") is not None:
            checked["size_band"] = _choice(checked["size_band"], SizeBand, "size_band")
        return _apply(self, checked)


@dataclass(eq=False)
class ConsentChange:
    """One line of a member's consent history: given or withdrawn, for one purpose, at a time."""

    member_id: str
    purpose: ConsentPurpose
    granted: bool
    changed_at: datetime
    seq: int | None = None


@dataclass(eq=False)
class Member(Aggregate):
    id: str
    display_name: str
    email: str
    language: Language
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
        language: str = Language.FR,
        region: str | None = None,
        organization_id: str | None = None,
        job_title: str | None = None,
        expertise: Iterable[str] | None = None,
        consents: Mapping[str, bool] | None = None,
        at: datetime | None = None,
    ) -> Member:
        given = dict(consents or {})
        unknown = set(given) - set(ConsentPurpose)
        if unknown:
            raise InvalidInput(f"unknown consent purposes {sorted(unknown)}", field="consents")
        if not given.get(ConsentPurpose.PROCESSING):
            raise InvalidInput("consent to processing is required to register", field="consents.processing")
        member = cls(
            id=new_id(),
            display_name=_text(display_name, "display_name"),
            email=normalize_email(email),
            language=_choice(language, Language, "language"),
            region=region,
            organization_id=organization_id,
            job_title=_optional_text(job_title, "job_title"),
            expertise=normalize_expertise(expertise),
            registered_at=at or now(),
        )
        # Every purpose is recorded at registration, given or not: the history starts complete.
        member.consents = {p.value: bool(given.get(p, False)) for p in ConsentPurpose}
        member.consent_history = [
            ConsentChange(member.id, p, member.consents[p.value], member.registered_at) for p in ConsentPurpose
        ]
        member.record(
            events.MemberRegistered(
                member_id=member.id,
                display_name=member.display_name,
                email=member.email,
                language=member.language,
                region=member.region,
                organization_id=member.organization_id,
                expertise=tuple(member.expertise),
                consents=tuple(member.consents.items()),
                registered_at=member.registered_at,
            )
        )
        return member

    def update(
        self,
        changes: Mapping[str, Any],
        consents: Mapping[str, bool] | None = None,
        *,
        at: datetime | None = None,
        email_in_use: Callable[[str], bool] | None = None,
    ) -> set[str]:
        """Change profile fields and consents; return the names of the profile fields that actually changed.

        `email_in_use(email)` tells whether another member has that address: checked once the new address is
        valid, before any consent is looked at."""
        at = at or now()
        changed = self._change_profile(changes)
        if "email" in changed and email_in_use is not None and email_in_use(self.email):
            raise Conflict("a member with this email already exists", field="email")
        given = [
            c for purpose, granted in (consents or {}).items() if (c := self._change_consent(purpose, granted, at))
        ]
        self._record_changes(changed, given, at)
        return changed

    def update_profile(self, **changes: Any) -> set[str]:
        return self.update(changes)

    def set_consent(self, purpose: str, granted: bool, at: datetime | None = None) -> ConsentChange | None:
        """Give or withdraw consent for one purpose; None when nothing changes."""
        change = self._change_consent(purpose, granted, at or now())
        if change is not None:
            self._record_changes(set(), [change], change.changed_at)
        return change

    def erase(self, at: datetime | None = None) -> None:
        """Record the erasure (Law 25); the repositories then delete every row that names the member."""
        self.record(events.MemberErased(member_id=self.id, erased_at=at or now()))

    def consents_changed_at(self) -> dict[str, datetime]:
        return {str(change.purpose): change.changed_at for change in self.consent_history}  # the history is in order

    @property
    def listed_in_directory(self) -> bool:
        return bool(self.consents.get(ConsentPurpose.DIRECTORY))

    def _change_profile(self, changes: Mapping[str, Any]) -> set[str]:
        checked = dict(changes)
        if "display_name" in checked:
            checked["display_name"] = _text(checked["display_name"], "display_name")
        if "email" in checked:
            if checked["email"] is None:
                raise InvalidInput("email is required", field="email")
            checked["email"] = normalize_email(checked["email"])
        if "language" in checked:
            checked["language"] = _choice(checked["language"], Language, "language")
        if "job_title" in checked:
            checked["job_title"] = _optional_text(checked["job_title"], "job_title")
        if "expertise" in checked:
            checked["expertise"] = normalize_expertise(checked["expertise"])
        return _apply(self, checked)

    def _change_consent(self, purpose: str, granted: bool, at: datetime) -> ConsentChange | None:
        checked = _choice(purpose, ConsentPurpose, "consents")
        if checked is ConsentPurpose.PROCESSING and not granted:
            raise InvalidInput(
                "consent to processing cannot be withdrawn while registered: ask for erasure instead",
                field="consents.processing",
            )
        if self.consents.get(checked.value) == granted:
            return None
        change = ConsentChange(self.id, checked, granted, at)
        self.consents = {**self.consents, checked.value: granted}  # a new dict, so the change is persisted
        self.consent_history.append(change)
        return change

    def _record_changes(self, changed: set[str], given: list[ConsentChange], at: datetime) -> None:
        if changed:
            self.record(
                events.MemberProfileUpdated(
                    member_id=self.id,
                    changed=frozenset(changed),
                    organization_id=self.organization_id,
                    region=self.region,
                    language=self.language,
                    expertise=tuple(self.expertise),
                    updated_at=at,
                )
            )
        for change in given:
            self.record(
                events.MemberConsentChanged(
                    member_id=self.id, purpose=change.purpose, granted=change.granted, changed_at=change.changed_at
                )
            )
        if changed & CONTACT_FIELDS or given:
            self.record(
                events.MemberContactChanged(
                    member_id=self.id,
                    email=self.email,
                    display_name=self.display_name,
                    language=self.language,
                    consents=tuple(self.consents.items()),
                    updated_at=at,
                )
            )


@dataclass(eq=False)
class Community(Aggregate):
    id: str
    name_fr: str
    name_en: str
    kind: CommunityKind
    regions: list[str]
    province_wide: bool = False
    description_fr: str = ""
    description_en: str = ""
    domain: str | None = None
    cadence: int = 6
    status: CommunityStatus = CommunityStatus.ACTIVE
    founded_on: date | None = None
    created_at: datetime = field(default_factory=now)
    version: int = 1

    def __post_init__(self) -> None:
        self.kind = _choice(self.kind, CommunityKind, "kind")
        self.status = _choice(self.status, CommunityStatus, "status")
        self._check()

    @classmethod
    def create(
        cls,
        *,
        name_fr: str,
        name_en: str,
        kind: str,
        regions: Iterable[str],
        province_wide: bool = False,
        description_fr: str = "",
        description_en: str = "",
        domain: str | None = None,
        cadence: int = 6,
        founded_on: date | None = None,
        at: datetime | None = None,
    ) -> Community:
        community = cls(
            id=new_id(),
            name_fr=_text(name_fr, "name_fr"),
            name_en=_text(name_en, "name_en"),
            kind=_choice(kind, CommunityKind, "kind"),
            regions=sorted(set(regions)),
            province_wide=province_wide,
            description_fr=description_fr,
            description_en=description_en,
            domain=_optional_text(domain, "domain", max_length=100),
            cadence=cadence,
            founded_on=founded_on,
            created_at=at or now(),
        )
        community.record(
            events.CommunityCreated(
                community_id=community.id,
                **community._details(),
                founded_on=community.founded_on,
                created_at=community.created_at,
            )
        )
        return community

    def update(self, *, at: datetime | None = None, **changes: Any) -> set[str]:
        """Apply the changes, or none of them when the result would break a rule."""
        if "regions" in changes:
            changes["regions"] = sorted(set(changes["regions"] or ()))
        for name in ("name_fr", "name_en"):
            if name in changes:
                changes[name] = _text(changes[name], name)
        if "domain" in changes:
            changes["domain"] = _optional_text(changes["domain"], "domain", max_length=100)
        if "kind" in changes:
            changes["kind"] = _choice(changes["kind"], CommunityKind, "kind")
        before = {k: getattr(self, k) for k in changes}
        changed = _apply(self, changes)
        try:
            self._check()
        except InvalidInput:
            _apply(self, before)
            raise
        if changed:
            self.record(events.CommunityUpdated(community_id=self.id, **self._details(), updated_at=at or now()))
        return changed

    def change_status(self, status: str, at: datetime | None = None) -> bool:
        """Activate, pause or close; a closed community stays closed. False when nothing changes."""
        new = _choice(status, CommunityStatus, "status")
        if new == self.status:
            return False
        if self.status == CommunityStatus.CLOSED:
            raise Conflict("a closed community cannot be reopened; found a new one", field="status")
        self.status = new
        self.record(events.CommunityStatusChanged(community_id=self.id, status=new, changed_at=at or now()))
        return True

    def ensure_open(self) -> None:
        if self.status == CommunityStatus.CLOSED:
            raise Conflict("this community is closed and takes no new members", field="community_id")

    def _check(self) -> None:
        if not self.regions and not self.province_wide:
            raise InvalidInput("a community needs at least one region, or province_wide", field="regions")
        if self.regions and self.province_wide:
            raise InvalidInput("a province-wide community lists no regions", field="regions")
        if not 1 <= self.cadence <= 24:
            raise InvalidInput("cadence is between 1 and 24 meetings a year", field="cadence")

    def _details(self) -> dict[str, Any]:
        return {
            "name_fr": self.name_fr,
            "name_en": self.name_en,
            "domain": self.domain,
            "kind": self.kind,
            "regions": tuple(self.regions),
            "province_wide": self.province_wide,
            "cadence": self.cadence,
            "status": self.status,
        }


@dataclass(eq=False)
class Membership(Aggregate):
    id: str
    community_id: str
    member_id: str
    role: MembershipRole
    joined_at: datetime
    left_at: datetime | None = None
    version: int = 1

    @classmethod
    def start(cls, community_id: str, member_id: str, role: MembershipRole, at: datetime) -> Membership:
        membership = cls(id=new_id(), community_id=community_id, member_id=member_id, role=role, joined_at=at)
        membership.record(
            events.MembershipJoined(
                membership_id=membership.id,
                community_id=community_id,
                member_id=member_id,
                role=role,
                joined_at=at,
            )
        )
        return membership

    @property
    def active(self) -> bool:
        return self.left_at is None

    def leave(self, at: datetime | None = None) -> None:
        if not self.active:
            raise Conflict("this member already left this community", field="member_id")
        left_at = at or now()
        self.left_at = left_at
        self.record(
            events.MembershipLeft(
                membership_id=self.id, community_id=self.community_id, member_id=self.member_id, left_at=left_at
            )
        )

    def change_role(self, role: str, at: datetime | None = None) -> bool:
        new = _choice(role, MembershipRole, "role")
        if not self.active:
            raise Conflict("this member left this community", field="member_id")
        if new == self.role:
            return False
        self.role = new
        self.record(
            events.MembershipRoleChanged(
                membership_id=self.id,
                community_id=self.community_id,
                member_id=self.member_id,
                role=new,
                changed_at=at or now(),
            )
        )
        return True


def join(
    community: Community, member: Member, role: str, current: Membership | None, at: datetime | None = None
) -> Membership:
    community.ensure_open()
    checked = _choice(role, MembershipRole, "role")
    if current is not None and current.active:
        raise Conflict("this member already belongs to this community", field="member_id")
    # A new row each time: the join/leave history (tenure) is kept.
    return Membership.start(community.id, member.id, checked, at or now())


def leave(current: Membership | None, *, ever_joined: bool, at: datetime | None = None) -> Membership:
    """The member's current membership, now ended; leaving twice is a conflict, never having joined is not found."""
    if current is None:
        if ever_joined:
            raise Conflict("this member already left this community", field="member_id")
        raise NotFound("this member never belonged to this community", field="member_id")
    current.leave(at)
    return current


@dataclass(eq=False)
class MemberImport(Aggregate):
    """A real import while it writes its chunks: the members it wrote so far, so that an import the process left
    midway (stopped, killed) is undone rather than kept in part. Gone once the import is complete or undone."""

    id: str
    started_at: datetime
    progressed_at: datetime
    member_ids: list[str] = field(default_factory=list)
    version: int = 1

    @classmethod
    def start(cls, at: datetime) -> MemberImport:
        return cls(id=new_id(), started_at=at, progressed_at=at)

    def wrote(self, member_ids: Iterable[str], at: datetime) -> None:
        self.member_ids = [*self.member_ids, *member_ids]  # a new list, so the change is persisted
        self.progressed_at = at

    def undid(self, member_ids: Iterable[str], at: datetime) -> None:
        """Those members are erased again: what is left to undo is the rest."""
        gone = set(member_ids)
        self.member_ids = [m for m in self.member_ids if m not in gone]
        self.progressed_at = at
