"""Calendar feeds: secret iCalendar URLs for a community's sessions or a member's registrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal

from ..domain.library import CalendarFeed, FeedKind
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class IssueCommunityFeed:
    community_id: str


def issue_community_feed(cmd: IssueCommunityFeed, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> str:
    """A new secret feed token for a community's calendar (each caller gets their own)."""
    with uow:
        access.ensure_sees(principal, access.community(uow, cmd.community_id), uow)
        feed, token = CalendarFeed.issue(
            FeedKind.COMMUNITY, at, community_id=cmd.community_id, member_id=principal.member_id
        )
        uow.feeds.add(feed)
        uow.commit()
        return token


def issue_member_feed(uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> str:
    """A new secret feed token for the caller's registrations; the previous one stops working."""
    if not principal.member_id:
        raise InvalidInput("a member token is needed for a personal calendar", field="member_id")
    with uow:
        for old in uow.feeds.find(FeedKind.MEMBER, member_id=principal.member_id):
            uow.feeds.delete(old)
        feed, token = CalendarFeed.issue(FeedKind.MEMBER, at, member_id=principal.member_id)
        uow.feeds.add(feed)
        uow.commit()
        return token
