"""Communities: the list the caller may see, and one community's indicators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cercle_shared.web.pagination import Page

from ...domain.model import CommunityStatus
from ...service_layer import views
from .. import schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/communities", tags=["communities"])

CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]


@router.get("", response_model=Page[schemas.CommunitySummary])
def list_communities(
    principal: PrincipalDep,
    uow: UowDep,
    region: Annotated[
        str | None, Query(pattern=schemas.REGION_CODE, description="Only communities of this region.")
    ] = None,
    status: Annotated[CommunityStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
):
    """Communities the caller may see, by French name, with their headline numbers.

    Operators and partners see all; coordinators those of their regions; facilitators those of their token;
    members those they currently belong to. Communities whose details have not arrived yet are not listed.
    """
    listings, next_cursor = views.list_communities(
        uow, principal, region=region, status=status, cursor=cursor, limit=limit
    )
    return Page[schemas.CommunitySummary](
        items=[schemas.community_summary(x) for x in listings], next_cursor=next_cursor
    )


@router.get("/{community_id}/stats", response_model=schemas.CommunityStatsPublic)
def community_stats(community_id: CommunityId, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """A community's indicators: members, sessions, registrations, attendance (counts only).

    Operators, partners, coordinators of one of its regions, its facilitators, and its current members.
    """
    return schemas.community_stats_public(views.community_stats(uow, principal, community_id, clock()))
