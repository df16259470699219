"""Announcements to the members of a community (category `announcements`), and the sign-in link she asked for.

- a session scheduled: at once, to every member of its community, with the link to register;
- the call for themes (ProgramCycleOpened): at once;
- the vote opened and the vote closing in 48 h: timed messages (service_layer/timed.py) planned when the cycle
  opens, at its `voting_opens_at` and 48 h before its `voting_closes_at`, skipped once the vote has closed;
- the themes retained (ThemesRetained): at once.

Who "the members" are: the memberships replica (registration's memberships topic) at the moment of the event.
The vote-closing message goes to members who have not voted: sessions publishes BallotCast (who took part, never
for what) on an internal topic, and her planned message is cancelled when she votes.

Each reaction only records deliveries (or timed messages); the sender checks consent and the categories she
stopped when it sends, renders her language, and adds the one-click unsubscribe headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.db import storable
from cercle_shared.messaging import EventContext
from cercle_shared.text import one_line

from ..adapters import orm
from ..domain import model
from ..domain.model import CATEGORY_OF, EmailKind
from ..domain.timed import TimedKey
from ..domain.when import format_date, format_time
from . import timed
from .sending import Composed, Composer, Draft, email_context
from .unit_of_work import NotificationsUnitOfWork

VOTE_CLOSING_NOTICE = timedelta(hours=48)
WALL_CLOCK = ZoneInfo("America/Toronto")


def moment(at: datetime, language: str) -> str:
    """« mardi 3 mars 2026 à 17 h » / "Tuesday, March 3, 2026 at 5:00 PM", in Québec's wall time."""
    local = at.astimezone(WALL_CLOCK)
    joiner = " à " if language == "fr" else " at "
    return f"{format_date(local, language)}{joiner}{format_time(local, language)}"


def owe(
    uow: NotificationsUnitOfWork,
    source: str,
    kind: EmailKind,
    member_id: str,
    details: dict[str, Any],
    *,
    session_id: str | None = None,
    at: datetime | None = None,
) -> model.Delivery | None:
    """One delivery per source, kind and member, however often the source is seen."""
    if member_id in uow.erased_members or uow.deliveries.by_source(source, kind, member_id) is not None:
        return None
    delivery = model.Delivery.create(
        source_event_id=source,
        kind=kind,
        member_id=member_id,
        session_id=session_id,  # type: ignore[arg-type]  # None: a message about no session
        details=details,
        contact_known=uow.contacts.get(member_id) is not None,
        session_known=session_id is None or uow.sessions.get(session_id) is not None,
        at=at,
    )
    uow.deliveries.add(delivery)
    return delivery


def _members(uow: NotificationsUnitOfWork, community_id: str) -> list[str]:
    return sorted({membership.member_id for membership in uow.memberships.of_community(community_id)})


@contextmanager
def _fan_out(uow: NotificationsUnitOfWork) -> Iterator[None]:
    """One row per distinct member: no need to flush before each look-up (the commit flushes them all)."""
    with uow.db.no_autoflush:
        yield


# --- the sign-in link (transactional: she asked for it) -----------------------------------------------------------


def sign_in_link_requested(
    event: reg_events.SignInLinkRequested, uow: NotificationsUnitOfWork, ctx: EventContext
) -> None:
    """Owe her the email with the link and the code; never after the link expired (skipped as too late). The link
    and code are kept only until the delivery is settled, and never logged."""
    expires_at = storable.instant(event.expires_at)
    minutes = max(1, round((expires_at - storable.instant(event.requested_at)).total_seconds() / 60))
    owe(
        uow,
        ctx.event_id,
        EmailKind.SIGN_IN_LINK,
        event.member_id,
        {"link": event.link, "code": event.code, "minutes": minutes, "not_after": expires_at.isoformat()},
        at=ctx.time,
    )


def compose_sign_in(draft: Draft) -> Composed:
    details = draft.delivery.details
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "link": details["link"],
            "code": details["code"],
            "minutes": details["minutes"],
        }
    )


# --- announcements -----------------------------------------------------------------------------------------------


