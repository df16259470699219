"""What the API reads: sessions, registrations and rosters, the program, summaries, the library and calendar
feeds. Reads only; each checks who may see it. Lists are pages: (items, next cursor)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain.library import CalendarFeed, FeedKind, Resource, Summary, token_hash, tokens
from ..domain.model import Registration, RegistrationStatus, Session, SessionStatus
from ..domain.program import ProgramCycle, Tally, Theme, Vote, rank
from . import access
from .unit_of_work import SessionsUnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class PageOf(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


# --- sessions and registrations -------------------------------------------------------------------------------


def get_session(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> Session:
    """A draft is seen by managers only."""
    with uow:
        session = access.session(uow, session_id)
        community = access.community(uow, session.community_id)
        access.ensure_sees(principal, community, uow)
        if session.status == SessionStatus.DRAFT and not access.manages(principal, community, uow):
            raise NotFound("no such session", field="session_id")
        return session


def list_sessions(
    community_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[Session]:
    with uow:
        community = access.community(uow, community_id)
        access.ensure_sees(principal, community, uow)
        manager = access.manages(principal, community, uow)
        rows, next_cursor = uow.sessions.page_of_community(community_id, drafts=manager, cursor=cursor, limit=limit)
        return PageOf(rows, next_cursor)


def my_sessions(
    uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[tuple[Session, Registration]]:
    """The caller's active registrations, with their sessions, in start order."""
    member_id = principal.member_id
    if not member_id:
        raise InvalidInput("a member token is needed", field="member_id")
    with uow:
        rows, next_cursor = uow.sessions.page_registered(member_id, cursor=cursor, limit=limit)
        found = []
        for session in rows:
            registration = session.current_registration(member_id)
            if registration is not None:
                found.append((session, registration))
        return PageOf(found, next_cursor)


