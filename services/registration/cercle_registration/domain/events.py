"""What happened to registration's aggregates, in the past tense. The service layer's translation table turns
each into the integration events other services read; these stay inside registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cercle_shared.domain import DomainEvent


@dataclass(frozen=True)
class OrganizationCreated(DomainEvent):
    organization_id: str
    name: str
    sector: str | None
    region: str | None
    size_band: str | None
    created_at: datetime


@dataclass(frozen=True)
class OrganizationUpdated(DomainEvent):
    organization_id: str
    name: str
    sector: str | None
    region: str | None
    size_band: str | None
    updated_at: datetime


@dataclass(frozen=True)
class OrganizationDeleted(DomainEvent):
    organization_id: str
    deleted_at: datetime


@dataclass(frozen=True)
class MemberRegistered(DomainEvent):
    """With the member's contact data and every consent as given at registration."""

    member_id: str
    display_name: str
    email: str
    language: str
    region: str | None
    organization_id: str | None
    expertise: tuple[str, ...]
    consents: tuple[tuple[str, bool], ...]  # (purpose, granted), every purpose, in order
    registered_at: datetime


@dataclass(frozen=True)
class MemberProfileUpdated(DomainEvent):
    member_id: str
    changed: frozenset[str]  # names of the fields that changed
    organization_id: str | None
    region: str | None
    language: str
    expertise: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class MemberConsentChanged(DomainEvent):
    member_id: str
    purpose: str
    granted: bool
    changed_at: datetime


@dataclass(frozen=True)
class MemberContactChanged(DomainEvent):
    """How to reach the member changed: email, name, language, or a consent."""

    member_id: str
    email: str
    display_name: str
    language: str
    consents: tuple[tuple[str, bool], ...]
    updated_at: datetime


@dataclass(frozen=True)
class MemberErased(DomainEvent):
    member_id: str
    erased_at: datetime


@dataclass(frozen=True)
class CommunityCreated(DomainEvent):
    community_id: str
    name_fr: str
    name_en: str
    domain: str | None
    kind: str
    regions: tuple[str, ...]
    province_wide: bool
    cadence: int
    status: str
    founded_on: date | None
    created_at: datetime


@dataclass(frozen=True)
class CommunityUpdated(DomainEvent):
    community_id: str
    name_fr: str
    name_en: str
    domain: str | None
    kind: str
    regions: tuple[str, ...]
    province_wide: bool
    cadence: int
    status: str
    updated_at: datetime


@dataclass(frozen=True)
class CommunityStatusChanged(DomainEvent):
    community_id: str
    status: str
    changed_at: datetime


@dataclass(frozen=True)
class MembershipJoined(DomainEvent):
    membership_id: str
    community_id: str
    member_id: str
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class MembershipRoleChanged(DomainEvent):
    membership_id: str
    community_id: str
    member_id: str
    role: str
    changed_at: datetime


@dataclass(frozen=True)
class MembershipLeft(DomainEvent):
    membership_id: str
    community_id: str
    member_id: str
    left_at: datetime


@dataclass(frozen=True)
class SignInLinkRequested(DomainEvent):
    """A one-time sign-in code was made for a member; the link and the code travel only to the email."""

    member_id: str
    link: str
    code: str
    language: str
    expires_at: datetime
    requested_at: datetime
