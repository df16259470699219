"""Calendar feeds: secret iCalendar URLs for a community's sessions, the feed behind any secret URL, and their
revocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from cercle_shared.errors import NotFound

from ...adapters import ical
from ...service_layer import calendars, views
from .. import schemas
from ..deps import (
    ClientAddressDep,
    ClockDep,
    Cursor,
    Limit,
    OptionalPrincipalDep,
    PrincipalDep,
    SettingsDep,
    ThrottleDep,
    UowDep,
)

router = APIRouter(prefix="/v1", tags=["calendars"])

PROBLEM: dict[str, Any] = {"application/problem+json": {}}
THROTTLED: dict[str, Any] = {
    "description": "Too many misses on feed URLs from your address: wait Retry-After seconds "
    "(CERCLE_FEED_MISS_LIMIT misses per CERCLE_FEED_MISS_WINDOW seconds)",
    "content": PROBLEM,
}


@router.post(
    "/communities/{community_id}/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=schemas.FeedPublic
)
def issue_community_feed(
    community_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep, settings: SettingsDep
) -> schemas.FeedPublic:
    """A secret iCalendar URL for the community's sessions (its members and managers).

    Every read is checked against your rights of the moment: once you leave the community (or are erased) the
    feed is revoked; DELETE /v1/calendars/{id} revokes it at any time."""
    cmd = calendars.IssueCommunityFeed(community_id=community_id)
    feed, token = calendars.issue_community_feed(cmd, uow, principal, now)
    return schemas.feed_public(settings.public_base_url, feed, token)


@router.get("/communities/{community_id}/calendar-feeds", response_model=schemas.FeedsPage)
def community_feeds(
    community_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """Every feed of the community's calendar, with its owner, oldest first (its managers, who may revoke them)."""
    found = views.community_feeds(community_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.FeedInfoPublic.model_validate)


@router.get(
    "/calendars/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        404: {
            "description": "No calendar behind this token (or it was revoked, or its owner may no longer see it)",
            "content": PROBLEM,
        },
        429: THROTTLED,
    },
)
def calendar(token: str, uow: UowDep, now: ClockDep, throttle: ThrottleDep, client: ClientAddressDep) -> Response:
    """The iCalendar feed behind a secret URL (no bearer token: calendar apps cannot send one), read with the
    rights its owner has now. Each event names its co-facilitators (CONTACT, and in DESCRIPTION, for those who
    agreed to appear in the community's directory) and its guests (DESCRIPTION)."""
    throttle.check(client, now)
    try:
        found = views.calendar(token, uow)
    except NotFound:
        throttle.miss(client, now)
        raise
    return Response(
        ical.feed(found.name, found.sessions, generated_at=now, tentative=found.tentative, people=found.people),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.delete(
    "/calendars/{feed}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        401: {"description": "The bearer token sent is invalid", "content": PROBLEM},
        404: {"description": "No such feed, or not yours to revoke", "content": PROBLEM},
        429: THROTTLED,
    },
)
def delete_feed(
    feed: str,
    uow: UowDep,
    now: ClockDep,
    throttle: ThrottleDep,
    client: ClientAddressDep,
    principal: OptionalPrincipalDep,
) -> Response:
    """Revoke a calendar feed: by its secret token (the last part of its URL, `.ics` optional), with or without
    a bearer token, since whoever holds the URL may read it; or by its id with a bearer token, as its owner or a
    manager of its community (community feeds; operators any feed). Anything else is a 404."""
    throttle.check(client, now)
    try:
        calendars.delete_feed(calendars.DeleteFeed(feed=feed), uow, principal)
    except NotFound:
        throttle.miss(client, now)
        raise
    return Response(status_code=status.HTTP_204_NO_CONTENT)
