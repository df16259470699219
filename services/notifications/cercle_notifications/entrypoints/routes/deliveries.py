from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cercle_shared.web.pagination import Page

from ...domain.model import DeliveryStatus, EmailKind
from ...service_layer import views
from ..deps import PrincipalDep, UowDep
from ..schemas import DeliveryPublic, delivery_public

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


@router.get("", response_model=Page[DeliveryPublic])
def list_deliveries(
    principal: PrincipalDep,
    uow: UowDep,
    member_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    kind: Annotated[EmailKind | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryPublic]:
    """List email deliveries, newest first (operators: all; members: their own)."""
    query = views.ListDeliveries(member_id=member_id, status=status, kind=kind, cursor=cursor, limit=limit)
    items, next_cursor = views.list_deliveries(query, uow, principal)
    return Page[DeliveryPublic](items=[delivery_public(d) for d in items], next_cursor=next_cursor)
