"""Summary notes, the resource library and calendar feeds."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from cercle_shared.contracts import sessions as events
from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain import library, model
from . import access, commands
from .unit_of_work import SessionsUnitOfWork


def publish_summary(
    cmd: commands.PublishSummary, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> library.Summary:
    if not (cmd.body_fr or cmd.body_en):
        raise InvalidInput("write the note in French, English or both", field="body_fr")
    with uow:
        session = uow.sessions.get_for_update(cmd.session_id)  # versions are numbered one writer at a time
        if session is None:
            raise NotFound("no such session", field="session_id")
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.ensure_started(at, "a summary note")
        previous = uow.summaries.versions(session.id)
        summary = library.Summary(
            id=model.new_id(),
            session_id=session.id,
            version=len(previous) + 1,
            body_fr=cmd.body_fr,
            body_en=cmd.body_en,
            published_by=principal.member_id or principal.subject,
            published_at=at,
        )
        uow.summaries.add(summary)
        uow.session.flush()
        uow.publish(
            events.SessionSummaryPublished(
                session_id=session.id,
                community_id=session.community_id,
                version=summary.version,
                languages=summary.languages,
                published_at=at,
            )
        )
        uow.commit()
        return summary


def summary_versions(session_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[library.Summary]:
    with uow:
        session = uow.sessions.get(session_id)
        if session is None:
            raise NotFound("no such session", field="session_id")
        access.ensure_sees(principal, access.community(uow, session.community_id), uow)
        return uow.summaries.versions(session_id)


def share_resource(
    cmd: commands.ShareResource, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> library.Resource:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_sees(principal, community, uow)
        context = []
        if cmd.session_id:
            session = uow.sessions.get(cmd.session_id)
            if session is None or session.community_id != community.id:
                raise InvalidInput("no such session in this community", field="session_id")
            context.append(session.title)
        if cmd.theme_id:
            theme = uow.themes.get(cmd.theme_id)
            if theme is None or theme.community_id != community.id:
                raise InvalidInput("no such theme in this community", field="theme_id")
            context.append(theme.title)
        tags = sorted({t.strip().lower() for t in cmd.tags if t.strip()})
        resource = library.Resource(
            id=model.new_id(),
            community_id=community.id,
            title=cmd.title,
            kind=cmd.kind,
            language=cmd.language,
            description=cmd.description,
            url=cmd.url,
            tags=tags,
            session_id=cmd.session_id,
            theme_id=cmd.theme_id,
            shared_by=principal.member_id or principal.subject,
            shared_at=at,
        )
        resource.index(*context)
        uow.resources.add(resource)
        uow.session.flush()
        uow.publish(
            events.ResourceShared(
                resource_id=resource.id,
                community_id=community.id,
                session_id=resource.session_id,
                theme_id=resource.theme_id,
                kind=resource.kind,
                title=resource.title,
                language=resource.language,
                tags=resource.tags,
                shared_at=at,
            )
        )
        uow.commit()
        return resource


def search_resources(
    uow: SessionsUnitOfWork, principal: Principal, *, q: str = "", community_id: str | None = None, **filters
) -> list[library.Resource]:
    """Across years and themes, within the communities the caller may see."""
    with uow:
        visible = access.visible_community_ids(principal, uow)
        if community_id is not None:
            visible = [c for c in visible if c == community_id]
        return uow.resources.search(visible, library.tokens(q), **filters)


# --- calendar feeds --------------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def community_feed(community_id: str, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> str:
    """A new secret feed URL token for a community's calendar (each caller gets their own)."""
    with uow:
        access.ensure_sees(principal, access.community(uow, community_id), uow)
        token = secrets.token_urlsafe(32)
        uow.feeds.add(
            library.CalendarFeed(
                id=model.new_id(),
                kind="community",
                token_hash=_hash(token),
                community_id=community_id,
                member_id=principal.member_id,
                created_at=at,
            )
        )
        uow.commit()
        return token


def member_feed(uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> str:
    """A new secret feed URL token for the caller's registrations; the previous one stops working."""
    if not principal.member_id:
        raise InvalidInput("a member token is needed for a personal calendar", field="member_id")
    with uow:
        for old in uow.feeds.find("member", member_id=principal.member_id):
            uow.feeds.delete(old)
        token = secrets.token_urlsafe(32)
        uow.feeds.add(
            library.CalendarFeed(
                id=model.new_id(), kind="member", token_hash=_hash(token), member_id=principal.member_id, created_at=at
            )
        )
        uow.commit()
        return token


def feed_sessions(token: str, uow: SessionsUnitOfWork) -> tuple[str, list[model.Session], frozenset[str]]:
    """The feed's name, its sessions, and those its member only waits for; an unknown token is a 404."""
    with uow:
        feed = uow.feeds.by_token_hash(_hash(token))
        if feed is None:
            raise NotFound("no such calendar", field="token")
        if feed.kind == "community":
            community = uow.communities.get(feed.community_id)
            if community is None:
                raise NotFound("no such calendar", field="token")
            sessions = [s for s in uow.sessions.of_community(community.id) if s.status != "draft"]
            return community.name_fr, sessions, frozenset()
        sessions = [s for s in uow.sessions.registered(feed.member_id) if s.status != "draft"]
        waiting = frozenset(s.id for s in sessions if s.current_registration(feed.member_id).status == "waitlisted")
        return "Mes rencontres Cercle", sessions, waiting
