"""HTTP routes: validate, build a command, call a handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from cercle_shared.auth import CurrentPrincipal
from cercle_shared.web.etag import etag, expected_version
from cercle_shared.web.pagination import Page

from ..service_layer import commands, handlers
from ..service_layer.unit_of_work import NotificationsUnitOfWork
from . import schemas


def _uow(request: Request) -> NotificationsUnitOfWork:
    return request.app.state.uow_factory()


Uow = Annotated[NotificationsUnitOfWork, Depends(_uow)]

deliveries = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])
preferences = APIRouter(prefix="/v1/members/{member_id}/preferences", tags=["preferences"])


@deliveries.get("", response_model=Page[schemas.DeliveryPublic])
def list_deliveries(
    principal: CurrentPrincipal,
    uow: Uow,
    member_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[schemas.Status | None, Query()] = None,
    kind: Annotated[schemas.Kind | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """List email deliveries, newest first (operators: all; members: their own)."""
    query = commands.ListDeliveries(member_id=member_id, status=status, kind=kind, cursor=cursor, limit=limit)
    items, next_cursor = handlers.list_deliveries(query, uow, principal)
    return Page[schemas.DeliveryPublic](
        items=[schemas.DeliveryPublic.model_validate(d, from_attributes=True) for d in items], next_cursor=next_cursor
    )


@preferences.get("", response_model=schemas.PreferencesPublic)
def get_preferences(member_id: str, principal: CurrentPrincipal, uow: Uow, response: Response):
    """A member's email preferences (the member themselves, or an operator)."""
    stored = handlers.get_preferences(member_id, uow, principal)
    response.headers["ETag"] = etag(stored.version)
    return stored


@preferences.put("", response_model=schemas.PreferencesPublic)
def put_preferences(
    member_id: str,
    body: schemas.PreferencesUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
):
    """Replace a member's email preferences; If-Match (optional) guards against overwriting a newer change."""
    cmd = commands.UpdatePreferences(
        member_id=member_id,
        language=body.language,
        opt_out=list(body.opt_out),
        expected_version=expected_version(if_match) if if_match else None,
    )
    stored = handlers.update_preferences(cmd, uow, principal)
    response.headers["ETag"] = etag(stored.version)
    return stored


ROUTERS = (deliveries, preferences)
