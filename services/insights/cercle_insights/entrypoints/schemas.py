"""HTTP response bodies and their mapping: counts and community descriptions only, never a member-level row."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import BaseModel, Field

from ..service_layer import views

REGION_CODE = r"^(0[1-9]|1[0-7])$"


class CommunityPublic(BaseModel):
    id: str
    name_fr: str
    name_en: str
    kind: str | None
    domain: str | None
    regions: list[str] = Field(description="Region codes; empty when province-wide.")
    province_wide: bool
    status: str | None = Field(description="active, paused or closed.")


class MemberFigures(BaseModel):
    active: int = Field(description="Members who currently belong.", examples=[18])
    joined_to_date: int = Field(description="Memberships started (a rejoin counts again).", examples=[25])
    left_to_date: int = Field(description="Memberships ended, erasures included.", examples=[7])
    average_tenure_days: float | None = Field(
        description="Mean length of memberships in days; ongoing ones run until now. Null without any.",
        examples=[212.5],
    )
    active_by_role: dict[str, int] = Field(
        description="Current members per role.", examples=[{"participant": 16, "facilitator": 2, "coordinator": 0}]
    )


class SessionFigures(BaseModel):
    total: int = Field(description="Sessions scheduled or held (cancelled ones excluded).", examples=[7])
    upcoming: int = Field(description="Scheduled sessions that have not started yet.", examples=[2])
    held: int = Field(description="Sessions marked held.", examples=[5])
    cancelled: int = Field(description="Cancelled sessions.", examples=[1])


class RegistrationFigures(BaseModel):
    confirmed: int = Field(
        description="Registrations holding a seat (promotions included); cancelled sessions left out.", examples=[95]
    )
    waitlisted: int = Field(description="Registrations waiting for a seat.", examples=[4])
    cancelled: int = Field(description="Registrations cancelled by their member.", examples=[6])


class AttendanceFigures(BaseModel):
    sessions_recorded: int = Field(description="Sessions whose attendance was recorded.", examples=[5])
    present: int = Field(description="Registrations marked present, summed.", examples=[80])
    absent: int = Field(description="Registrations marked absent, summed.", examples=[10])
    rate: float | None = Field(description="present / (present + absent); null without data.", examples=[0.889])


class CommunityStatsPublic(BaseModel):
    community: CommunityPublic
    members: MemberFigures
    sessions: SessionFigures
    registrations: RegistrationFigures
    attendance: AttendanceFigures
    as_of: datetime = Field(description="When these figures were computed.")


class CommunityCounts(BaseModel):
    total: int
    active: int
    paused: int
    closed: int


class RegionStatsPublic(BaseModel):
    region: str = Field(description="Québec region code.", examples=["13"])
    communities: CommunityCounts = Field(description="Communities of the region (province-wide ones excluded).")
    members: MemberFigures = Field(description="Across the region's communities; `active` counts each person once.")
    sessions: SessionFigures
    registrations: RegistrationFigures
    attendance: AttendanceFigures
    as_of: datetime


class Headline(BaseModel):
    active_members: int
    sessions: int = Field(description="Sessions scheduled or held.")
    confirmed_registrations: int
    waitlisted_registrations: int


class CommunitySummary(CommunityPublic):
    headline: Headline


def community_public(community: views.CommunityView) -> CommunityPublic:
    return CommunityPublic(**asdict(community))


def community_summary(listing: views.CommunityListing) -> CommunitySummary:
    return CommunitySummary(**asdict(listing.community), headline=Headline(**asdict(listing.headline)))


def community_stats_public(result: views.CommunityStats) -> CommunityStatsPublic:
    return CommunityStatsPublic(
        community=community_public(result.community), as_of=result.as_of, **asdict(result.figures)
    )


def region_stats_public(result: views.RegionStats) -> RegionStatsPublic:
    return RegionStatsPublic(
        region=result.region,
        communities=CommunityCounts(**result.communities),
        as_of=result.as_of,
        **asdict(result.figures),
    )
