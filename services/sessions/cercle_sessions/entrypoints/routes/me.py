"""The caller's own: their sessions and their calendar feeds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from ...service_layer import calendars, views
from .. import schemas
from ..deps import ClockDep, Cursor, Limit, PrincipalDep, SettingsDep, UowDep

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("/sessions", response_model=schemas.MySessionsPage)
def my_sessions(principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """Your registrations (confirmed or waitlisted), with their sessions, in start order, a page at a time."""
    found = views.my_sessions(uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, lambda pair: schemas.my_session(*pair))


@router.post("/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=schemas.FeedPublic)
def issue_member_feed(principal: PrincipalDep, uow: UowDep, now: ClockDep, settings: SettingsDep) -> schemas.FeedPublic:
    """A secret iCalendar URL for your registrations; the previous one stops working."""
    feed, token = calendars.issue_member_feed(uow, principal, now)
    return schemas.feed_public(settings.public_base_url, feed, token)


@router.get("/calendar-feeds", response_model=schemas.FeedsPage)
def my_feeds(principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """The calendar feeds you were issued (community and personal), oldest first, without their secret URLs;
    DELETE /v1/calendars/{id} revokes one."""
    found = views.my_feeds(uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.FeedInfoPublic.model_validate)
