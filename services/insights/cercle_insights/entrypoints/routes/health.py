"""Community health (monthly series, score, signs of decline, alerts) and the figures by organization, region,
province, theme and year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ...service_layer import breakdowns, health
from .. import health_schemas as schemas
from ..deps import ClockDep, PrincipalDep, UowDep
from ..schemas import REGION_CODE

router = APIRouter()

CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]
RegionCode = Annotated[str, Path(pattern=REGION_CODE, description="Québec region code, 01 to 17.")]
OrganizationId = Annotated[str, Path(min_length=1, max_length=64, description="Organization id.")]
ThemeId = Annotated[str, Path(min_length=1, max_length=64, description="Theme id.")]
Months = Annotated[int | None, Query(ge=1, le=120, description="Months of the series, up to now's (default 24).")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Only this year (default: every year, by year).")]


def _months(request: Request, months: int | None) -> int:
    return months or int(request.app.state.runtime.settings.health_series_months)


def _rules(request: Request) -> health.Rules:
    return health.rules_of(request.app.state.runtime.settings)


@router.get("/v1/communities/{community_id}/health", response_model=schemas.CommunityHealthPublic, tags=["health"])
def community_health(
    community_id: CommunityId,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    months: Months = None,
):
    """A community's monthly series, health score, signs of decline and alert history (counts only).

    Operators, partners, coordinators of one of its regions, its facilitators, and its current members.
    """
    view = health.community_health(
        uow, principal, community_id, clock(), months=_months(request, months), rules=_rules(request)
    )
    return schemas.community_health_public(view)


@router.get("/v1/regions/{code}/health", response_model=schemas.RegionHealthPublic, tags=["health"])
def region_health(
    code: RegionCode, request: Request, principal: PrincipalDep, uow: UowDep, clock: ClockDep, months: Months = None
):
    """The health of a region's communities, lowest score first, and their summed series (operators, its
    coordinators, partners)."""
    view = health.region_health(uow, principal, code, clock(), months=_months(request, months), rules=_rules(request))
    return schemas.region_health_public(view)


@router.get(
    "/v1/organizations/{organization_id}/figures", response_model=schemas.OrganizationFiguresPublic, tags=["figures"]
)
def organization_figures(
    organization_id: OrganizationId,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    year: Year = None,
):
    """Members, tenure, attendance and actions of an employer organization's people, by year.

    Operators; coordinators (within their regions' communities); a partner for her own organization only. Figures
    about fewer people than the threshold (`breakdown_min_group`, 5 by default) are null, with `enough` false.
    """
    min_group = int(request.app.state.runtime.settings.breakdown_min_group)
    view = breakdowns.organization_figures(uow, principal, organization_id, clock(), year=year, min_group=min_group)
    return schemas.organization_figures_public(view)


@router.get("/v1/regions/{code}/figures", response_model=schemas.RegionFiguresPublic, tags=["figures"])
def region_figures(code: RegionCode, principal: PrincipalDep, uow: UowDep, clock: ClockDep, year: Year = None):
    """Members, tenure, sessions, attendance, proposals, votes and actions of a region's communities, by year
    (operators, its coordinators, partners)."""
    return schemas.region_figures_public(breakdowns.region_figures(uow, principal, code, clock(), year=year))


@router.get("/v1/province/figures", response_model=schemas.ProvinceFiguresPublic, tags=["figures"])
def province_figures(principal: PrincipalDep, uow: UowDep, clock: ClockDep, year: Year = None):
    """The province's totals by year (a community spanning two regions counted once), and each region's figures
    (operators, coordinators, partners)."""
    return schemas.province_figures_public(breakdowns.province_figures(uow, principal, clock(), year=year))


@router.get("/v1/themes/{theme_id}/figures", response_model=schemas.ThemeFiguresPublic, tags=["figures"])
def theme_figures(theme_id: ThemeId, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """A theme's votes, sessions, attendance and actions (whoever may read its community's indicators)."""
    return schemas.theme_figures_public(breakdowns.theme_figures(uow, principal, theme_id, clock()))
