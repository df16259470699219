"""Events published by the registration service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from . import topics
from .base import EventSpec, IntegrationEvent

Language = Literal["fr", "en"]
ConsentPurpose = Literal["processing", "directory", "email", "surveys"]
CommunityKind = Literal["community_of_practice", "co_development_group", "community_of_interest"]
CommunityStatus = Literal["active", "paused", "closed"]
MembershipRole = Literal["participant", "facilitator", "coordinator"]

_MEMBER_ID = Field(description="Stable, opaque member id.", examples=["0b8e6f0e-6a7c-4f43-9a53-4d0c3f7f9b11"])
_COMMUNITY_ID = Field(description="Stable, opaque community id.", examples=["c6d1c0a4-0a4b-4b9e-8d55-1f0c4e2b7a90"])
_REGION = Field(default=None, description="Québec administrative region code, 01 to 17.", examples=["06"])


class MemberRegistered(IntegrationEvent):
    """A professional registered with Cercle (no name or email: those travel on the internal contacts topic)."""

    member_id: str = _MEMBER_ID
    organization_id: str | None = Field(default=None, description="Employer, if known.")
    region: str | None = _REGION
    language: Language = Field(description="Preferred language for communications.", examples=["fr"])
    expertise: list[str] = Field(default_factory=list, description="Expertise tags.", examples=[["ergonomie"]])
    registered_at: datetime = Field(description="When the member registered.")


class MemberProfileUpdated(IntegrationEvent):
    """A member's non-identifying profile changed."""

    member_id: str = _MEMBER_ID
    organization_id: str | None = Field(default=None, description="Employer, if known.")
    region: str | None = _REGION
    language: Language = Field(description="Preferred language.", examples=["en"])
    expertise: list[str] = Field(default_factory=list, description="Expertise tags.")
    updated_at: datetime = Field(description="When the profile changed.")


class MemberConsentChanged(IntegrationEvent):
    """A member gave or withdrew consent for one purpose."""

    member_id: str = _MEMBER_ID
    purpose: ConsentPurpose = Field(description="What the consent is for.", examples=["email"])
    granted: bool = Field(description="True when given, false when withdrawn.")
    changed_at: datetime = Field(description="When it was given or withdrawn.")


class MemberErased(IntegrationEvent):
    """A member was erased (Québec Law 25): every service removes or anonymizes what it holds of them."""

    member_id: str = _MEMBER_ID
    erased_at: datetime = Field(description="When registration deleted the member's personal data.")


class MemberContactChanged(IntegrationEvent):
    """Latest contact data of a member. INTERNAL topic only: never relayed to partners."""

    member_id: str = _MEMBER_ID
    email: str = Field(description="Email address.", examples=["marie.tremblay@example.org"])
    display_name: str = Field(description="Name shown to peers.", examples=["Marie Tremblay"])
    language: Language = Field(description="Preferred language.", examples=["fr"])
    consents: dict[str, bool] = Field(
        description="Current consent per purpose.", examples=[{"processing": True, "email": True}]
    )
    updated_at: datetime = Field(description="When the contact data changed.")


class SignInLinkRequested(IntegrationEvent):
    """A member asked for a one-time sign-in link. INTERNAL topic only: the link is a secret, valid minutes."""

    member_id: str = _MEMBER_ID
    link: str = Field(description="The one-time sign-in URL to email (carries the code).")
    code: str = Field(description="The one-time code itself, for a member who types it instead of clicking.")
    language: Language = Field(description="Language of the email.", examples=["fr"])
    expires_at: datetime = Field(description="When the link stops working.")
    requested_at: datetime = Field(description="When it was asked for.")


class OrganizationCreated(IntegrationEvent):
    """An employer or partner organization was created."""

    organization_id: str = Field(description="Stable organization id.")
    name: str = Field(description="Organization name.", examples=["CISSS de Laval"])
    sector: str | None = Field(default=None, description="Sector of activity.", examples=["santé"])
    region: str | None = _REGION
    size_band: str | None = Field(default=None, description="Size band.", examples=["100-499"])
    created_at: datetime = Field(description="When it was created.")


class OrganizationUpdated(IntegrationEvent):
    """An organization's details changed."""

    organization_id: str = Field(description="Stable organization id.")
    name: str = Field(description="Organization name.")
    sector: str | None = Field(default=None, description="Sector of activity.")
    region: str | None = _REGION
    size_band: str | None = Field(default=None, description="Size band.")
    updated_at: datetime = Field(description="When it changed.")


