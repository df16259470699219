"""HTTP bodies of community health and of the figures by organization, region, province, theme and year."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from ..service_layer import breakdowns, health

SIGNAL_LABELS: dict[str, tuple[str, str]] = {
    "attendance_down": (
        "Moins de personnes présentes à chacune des 3 dernières rencontres",
        "Fewer people present at each of the last 3 meetings",
    ),
    "no_new_member": ("Aucun nouveau membre depuis 6 mois", "No new member in 6 months"),
    "participation_falling": (
        "Propositions de thèmes et votes en baisse sur un an",
        "Theme proposals and votes falling over a year",
    ),
    "aging": ("Communauté de plus de 3 ans", "Community older than 3 years"),
}


class MonthPointPublic(BaseModel):
    month: date = Field(description="First day of the calendar month (UTC).", examples=["2026-10-01"])
    active_members: int = Field(description="Members belonging at the month's end.", examples=[24])
    joins: int = Field(description="Memberships started in the month.", examples=[2])
    departures: int = Field(description="Memberships ended in the month (erasures included).", examples=[1])
    sessions_held: int = Field(description="Sessions held in the month.", examples=[1])
    present: int = Field(description="People marked present, summed over the month's sessions.", examples=[15])
    absent: int = Field(description="Registrations marked absent, summed.", examples=[3])
    attendance_rate: float | None = Field(description="present / (present + absent); null without attendance.")
    first_timers: int = Field(description="Members at their first session of this community.", examples=[3])
    proposals: int = Field(description="Themes proposed in the month.", examples=[4])
    votes: int = Field(description="Votes cast in the month.", examples=[40])
    proposals_per_member: float | None = Field(description="proposals / active_members; null without members.")
    votes_per_member: float | None = Field(description="votes / active_members; null without members.")
    survey_agreement: float | None = Field(
        description="Mean % agree over the annual survey's indicators that year; null when not enough answers."
    )
    actions_opened: int | None = Field(description="Action plans opened in the month.")
    actions_deployed: int | None = Field(description="Action plans that reached 'deployed' in the month.")


class SignalPublic(BaseModel):
    code: str = Field(description="attendance_down, no_new_member, participation_falling or aging.")
    label_fr: str
    label_en: str


class AlertPublic(BaseModel):
    alert_id: str
    status: str = Field(description="raised or cleared.")
    signals: list[str]
    score: float
    month: date
    alerted_at: datetime


class ScoreParts(BaseModel):
    attendance: float = Field(description="0 to 1, weight 35.")
    renewal: float = Field(description="0 to 1, weight 25.")
    participation: float = Field(description="0 to 1, weight 25.")
    momentum: float = Field(description="0 to 1, weight 15.")


class CommunityHealthPublic(BaseModel):
    community_id: str
    name_fr: str
    name_en: str
    regions: list[str]
    score: float = Field(ge=0, le=100, description="Health score now, 0 to 100 (docs/insights.md).", examples=[72.5])
    parts: ScoreParts
    signals: list[SignalPublic] = Field(description="Decline signs that hold now.")
    status: str | None = Field(description="Alert state as the last assessment left it; null before the first.")
    series: list[MonthPointPublic]
    alerts: list[AlertPublic] = Field(description="Changes of alert state, latest first.")
    as_of: datetime


class CommunityScorePublic(BaseModel):
    community_id: str
    name_fr: str
    name_en: str
    score: float
    signals: list[SignalPublic]
    status: str | None


class RegionHealthPublic(BaseModel):
    region: str = Field(examples=["13"])
    raised: int = Field(description="Communities of the region whose alert is raised.")
    communities: list[CommunityScorePublic] = Field(description="Lowest score first.")
    series: list[MonthPointPublic] = Field(description="Summed over the region's communities.")
    as_of: datetime


class YearFiguresPublic(BaseModel):
    year: int = Field(examples=[2026])
    members: int | None = Field(description="Distinct people who belonged at some point of the year.")
    joins: int | None
    departures: int | None
    average_tenure_days: float | None = Field(description="Mean tenure of those memberships at the year's end.")
    sessions_held: int | None
    present: int | None
    attendance_rate: float | None
    proposals: int | None
    votes: int | None
    actions_opened: int | None
    actions_deployed: int | None
    enough: bool = Field(description="False when too few people: the people figures are then null.")


class OrganizationFiguresPublic(BaseModel):
    organization_id: str
    name: str | None
    region: str | None
    deleted: bool
    min_group: int = Field(description="Fewest people behind a shown figure.", examples=[5])
    years: list[YearFiguresPublic]


class RegionFiguresPublic(BaseModel):
    region: str
    communities: int = Field(description="Communities tied to the region (province-wide ones excluded).")
    years: list[YearFiguresPublic]


class RegionYearPublic(BaseModel):
    region: str
    communities: int
    figures: YearFiguresPublic


class ProvinceFiguresPublic(BaseModel):
    communities: int = Field(description="Every community once, province-wide ones included.")
    years: list[YearFiguresPublic] = Field(
        description="Totals: a community of two regions and a person of two communities are each counted once."
    )
    regions: list[RegionYearPublic] = Field(description="Each region's figures for the last year asked.")


class ThemeFiguresPublic(BaseModel):
    theme_id: str
    title: str
    community_id: str
    cycle_id: str | None
    retained: bool
    rank: int | None
    merged_into_id: str | None
    proposals_merged: int = Field(description="Duplicate proposals merged into this theme.")
    votes: int = Field(description="Votes for the theme and its merged duplicates.")
    sessions_held: int
    present: int
    attendance_rate: float | None
    attendees: int = Field(description="Distinct people present at its sessions.")
    actions_opened: int | None
    actions_deployed: int | None


def _signals(codes: list[str]) -> list[dict[str, str]]:
    return [
        {"code": c, "label_fr": SIGNAL_LABELS.get(c, (c, c))[0], "label_en": SIGNAL_LABELS.get(c, (c, c))[1]}
        for c in codes
    ]


def community_health_public(view: health.CommunityHealth) -> CommunityHealthPublic:
    body: dict[str, Any] = asdict(view)
    body["signals"] = _signals(view.signals)
    return CommunityHealthPublic.model_validate(body)


def region_health_public(view: health.RegionHealth) -> RegionHealthPublic:
    body: dict[str, Any] = asdict(view)
    for row, score in zip(body["communities"], view.communities, strict=True):
        row["signals"] = _signals(score.signals)
    return RegionHealthPublic.model_validate(body)


def organization_figures_public(view: breakdowns.OrganizationFigures) -> OrganizationFiguresPublic:
    return OrganizationFiguresPublic.model_validate(asdict(view))


def region_figures_public(view: breakdowns.RegionFigures) -> RegionFiguresPublic:
    return RegionFiguresPublic.model_validate(asdict(view))


def province_figures_public(view: breakdowns.ProvinceFigures) -> ProvinceFiguresPublic:
    return ProvinceFiguresPublic.model_validate(asdict(view))


def theme_figures_public(view: breakdowns.ThemeFigures) -> ThemeFiguresPublic:
    return ThemeFiguresPublic.model_validate(asdict(view))
