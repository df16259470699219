"""Reads answering the HTTP API; nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cercle_shared.principal import Principal

from ..domain import model
from . import access
from .unit_of_work import NotificationsUnitOfWork


@dataclass(frozen=True)
class ListDeliveries:
    member_id: str | None = None
    status: model.DeliveryStatus | None = None
    kind: model.EmailKind | None = None
    cursor: str | None = None
    limit: int = 50


def list_deliveries(
    query: ListDeliveries, uow: NotificationsUnitOfWork, principal: Principal
) -> tuple[Sequence[model.Delivery], str | None]:
    """A page of deliveries, newest first: operators see every one; a member their own; nobody else any."""
    member_id = access.deliveries_visible_to(principal, query.member_id)
    with uow:
        return uow.deliveries.page(
            member_id=member_id, status=query.status, kind=query.kind, cursor=query.cursor, limit=query.limit
        )


def preferences_of(member_id: str, uow: NotificationsUnitOfWork, principal: Principal) -> model.Preferences:
    """Stored preferences, or the defaults (the profile's language, every kind wanted; version 0)."""
    access.ensure_self_or_operator(principal, member_id)
    with uow:
        stored = uow.preferences.get(member_id)
        return stored if stored is not None else model.Preferences(member_id=member_id, version=0)
