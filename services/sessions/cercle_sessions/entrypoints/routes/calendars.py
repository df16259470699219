"""Calendar feeds: a community's secret feed URL, and the iCalendar feed behind any secret URL."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ...adapters import ical
from ...service_layer import calendars, views
from .. import schemas
from ..deps import ClockDep, PrincipalDep, SettingsDep, UowDep

router = APIRouter(prefix="/v1", tags=["calendars"])


@router.post(
    "/communities/{community_id}/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=schemas.FeedPublic
)
def issue_community_feed(
    community_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep, settings: SettingsDep
) -> schemas.FeedPublic:
    """A secret iCalendar URL for the community's sessions (its members and managers)."""
    cmd = calendars.IssueCommunityFeed(community_id=community_id)
    token = calendars.issue_community_feed(cmd, uow, principal, now)
    return schemas.feed_public(settings.public_base_url, token, "community")


@router.get(
    "/calendars/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        404: {
            "description": "No calendar behind this token (or it was revoked)",
            "content": {"application/problem+json": {}},
        },
    },
)
def calendar(token: str, uow: UowDep, now: ClockDep) -> Response:
    """The iCalendar feed behind a secret URL (no bearer token: calendar apps cannot send one)."""
    name, found, waiting = views.calendar(token, uow)
    return Response(
        ical.feed(name, found, generated_at=now, tentative=waiting),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
