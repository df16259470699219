"""HTTP request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from cercle_shared.web import StrictModel

Language = Literal["fr", "en"]
RegionCode = Field(pattern=r"^(0[1-9]|1[0-7])$", description="Québec region code, 01 to 17.", examples=["06"])


class Consents(StrictModel):
    processing: bool = Field(description="Consent to the processing of personal data; required to register.")
    directory: bool = Field(default=False, description="Appear in the peer directory of one's communities.")
    email: bool = Field(default=True, description="Receive email notifications.")
    surveys: bool = Field(default=False, description="Be invited to surveys.")


class MemberCreate(StrictModel):
    display_name: str = Field(min_length=1, max_length=200, examples=["Marie Tremblay"])
    email: EmailStr = Field(examples=["marie.tremblay@example.org"])
    language: Language = Field(default="fr", description="Preferred language; French by default.")
    region: str | None = RegionCode
    organization_id: str | None = None
    job_title: str | None = Field(default=None, max_length=200)
    expertise: list[str] = Field(default_factory=list, max_length=30, examples=[["ergonomie", "santé mentale"]])
    consents: Consents


class MemberPublic(BaseModel):
    id: str
    display_name: str
    email: str
    language: Language
    region: str | None
    organization_id: str | None
    job_title: str | None
    expertise: list[str]
    consents: dict[str, bool]
    registered_at: datetime
    version: int


class CommunityCreate(StrictModel):
    name_fr: str = Field(min_length=1, max_length=200, examples=["CoP Santé mieux-être au travail — Laval"])
    name_en: str = Field(min_length=1, max_length=200, examples=["Workplace health and wellbeing CoP — Laval"])
    description_fr: str = Field(default="", max_length=5000)
    description_en: str = Field(default="", max_length=5000)
    domain: str | None = Field(default=None, max_length=100, examples=["workplace_health"])
    kind: Literal["community_of_practice", "co_development_group", "community_of_interest"] = "community_of_practice"
    regions: list[str] = Field(default_factory=list, examples=[["13"]])
    province_wide: bool = False
    cadence: int = Field(default=6, ge=1, le=24, description="Target meetings a year (5-10 usual).")
    founded_on: date | None = None


class CommunityPublic(BaseModel):
    id: str
    name_fr: str
    name_en: str
    description_fr: str
    description_en: str
    domain: str | None
    kind: str
    regions: list[str]
    province_wide: bool
    cadence: int
    status: str
    founded_on: date | None
    version: int


class MembershipCreate(StrictModel):
    member_id: str = Field(min_length=1, max_length=36)
    role: Literal["participant", "facilitator", "coordinator"] = "participant"


class MembershipPublic(BaseModel):
    id: str
    community_id: str
    member_id: str
    role: str
    joined_at: datetime
    left_at: datetime | None