def list_registrations(
    session_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[Session, PageOf[Registration]]:
    """Managers see every registration; a member sees their own."""
    with uow:
        session = access.session(uow, session_id)
        community = access.community(uow, session.community_id)
        access.ensure_sees(principal, community, uow)
        if access.manages(principal, community, uow):
            only: str | None = None
        else:
            only = principal.member_id or ""
        rows, next_cursor = uow.sessions.registrations_page(session.id, member_id=only, cursor=cursor, limit=limit)
        return session, PageOf(rows, next_cursor)


# --- rosters: registrations with names, for the people who run the sessions ------------------------------------


@dataclass(frozen=True)
class RosterLine:
    session: Session
    registration: Registration
    display_name: str | None  # None: no contact known (yet), or an erased member

    @property
    def position(self) -> int | None:
        if self.registration.status != RegistrationStatus.WAITLISTED:
            return None
        return self.session.position_of(self.registration)


def roster(
    session_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[RosterLine]:
    """A session's registrations with the members' names (its managers only), in arrival order."""
    with uow:
        session = access.session(uow, session_id)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        rows, next_cursor = uow.sessions.registrations_page(session.id, cursor=cursor, limit=limit)
        names = uow.contacts.names(r.member_id for r in rows)
        return PageOf([RosterLine(session, r, names.get(r.member_id)) for r in rows], next_cursor)


def community_roster(
    community_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[RosterLine]:
    """Every registration to the community's sessions with names (its managers only), in the order made."""
    with uow:
        access.ensure_manages(principal, access.community(uow, community_id), uow)
        rows, next_cursor = uow.sessions.community_registrations_page(community_id, cursor=cursor, limit=limit)
        sessions = uow.sessions.by_ids(r.session_id for r in rows)
        names = uow.contacts.names(r.member_id for r in rows)
        lines = [RosterLine(sessions[r.session_id], r, names.get(r.member_id)) for r in rows]
        return PageOf(lines, next_cursor)


ROSTER_COLUMNS = (
    "session_id",
    "session_title",
    "starts_at",
    "registration_id",
    "member_id",
    "display_name",
    "status",
    "position",
    "registered_at",
    "confirmed_at",
    "cancelled_at",
    "attendance",
    "checked_in_at",
)


def _cell(value: str) -> str:
    """Neutralize spreadsheet formulas: a name like '=HYPERLINK(...)' must stay text when the file is opened."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _csv(lines: list[RosterLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ROSTER_COLUMNS)
    for line in lines:
        r, s = line.registration, line.session
        cells = [
            s.id,
            s.title,
            _when(s.starts_at),
            r.id,
            r.member_id,
            line.display_name or "",
            str(r.status),
            str(line.position or ""),
            _when(r.registered_at),
            _when(r.confirmed_at),
            _when(r.cancelled_at),
            str(r.attendance or ""),
            _when(r.checked_in_at),
        ]
        writer.writerow([_cell(c) for c in cells])
    return out.getvalue()


def session_roster_csv(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> str:
    """A session's registrations and attendance, with names, as CSV (its managers only)."""
    with uow:
        session = access.session(uow, session_id)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        names = uow.contacts.names(r.member_id for r in session.registrations)
        return _csv([RosterLine(session, r, names.get(r.member_id)) for r in session.registrations])


def community_roster_csv(community_id: str, uow: SessionsUnitOfWork, principal: Principal) -> str:
    """Every registration and attendance of the community's sessions, session by session, as CSV (managers)."""
    with uow:
        access.ensure_manages(principal, access.community(uow, community_id), uow)
        pairs = uow.sessions.community_roster(community_id)
        names = uow.contacts.names(r.member_id for _, r in pairs)
        return _csv([RosterLine(s, r, names.get(r.member_id)) for s, r in pairs])


# --- the program year -----------------------------------------------------------------------------------------


def get_cycle(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> ProgramCycle:
    with uow:
        cycle = access.cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return cycle


def list_cycles(
    community_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[ProgramCycle]:
    with uow:
        access.ensure_sees(principal, access.community(uow, community_id), uow)
        return PageOf(*uow.cycles.page_of_community(community_id, cursor=cursor, limit=limit))


def list_themes(
    cycle_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[Theme]:
    with uow:
        cycle = access.cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return PageOf(*uow.themes.page_of_cycle(cycle_id, cursor=cursor, limit=limit))


def results(
    cycle_id: str, uow: SessionsUnitOfWork, principal: Principal
) -> tuple[ProgramCycle, list[Tally], list[Vote]]:
    """Live tallies (anyone in the community), and the caller's own votes."""
    with uow:
        cycle = access.cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        ranking = rank(uow.themes.of_cycle(cycle_id), uow.votes.of_cycle(cycle_id))
        mine = uow.votes.of_voter(cycle_id, principal.member_id) if principal.member_id else []
        return cycle, ranking, mine


# --- summaries and the library --------------------------------------------------------------------------------


def summary_versions(
    session_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[Summary]:
    with uow:
        session = access.session(uow, session_id)
        access.ensure_sees(principal, access.community(uow, session.community_id), uow)
        return PageOf(*uow.summaries.page_of_session(session_id, cursor=cursor, limit=limit))


def latest_summary(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> Summary:
    with uow:
        session = access.session(uow, session_id)
        access.ensure_sees(principal, access.community(uow, session.community_id), uow)
        latest = uow.summaries.latest(session_id)
        if latest is None:
            raise NotFound("no summary note yet", field="session_id")
        return latest


def search_resources(
    uow: SessionsUnitOfWork,
    principal: Principal,
    *,
    q: str = "",
    community_id: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    tag: str | None = None,
    session_id: str | None = None,
    theme_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> PageOf[Resource]:
    """Across years and themes, within the communities the caller may see; newest first."""
    with uow:
        visible = access.visible_community_ids(principal, uow)
        if community_id is not None:
            visible = [c for c in visible if c == community_id]
        rows, next_cursor = uow.resources.search(
            visible,
            tokens(q),
            kind=kind,
            language=language,
            tag=tag.strip().lower() if tag else None,
            session_id=session_id,
            theme_id=theme_id,
            cursor=cursor,
            limit=limit,
        )
        return PageOf(rows, next_cursor)


# --- calendar feeds -------------------------------------------------------------------------------------------


def my_feeds(uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int) -> PageOf[CalendarFeed]:
    """The caller's own feeds (a member's by member id; a staff token's by its subject); never their tokens."""
    with uow:
        if principal.member_id:
            rows, next_cursor = uow.feeds.page_of_member(principal.member_id, cursor=cursor, limit=limit)
        else:
            rows, next_cursor = uow.feeds.page_of_owner(principal.subject, cursor=cursor, limit=limit)
        return PageOf(rows, next_cursor)


def community_feeds(
    community_id: str, uow: SessionsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> PageOf[CalendarFeed]:
    """Every feed of the community's calendar, with its owner (its managers, who may revoke them)."""
    with uow:
        access.ensure_manages(principal, access.community(uow, community_id), uow)
        return PageOf(*uow.feeds.page_of_community(community_id, cursor=cursor, limit=limit))


@dataclass(frozen=True)
class CalendarView:
    name: str
    sessions: list[Session]
    tentative: frozenset[str] = frozenset()  # sessions the feed's member only waits for
    people: dict[str, str] = field(default_factory=dict)  # co-facilitators who may be named to peers: id -> name


def calendar(token: str, uow: SessionsUnitOfWork) -> CalendarView:
    """The sessions behind a feed token, read with its owner's rights of the moment. An unknown or revoked
    token, or an owner who may no longer see the calendar, is a 404 (the same answer: nothing is revealed)."""
    missing = NotFound("no such calendar", field="token")
    with uow:
        feed = uow.feeds.by_token_hash(token_hash(token))
        owner = feed.owner() if feed is not None else None
        if feed is None or owner is None:
            raise missing
        if feed.kind == FeedKind.COMMUNITY:
            community = uow.communities.get(feed.community_id) if feed.community_id else None
            if community is None or not access.sees(owner, community, uow):
                raise missing
            sessions = [s for s in uow.sessions.of_community(community.id) if s.status != SessionStatus.DRAFT]
            return CalendarView(community.name_fr, sessions, people=_named(uow, sessions))
        member_id = owner.member_id
        if not member_id or member_id in uow.erasures:
            raise missing
        sessions = [s for s in uow.sessions.registered(member_id) if s.status != SessionStatus.DRAFT]
        waiting = frozenset(
            s.id
            for s in sessions
            if (r := s.current_registration(member_id)) is not None and r.status == RegistrationStatus.WAITLISTED
        )
        return CalendarView("Mes rencontres Cercle", sessions, waiting, _named(uow, sessions))


def _named(uow: SessionsUnitOfWork, sessions: list[Session]) -> dict[str, str]:
    return uow.contacts.names((m for s in sessions for m in s.co_facilitators), listed_only=True)
