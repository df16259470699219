"""What callers ask the registration service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class CreateOrganization:
    name: str
    sector: str | None = None
    region: str | None = None
    size_band: str | None = None


@dataclass(frozen=True)
class UpdateOrganization:
    organization_id: str
    expected_version: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class DeleteOrganization:
    organization_id: str


@dataclass(frozen=True)
class RegisterMember:
    display_name: str
    email: str
    language: str = "fr"
    region: str | None = None
    organization_id: str | None = None
    job_title: str | None = None
    expertise: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateMember:
    """Profile fields and consents to change; only the keys present change."""

    member_id: str
    expected_version: int
    changes: dict[str, Any]
    consents: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class EraseMember:
    member_id: str


@dataclass(frozen=True)
class CreateCommunity:
    name_fr: str
    name_en: str
    kind: str
    regions: list[str]
    province_wide: bool = False
    description_fr: str = ""
    description_en: str = ""
    domain: str | None = None
    cadence: int = 6
    founded_on: date | None = None


@dataclass(frozen=True)
class UpdateCommunity:
    community_id: str
    expected_version: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class ChangeCommunityStatus:
    community_id: str
    status: str
    expected_version: int


@dataclass(frozen=True)
class JoinCommunity:
    community_id: str
    member_id: str
    role: str = "participant"


@dataclass(frozen=True)
class LeaveCommunity:
    community_id: str
    member_id: str


@dataclass(frozen=True)
class ChangeMembershipRole:
    community_id: str
    member_id: str
    role: str
    expected_version: int
