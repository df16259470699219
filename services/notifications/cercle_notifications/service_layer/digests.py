"""The weekly digest (category `digest`): on the day each member chose, what was published in her communities
the week before (summaries of sessions, resources shared), grouped by community, in her language.

Nothing is sent when nothing is new. The "send-digests" job (entrypoints/jobs.py) runs every few minutes; from
`digest_hour` (America/Toronto) on her day it owes her one digest for the week ending that morning at midnight.
It is idempotent per (member, week): the delivery's source is `digest:<ISO week>`, unique per member and kind, so a
second run, a restart or a second instance adds nothing; a service down all that day sends it the next run within
the week (until the next digest day), never twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cercle_shared.contracts import sessions as session_events
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext
from cercle_shared.text import one_line

from ..adapters import orm
from ..adapters.repository import NewsItem
from ..domain import model
from ..domain.model import Category, EmailKind
from .announcements import owe
from .sending import Composed, Draft
from .unit_of_work import NotificationsUnitOfWork
from .unsubscribe import may_send

WALL_CLOCK = ZoneInfo("America/Toronto")
SUMMARY, RESOURCE = "summary", "resource"


# --- what is news ------------------------------------------------------------------------------------------------


def summary_published(
    event: session_events.SessionSummaryPublished, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    session = uow.sessions.get(event.session_id)
    uow.news.record(
        NewsItem(
            SUMMARY,
            event.session_id,
            event.community_id,
            session.title if session else None,
            storable.instant(event.published_at),
        )
    )


def resource_shared(event: session_events.ResourceShared, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    uow.news.record(
        NewsItem(
            RESOURCE,
            event.resource_id,
            event.community_id,
            storable.text(event.title, orm.news_items.c.title),
            storable.instant(event.shared_at),
        )
    )


# --- the job -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    label: str  # ISO week of the digest day, e.g. 2026-W36
    weekday: str  # the digest day, e.g. "tuesday"
    start: datetime  # [start, end): the seven days before the digest day, midnight to midnight in Québec
    end: datetime


def week_of(at: datetime) -> Week:
    local = at.astimezone(WALL_CLOCK)
    end = datetime.combine(local.date(), time(0), tzinfo=WALL_CLOCK)
    start = datetime.combine(local.date() - timedelta(days=7), time(0), tzinfo=WALL_CLOCK)
    year, week, _ = local.date().isocalendar()
    return Week(f"{year}-W{week:02d}", model.WEEKDAYS[local.weekday()], start, end)


def owe_digests(uow: NotificationsUnitOfWork, at: datetime, digest_hour: int) -> int:
    """Owe today's digests (members whose day it is, past the hour, with news); returns how many were owed."""
    if at.astimezone(WALL_CLOCK).hour < digest_hour:
        return 0
    week = week_of(at)
    source = f"digest:{week.label}"
    owed = 0
    with uow, uow.db.no_autoflush:  # one row per distinct member: the commit flushes them all
        for member_id, communities in uow.memberships.communities_by_member().items():
            preferences = uow.preferences.get(member_id)
            day = preferences.digest_day if preferences else model.DEFAULT_DIGEST_DAY
            if day != week.weekday or not may_send(uow, member_id, Category.DIGEST):
                continue
            if uow.deliveries.by_source(source, EmailKind.WEEKLY_DIGEST, member_id) is not None:
                continue
            items = uow.news.published(communities, week.start, week.end)
            if not items:
                continue  # nothing new: nothing sent
            details = {
                "week": week.label,
                "items": [
                    {"kind": i.kind, "subject_id": i.subject_id, "community_id": i.community_id, "title": i.title}
                    for i in items
                ],
                # a digest that could not go before the next one is not worth sending any more
                "not_after": (week.end + timedelta(days=7)).isoformat(),
            }
            if owe(uow, source, EmailKind.WEEKLY_DIGEST, member_id, details, at=at) is not None:
                owed += 1
        uow.commit()
    return owed


# --- what it says ------------------------------------------------------------------------------------------------


def compose_digest(sessions_url: str) -> Callable[[Draft], Composed]:
    def compose(draft: Draft) -> Composed:
        language = draft.language
        grouped: dict[str, dict[str, Any]] = {}
        for item in draft.delivery.details["items"]:
            community_id = item["community_id"]
            if community_id not in grouped:
                community = draft.uow.communities.get(community_id)
                name = one_line(community.name(language)) if community else community_id
                grouped[community_id] = {"name": name, "summaries": [], "resources": []}
            title = item["title"]
            if item["kind"] == SUMMARY:
                session = draft.uow.sessions.get(item["subject_id"])
                title = session.title if session else title
                entry = {"title": one_line(title or "—"), "url": f"{sessions_url.rstrip('/')}/{item['subject_id']}"}
                grouped[community_id]["summaries"].append(entry)
            else:
                grouped[community_id]["resources"].append({"title": one_line(title or "—"), "url": None})
        communities = sorted(grouped.values(), key=lambda c: str(c["name"]).casefold())
        return Composed({"display_name": one_line(draft.contact.display_name), "communities": communities})

    return compose