def session_scheduled(event: session_events.SessionScheduled, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """Every member of the community hears of a new session (not of one already begun: a replayed history)."""
    starts_at = storable.instant(event.starts_at)
    if starts_at <= ctx.time:
        return
    with _fan_out(uow):
        _announce_session(uow, event, ctx, starts_at)


def _announce_session(
    uow: NotificationsUnitOfWork, event: session_events.SessionScheduled, ctx: EventContext, starts_at: datetime
) -> None:
    for member_id in _members(uow, event.community_id):
        owe(
            uow,
            ctx.event_id,
            EmailKind.ANNOUNCEMENT_SESSION_SCHEDULED,
            member_id,
            {"not_after": starts_at.isoformat()},
            session_id=event.session_id,
            at=ctx.time,
        )


def cycle_opened(event: session_events.ProgramCycleOpened, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """The call for themes now; the vote's opening and its last 48 h planned as timed messages."""
    at = ctx.time
    cycle = {
        "community_id": event.community_id,
        "cycle_id": event.cycle_id,
        "proposals_close_at": storable.instant(event.proposals_close_at).isoformat(),
        "voting_opens_at": storable.instant(event.voting_opens_at).isoformat(),
        "voting_closes_at": storable.instant(event.voting_closes_at).isoformat(),
        "themes_to_retain": event.themes_to_retain,
    }
    proposals_close = storable.instant(event.proposals_close_at)
    opens, closes = storable.instant(event.voting_opens_at), storable.instant(event.voting_closes_at)
    subject = f"cycle:{event.cycle_id}"
    for member_id in _members(uow, event.community_id):
        if member_id in uow.erased_members:
            continue
        if proposals_close > at:
            owe(
                uow,
                ctx.event_id,
                EmailKind.ANNOUNCEMENT_CALL_FOR_THEMES,
                member_id,
                {**cycle, "not_after": proposals_close.isoformat()},
                at=at,
            )
        if closes > at:
            timed.plan(
                uow,
                TimedKey(member_id, subject, EmailKind.ANNOUNCEMENT_VOTE_OPENED, "opens"),
                due_at=max(opens, at),
                not_after=closes,
                payload=cycle,
                at=at,
            )
            timed.plan(
                uow,
                TimedKey(member_id, subject, EmailKind.ANNOUNCEMENT_VOTE_CLOSING, "48h"),
                due_at=max(closes - VOTE_CLOSING_NOTICE, opens, at),
                not_after=closes,
                payload=cycle,
                at=at,
            )


def ballot_cast(event: session_events.BallotCast, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    """She voted: her vote-closing reminder is not planned any more (the internal ballots topic says who took
    part, never for what; nothing of it is kept here)."""
    timed.cancel(
        uow,
        f"cycle:{event.cycle_id}",
        kind=EmailKind.ANNOUNCEMENT_VOTE_CLOSING,
        member_id=event.member_id,
        why="she voted",
        at=ctx.time,
    )


def member_left(uow: NotificationsUnitOfWork, community_id: str, member_id: str, at: datetime) -> None:
    """She left the community: the vote messages planned for her there are not sent any more."""
    for message in uow.timed.of_member(member_id):
        if message.kind in CATEGORY_OF and message.payload.get("community_id") == community_id:
            message.cancel(at, "left the community")


def themes_retained(event: session_events.ThemesRetained, uow: NotificationsUnitOfWork, ctx: EventContext) -> None:
    themes = [
        {"rank": theme.rank, "title": storable.text(theme.title, orm.sessions.c.title)}
        for theme in sorted(event.themes, key=lambda t: t.rank)
    ]
    details = {"community_id": event.community_id, "themes": themes, "total_votes": event.total_votes}
    with _fan_out(uow):
        for member_id in _members(uow, event.community_id):
            owe(uow, ctx.event_id, EmailKind.ANNOUNCEMENT_THEMES_RETAINED, member_id, details, at=ctx.time)


# --- what their emails say ---------------------------------------------------------------------------------------


def _community_name(draft: Draft) -> str | None:
    community = draft.community
    if community is None and draft.delivery.details.get("community_id"):
        community = draft.uow.communities.get(draft.delivery.details["community_id"])
    return one_line(community.name(draft.language)) if community else None


def compose_session_announcement(sessions_url: str) -> Composer:
    def compose(draft: Draft) -> Composed:
        if draft.session is None:
            raise ValueError("a session announcement needs its session")
        context = email_context(draft.delivery, draft.contact, draft.session, draft.community, draft.language)
        context["register_url"] = f"{sessions_url.rstrip('/')}/{draft.session.session_id}"
        return Composed(context)

    return compose


def compose_cycle(draft: Draft) -> Composed:
    details, language = draft.delivery.details, draft.language
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "community_name": _community_name(draft),
            "proposals_close": moment(datetime.fromisoformat(details["proposals_close_at"]), language),
            "voting_opens": moment(datetime.fromisoformat(details["voting_opens_at"]), language),
            "voting_closes": moment(datetime.fromisoformat(details["voting_closes_at"]), language),
            "themes_to_retain": details["themes_to_retain"],
        }
    )


def compose_themes_retained(draft: Draft) -> Composed:
    details = draft.delivery.details
    return Composed(
        {
            "display_name": one_line(draft.contact.display_name),
            "community_name": _community_name(draft),
            "themes": [{"rank": t["rank"], "title": one_line(t["title"])} for t in details["themes"]],
            "total_votes": details["total_votes"],
        }
    )


def composers(sessions_url: str) -> dict[str, Callable[[Draft], Composed]]:
    return {
        EmailKind.SIGN_IN_LINK: compose_sign_in,
        EmailKind.ANNOUNCEMENT_SESSION_SCHEDULED: compose_session_announcement(sessions_url),
        EmailKind.ANNOUNCEMENT_CALL_FOR_THEMES: compose_cycle,
        EmailKind.ANNOUNCEMENT_VOTE_OPENED: compose_cycle,
        EmailKind.ANNOUNCEMENT_VOTE_CLOSING: compose_cycle,
        EmailKind.ANNOUNCEMENT_THEMES_RETAINED: compose_themes_retained,
    }
