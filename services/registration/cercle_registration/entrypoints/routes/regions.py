from __future__ import annotations

from fastapi import APIRouter

from .. import schemas
from ..deps import NOT_PARTNERS, RegionsDep

router = APIRouter(prefix="/v1/regions", tags=["regions"], dependencies=NOT_PARTNERS)


@router.get("", response_model=list[schemas.RegionPublic], summary="List the regions this deployment serves")
def list_regions(regions: RegionsDep):
    """Québec's administrative regions enabled here (CERCLE_ENABLED_REGIONS), with names in French and English."""
    return [schemas.region_public(r) for r in regions.all()]
