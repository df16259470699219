"""HTTP routes: read-only indicators; scopes are checked in the service layer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from cercle_shared.auth import CurrentPrincipal
from cercle_shared.web.pagination import Page

from ..service_layer import queries
from ..service_layer.unit_of_work import InsightsUnitOfWork
from . import schemas


def _uow(request: Request) -> InsightsUnitOfWork:
    return request.app.state.uow_factory()


def _now(request: Request) -> datetime:
    return request.app.state.clock()


Uow = Annotated[InsightsUnitOfWork, Depends(_uow)]
Now = Annotated[datetime, Depends(_now)]
REGION_CODE = r"^(0[1-9]|1[0-7])$"
CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]

communities = APIRouter(prefix="/v1/communities", tags=["communities"])
regions = APIRouter(prefix="/v1/regions", tags=["regions"])


@communities.get("", response_model=Page[schemas.CommunitySummary])
def list_communities(
    principal: CurrentPrincipal,
    uow: Uow,
    region: Annotated[str | None, Query(pattern=REGION_CODE, description="Only communities of this region.")] = None,
    status: Annotated[Literal["active", "paused", "closed"] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
):
    """Communities the caller may see, by French name, with their headline numbers.

    Operators and partners see all; coordinators those of their regions; facilitators those of their token;
    members those they currently belong to. Communities whose details have not arrived yet are not listed.
    """
    listings, next_cursor = queries.list_communities(
        uow, principal, region=region, status=status, cursor=cursor, limit=limit
    )
    items = [schemas.CommunitySummary(**asdict(x.community), headline=asdict(x.headline)) for x in listings]
    return Page[schemas.CommunitySummary](items=items, next_cursor=next_cursor)


@communities.get("/{community_id}/stats", response_model=schemas.CommunityStatsPublic)
def community_stats(community_id: CommunityId, principal: CurrentPrincipal, uow: Uow, now: Now):
    """A community's indicators: members, sessions, registrations, attendance (counts only).

    Operators, partners, coordinators of one of its regions, its facilitators, and its current members.
    """
    result = queries.community_stats(uow, principal, community_id, now)
    return schemas.CommunityStatsPublic(
        community=asdict(result.community), as_of=result.as_of, **asdict(result.figures)
    )


@regions.get("/{code}/stats", response_model=schemas.RegionStatsPublic)
def region_stats(
    code: Annotated[str, Path(pattern=REGION_CODE, description="Québec region code, 01 to 17.")],
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
):
    """A region's indicators, across the communities tied to it (operators, its coordinators, partners)."""
    result = queries.region_stats(uow, principal, code, now)
    return schemas.RegionStatsPublic(
        region=result.region, communities=result.communities, as_of=result.as_of, **asdict(result.figures)
    )


ROUTERS = (communities, regions)
