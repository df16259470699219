"""Regions: the indicators across a region's communities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ...service_layer import views
from .. import schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1/regions", tags=["regions"])


@router.get("/{code}/stats", response_model=schemas.RegionStatsPublic)
def region_stats(
    code: Annotated[str, Path(pattern=schemas.REGION_CODE, description="Québec region code, 01 to 17.")],
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
):
    """A region's indicators, across the communities tied to it (operators, its coordinators, partners)."""
    return schemas.region_stats_public(views.region_stats(uow, principal, code, clock()))
