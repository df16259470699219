"""Calendar feeds: secret iCalendar URLs for a community's sessions or a member's registrations.

A feed is revoked when its owner leaves the community or is erased (reactions), or when deleted here; every read
is also checked against its owner's rights of the moment (views.calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain.library import CalendarFeed, FeedKind, token_hash
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class IssueCommunityFeed:
    community_id: str


@dataclass(frozen=True)
class DeleteFeed:
    feed: str  # the feed's id (with a bearer token) or its secret token


def issue_community_feed(
    cmd: IssueCommunityFeed, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> tuple[CalendarFeed, str]:
    """A new secret feed token for a community's calendar (each caller gets their own)."""
    with uow:
        access.ensure_sees(principal, access.community(uow, cmd.community_id), uow)
        feed, token = CalendarFeed.issue(FeedKind.COMMUNITY, at, owner=principal, community_id=cmd.community_id)
        uow.feeds.add(feed)
        uow.commit()
        return feed, token


def issue_member_feed(uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> tuple[CalendarFeed, str]:
    """A new secret feed token for the caller's registrations; the previous one stops working."""
    if not principal.member_id:
        raise InvalidInput("a member token is needed for a personal calendar", field="member_id")
    with uow:
        for old in uow.feeds.find(FeedKind.MEMBER, member_id=principal.member_id):
            uow.feeds.delete(old)
        feed, token = CalendarFeed.issue(FeedKind.MEMBER, at, owner=principal)
        uow.feeds.add(feed)
        uow.commit()
        return feed, token


def delete_feed(cmd: DeleteFeed, uow: SessionsUnitOfWork, principal: Principal | None) -> None:
    """Revoke a feed. By its secret token: whoever holds the URL may revoke it (the token is the credential, as
    for reading). By its id: its owner, or a manager of its community (community feeds). Anything else is a 404,
    which tells nothing about what exists."""
    missing = NotFound("no such calendar feed", field="feed")
    with uow:
        feed = uow.feeds.by_token_hash(token_hash(cmd.feed.removesuffix(".ics")))
        if feed is None and principal is not None:
            feed = uow.feeds.get(cmd.feed)
            if feed is not None and not _may_delete(feed, principal, uow):
                feed = None
        if feed is None:
            raise missing
        uow.feeds.delete(feed)
        uow.commit()


def _may_delete(feed: CalendarFeed, principal: Principal, uow: SessionsUnitOfWork) -> bool:
    if feed.is_owned_by(principal) or principal.is_operator:
        return True
    if feed.kind != FeedKind.COMMUNITY or feed.community_id is None:
        return False
    community = uow.communities.get(feed.community_id)
    return community is not None and access.manages(principal, community, uow)