class OrganizationDeleted(IntegrationEvent):
    """An organization no member belonged to was deleted."""

    organization_id: str = Field(description="Stable organization id.")
    deleted_at: datetime = Field(description="When it was deleted.")


class _CommunityDetails(IntegrationEvent):
    community_id: str = _COMMUNITY_ID
    name_fr: str = Field(description="Name in French.", examples=["CoP Santé mieux-être au travail — Laval"])
    name_en: str = Field(description="Name in English.", examples=["Workplace health and wellbeing CoP — Laval"])
    domain: str | None = Field(default=None, description="Domain of practice.", examples=["workplace_health"])
    kind: CommunityKind = Field(description="Kind of community.", examples=["community_of_practice"])
    regions: list[str] = Field(description="Region codes; empty when province-wide.", examples=[["13"]])
    province_wide: bool = Field(default=False, description="Open to every region (or virtual).")
    cadence: int = Field(description="Target meetings a year.", examples=[6])
    status: CommunityStatus = Field(description="Lifecycle status.", examples=["active"])


class CommunityCreated(_CommunityDetails):
    """A community was founded."""

    founded_on: date | None = Field(default=None, description="Founding date.")
    created_at: datetime = Field(description="When it was created.")


class CommunityUpdated(_CommunityDetails):
    """A community's details changed."""

    updated_at: datetime = Field(description="When it changed.")


class CommunityStatusChanged(IntegrationEvent):
    """A community was activated, paused or closed."""

    community_id: str = _COMMUNITY_ID
    status: CommunityStatus = Field(description="New status.", examples=["closed"])
    changed_at: datetime = Field(description="When it changed.")


class MembershipJoined(IntegrationEvent):
    """A member joined a community."""

    membership_id: str = Field(description="Stable membership id.")
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    role: MembershipRole = Field(description="Role in the community.", examples=["participant"])
    joined_at: datetime = Field(description="When they joined.")


class MembershipRoleChanged(IntegrationEvent):
    """A member's role in a community changed."""

    membership_id: str = Field(description="Stable membership id.")
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    role: MembershipRole = Field(description="New role.", examples=["facilitator"])
    changed_at: datetime = Field(description="When it changed.")


class MembershipLeft(IntegrationEvent):
    """A member left a community."""

    membership_id: str = Field(description="Stable membership id.")
    community_id: str = _COMMUNITY_ID
    member_id: str = _MEMBER_ID
    left_at: datetime = Field(description="When they left.")


def _t(name: str) -> str:
    return f"org.cercle.registration.{name}.v1"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(_t("member.registered"), MemberRegistered, topics.MEMBERS, "member_id"),
    EventSpec(_t("member.profile_updated"), MemberProfileUpdated, topics.MEMBERS, "member_id"),
    EventSpec(_t("member.consent_changed"), MemberConsentChanged, topics.MEMBERS, "member_id"),
    EventSpec(_t("member.erased"), MemberErased, topics.MEMBERS, "member_id"),
    EventSpec(_t("member.contact_changed"), MemberContactChanged, topics.MEMBER_CONTACTS, "member_id"),
    EventSpec(_t("member.sign_in_link_requested"), SignInLinkRequested, topics.SIGN_IN_LINKS, "member_id"),
    EventSpec(_t("organization.created"), OrganizationCreated, topics.ORGANIZATIONS, "organization_id"),
    EventSpec(_t("organization.updated"), OrganizationUpdated, topics.ORGANIZATIONS, "organization_id"),
    EventSpec(_t("organization.deleted"), OrganizationDeleted, topics.ORGANIZATIONS, "organization_id"),
    EventSpec(_t("community.created"), CommunityCreated, topics.COMMUNITIES, "community_id"),
    EventSpec(_t("community.updated"), CommunityUpdated, topics.COMMUNITIES, "community_id"),
    EventSpec(_t("community.status_changed"), CommunityStatusChanged, topics.COMMUNITIES, "community_id"),
    EventSpec(_t("membership.joined"), MembershipJoined, topics.MEMBERSHIPS, "community_id"),
    EventSpec(_t("membership.role_changed"), MembershipRoleChanged, topics.MEMBERSHIPS, "community_id"),
    EventSpec(_t("membership.left"), MembershipLeft, topics.MEMBERSHIPS, "community_id"),
)
