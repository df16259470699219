"""What the API reads: sessions, registrations, the program, summaries, the library and calendar feeds.
Reads only; each checks who may see it."""

from __future__ import annotations

from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain.library import FeedKind, Resource, Summary, token_hash, tokens
from ..domain.model import Registration, RegistrationStatus, Session, SessionStatus
from ..domain.program import ProgramCycle, Tally, Theme, Vote, rank
from . import access
from .unit_of_work import SessionsUnitOfWork

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


def list_sessions(community_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[Session]:
    with uow:
        community = access.community(uow, community_id)
        access.ensure_sees(principal, community, uow)
        manager = access.manages(principal, community, uow)
        return [s for s in uow.sessions.of_community(community_id) if manager or s.status != SessionStatus.DRAFT]


def my_sessions(uow: SessionsUnitOfWork, principal: Principal) -> list[tuple[Session, Registration]]:
    """The caller's active registrations, with their sessions, in start order."""
    member_id = principal.member_id
    if not member_id:
        raise InvalidInput("a member token is needed", field="member_id")
    with uow:
        found = []
        for session in uow.sessions.registered(member_id):
            registration = session.current_registration(member_id)
            if registration is not None:
                found.append((session, registration))
        return found


def list_registrations(
    session_id: str, uow: SessionsUnitOfWork, principal: Principal
) -> tuple[Session, list[Registration]]:
    """Managers see every registration; a member sees their own."""
    with uow:
        session = access.session(uow, session_id)
        community = access.community(uow, session.community_id)
        access.ensure_sees(principal, community, uow)
        if access.manages(principal, community, uow):
            return session, list(session.registrations)
        return session, [r for r in session.registrations if principal.is_member(r.member_id)]


# --- the program year -----------------------------------------------------------------------------------------


def get_cycle(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> ProgramCycle:
    with uow:
        cycle = access.cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return cycle


def list_cycles(community_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[ProgramCycle]:
    with uow:
        access.ensure_sees(principal, access.community(uow, community_id), uow)
        return uow.cycles.of_community(community_id)


def list_themes(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[Theme]:
    with uow:
        cycle = access.cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return uow.themes.of_cycle(cycle_id)


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


def summary_versions(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[Summary]:
    with uow:
        session = access.session(uow, session_id)
        access.ensure_sees(principal, access.community(uow, session.community_id), uow)
        return uow.summaries.versions(session_id)


def latest_summary(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> Summary:
    versions = summary_versions(session_id, uow, principal)
    if not versions:
        raise NotFound("no summary note yet", field="session_id")
    return versions[-1]


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
    limit: int = 50,
) -> list[Resource]:
    """Across years and themes, within the communities the caller may see."""
    with uow:
        visible = access.visible_community_ids(principal, uow)
        if community_id is not None:
            visible = [c for c in visible if c == community_id]
        return uow.resources.search(
            visible,
            tokens(q),
            kind=kind,
            language=language,
            tag=tag,
            session_id=session_id,
            theme_id=theme_id,
            limit=limit,
        )


# --- calendar feeds -------------------------------------------------------------------------------------------


def calendar(token: str, uow: SessionsUnitOfWork) -> tuple[str, list[Session], frozenset[str]]:
    """The feed's name, its sessions, and those its member only waits for; an unknown token is a 404."""
    with uow:
        feed = uow.feeds.by_token_hash(token_hash(token))
        if feed is None:
            raise NotFound("no such calendar", field="token")
        if feed.kind == FeedKind.COMMUNITY:
            community = uow.communities.get(feed.community_id) if feed.community_id else None
            if community is None:
                raise NotFound("no such calendar", field="token")
            sessions = [s for s in uow.sessions.of_community(community.id) if s.status != SessionStatus.DRAFT]
            return community.name_fr, sessions, frozenset()
        member_id = feed.member_id or ""
        sessions = [s for s in uow.sessions.registered(member_id) if s.status != SessionStatus.DRAFT]
        waiting = frozenset(
            s.id
            for s in sessions
            if (r := s.current_registration(member_id)) is not None and r.status == RegistrationStatus.WAITLISTED
        )
        return "Mes rencontres Cercle", sessions, waiting
