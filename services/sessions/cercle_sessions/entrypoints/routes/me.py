"""The caller's own: their sessions and their personal calendar feed."""

from __future__ import annotations

from fastapi import APIRouter, status

from ...service_layer import calendars, views
from .. import schemas
from ..deps import ClockDep, PrincipalDep, SettingsDep, UowDep

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("/sessions", response_model=list[schemas.MySession])
def my_sessions(principal: PrincipalDep, uow: UowDep) -> list[schemas.MySession]:
    """Your registrations (confirmed or waitlisted), with their sessions, in start order."""
    return [schemas.my_session(s, r) for s, r in views.my_sessions(uow, principal)]


@router.post("/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=schemas.FeedPublic)
def issue_member_feed(principal: PrincipalDep, uow: UowDep, now: ClockDep, settings: SettingsDep) -> schemas.FeedPublic:
    """A secret iCalendar URL for your registrations; the previous one stops working."""
    token = calendars.issue_member_feed(uow, principal, now)
    return schemas.feed_public(settings.public_base_url, token, "member")
