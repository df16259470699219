"""Scheduling a community's sessions: schedule (or draft), change or reschedule, announce a draft, cancel, mark held."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cercle_shared.domain import check_version
from cercle_shared.errors import InvalidInput
from cercle_shared.principal import Principal

from ..domain.model import Session
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class ScheduleSession:
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    mode: str = "in_person"
    timezone: str = "America/Toronto"
    location: str | None = None
    link: str | None = None
    description: str = ""
    theme_id: str | None = None
    formats: list[str] = field(default_factory=list)
    co_facilitators: list[str] = field(default_factory=list)
    guests: list[dict[str, Any]] = field(default_factory=list)
    draft: bool = False


@dataclass(frozen=True)
class ChangeSession:
    session_id: str
    changes: dict[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class AnnounceDraft:
    session_id: str


@dataclass(frozen=True)
class CancelSession:
    session_id: str
    reason: str | None = None


@dataclass(frozen=True)
class MarkHeld:
    session_id: str


def schedule_session(cmd: ScheduleSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_manages(principal, community, uow)
        community.ensure_active()
        _check_people(uow, community.id, cmd.co_facilitators)
        cycle_id = _cycle_of_theme(uow, community.id, cmd.theme_id)
        session = Session.schedule(
            at=at,
            draft=cmd.draft,
            community_id=community.id,
            cycle_id=cycle_id,
            title=cmd.title,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            capacity=cmd.capacity,
            mode=cmd.mode,
            timezone=cmd.timezone,
            location=cmd.location,
            link=cmd.link,
            description=cmd.description,
            theme_id=cmd.theme_id,
            formats=cmd.formats,
            co_facilitators=cmd.co_facilitators,
            guests=cmd.guests,
        )
        uow.sessions.add(session)
        uow.commit()
        return session


def change_session(cmd: ChangeSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        if cmd.expected_version is not None:
            check_version(session.version, cmd.expected_version)
        for name, value in cmd.changes.items():
            if value is None and name not in ("location", "link"):
                raise InvalidInput(f"{name} cannot be emptied", field=name)
        if "co_facilitators" in cmd.changes:
            _check_people(uow, session.community_id, cmd.changes["co_facilitators"])
        session.reschedule(at, **cmd.changes)
        uow.commit()
        return session


def announce_draft(cmd: AnnounceDraft, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.announce(at)
        uow.commit()
        return session


def cancel_session(cmd: CancelSession, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.cancel(at, cmd.reason)
        uow.commit()
        return session


def mark_held(cmd: MarkHeld, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Session:
    with uow:
        session = access.session(uow, cmd.session_id, lock=True)
        access.ensure_manages(principal, access.community(uow, session.community_id), uow)
        session.mark_held(at)
        uow.commit()
        return session


def _check_people(uow: SessionsUnitOfWork, community_id: str, member_ids: list[str]) -> None:
    strangers = [m for m in member_ids if uow.memberships.current(community_id, m) is None]
    if strangers:
        raise InvalidInput(f"co-facilitators must be members of the community: {strangers}", field="co_facilitators")


def _cycle_of_theme(uow: SessionsUnitOfWork, community_id: str, theme_id: str | None) -> str | None:
    if theme_id is None:
        return None
    theme = uow.themes.get(theme_id)
    if theme is None or theme.community_id != community_id:
        raise InvalidInput("no such theme in this community", field="theme_id")
    return theme.cycle_id
