"""A community's program year: open a cycle, propose and merge themes, vote, retain, plan the year."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from cercle_shared.domain import check_version
from cercle_shared.errors import Conflict, Forbidden, InvalidInput
from cercle_shared.principal import Principal

from ..domain.model import Session, SessionStatus
from ..domain.program import ProgramCycle, SessionTerms, Theme, Vote
from . import access
from .unit_of_work import SessionsUnitOfWork


@dataclass(frozen=True)
class OpenCycle:
    community_id: str
    label: str
    starts_on: date
    ends_on: date
    proposals_close_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    proposals_open_at: datetime | None = None  # default: now
    themes_to_retain: int = 3
    sessions_per_theme: int = 2
    votes_per_member: int = 3
    max_votes_per_theme: int = 1


@dataclass(frozen=True)
class ChangeCycle:
    cycle_id: str
    changes: dict[str, Any]  # label, starts_on, ends_on and the four window bounds
    expected_version: int


@dataclass(frozen=True)
class ProposeTheme:
    cycle_id: str
    title: str
    need: str
    description: str = ""


@dataclass(frozen=True)
class MergeTheme:
    cycle_id: str
    theme_id: str
    into_theme_id: str


@dataclass(frozen=True)
class CastVote:
    cycle_id: str
    theme_id: str


@dataclass(frozen=True)
class CloseVote:
    cycle_id: str


@dataclass(frozen=True)
class ProposePlan:
    cycle_id: str
    weekday: int
    start_time: time
    duration_minutes: int
    timezone: str = "America/Toronto"
    blackouts: list[tuple[date, date]] = field(default_factory=list)  # first and last day; a single day is (d, d)


@dataclass(frozen=True)
class ConfirmPlan:
    cycle_id: str
    capacity: int
    mode: str = "in_person"
    location: str | None = None
    link: str | None = None
    timezone: str = "America/Toronto"
    items: list[dict[str, Any]] | None = None  # the coordinator's adjusted plan; None keeps the proposal


def open_cycle(cmd: OpenCycle, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> ProgramCycle:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_manages(principal, community, uow)
        community.ensure_active()
        cycle = ProgramCycle.open(
            at=at,
            community_id=community.id,
            label=cmd.label,
            starts_on=cmd.starts_on,
            ends_on=cmd.ends_on,
            proposals_open_at=cmd.proposals_open_at or at,
            proposals_close_at=cmd.proposals_close_at,
            voting_opens_at=cmd.voting_opens_at,
            voting_closes_at=cmd.voting_closes_at,
            themes_to_retain=cmd.themes_to_retain,
            sessions_per_theme=cmd.sessions_per_theme,
            votes_per_member=cmd.votes_per_member,
            max_votes_per_theme=cmd.max_votes_per_theme,
        )
        if any(cycle.overlaps(other) for other in uow.cycles.of_community(community.id)):
            raise Conflict("this community already has a cycle over these dates", field="starts_on")
        uow.cycles.add(cycle)
        uow.commit()
        return cycle


def change_cycle(cmd: ChangeCycle, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> ProgramCycle:
    """New dates or label for a cycle that opened (managers), against the version the caller read."""
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        check_version(cycle.version, cmd.expected_version)
        for name, value in cmd.changes.items():
            if value is None:
                raise InvalidInput(f"{name} cannot be emptied", field=name)
        # read before changing anything: a query would flush the change half-way
        planned = [s for s in uow.sessions.of_cycle(cycle.id) if s.status != SessionStatus.CANCELLED]
        others = uow.cycles.of_community(cycle.community_id)
        cycle.change(at, planned=planned, **cmd.changes)
        if any(cycle.overlaps(other) for other in others):
            field_name = "starts_on" if "starts_on" in cmd.changes else "ends_on"
            raise Conflict("this community already has a cycle over these dates", field=field_name)
        uow.commit()
        return cycle


def propose_theme(cmd: ProposeTheme, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Theme:
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        theme = cycle.propose(
            title=cmd.title, need=cmd.need, description=cmd.description, proposer_id=principal.member_id, at=at
        )
        uow.themes.add(theme)
        uow.commit()
        return theme


def merge_theme(cmd: MergeTheme, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Theme:
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        duplicate = _theme_of(uow, cycle, cmd.theme_id, "theme_id")
        into = _theme_of(uow, cycle, cmd.into_theme_id, "into_theme_id")
        cycle.merge(duplicate, into, at)
        uow.commit()
        return duplicate


def cast_vote(cmd: CastVote, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> Vote:
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)  # one voter's ballots are counted one request at a time
        community = access.community(uow, cycle.community_id)
        if not access.belongs(principal, community, uow):
            raise Forbidden("only the community's members vote, with their own member token")
        theme = _theme_of(uow, cycle, cmd.theme_id, "theme_id")
        vote = cycle.cast(theme, principal.member_id, uow.votes.of_voter(cycle.id, principal.member_id), at)
        uow.votes.add(vote)
        uow.commit()
        return vote


def close_vote(cmd: CloseVote, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> ProgramCycle:
    """A manager closes the vote (early if need be): the top themes are retained."""
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        _count(uow, cycle, at)
        uow.commit()
        return cycle


def close_due_votes(uow: SessionsUnitOfWork, at: datetime) -> list[str]:
    """Close every vote whose window has ended (a timed job): nobody has to remember to. Answers their cycles."""
    with uow:
        due = uow.cycles.due_for_closing(at)
    closed = []
    for cycle_id in due:
        with uow:
            cycle = access.cycle(uow, cycle_id, lock=True)
            if not cycle.is_due_for_closing(at):
                continue  # closed by hand meanwhile
            _count(uow, cycle, at)
            uow.commit()
            closed.append(cycle_id)
    return closed


def propose_plan(cmd: ProposePlan, uow: SessionsUnitOfWork, principal: Principal) -> ProgramCycle:
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        cycle.propose_plan(
            weekday=cmd.weekday,
            start_time=cmd.start_time,
            duration=timedelta(minutes=cmd.duration_minutes),
            timezone=cmd.timezone,
            blackouts=cmd.blackouts,
        )
        uow.commit()
        return cycle


def confirm_plan(
    cmd: ConfirmPlan, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> tuple[ProgramCycle, list[Session]]:
    """A coordinator (or an operator) confirms the plan, adjusted or not: its sessions are scheduled."""
    with uow:
        cycle = access.cycle(uow, cmd.cycle_id, lock=True)
        community = access.community(uow, cycle.community_id)
        access.ensure_confirms_plans(principal, community)
        community.ensure_active()
        terms = SessionTerms(
            capacity=cmd.capacity, mode=cmd.mode, location=cmd.location, link=cmd.link, timezone=cmd.timezone
        )
        created = cycle.confirm_plan(cmd.items, terms, at)
        for session in created:
            uow.sessions.add(session)
        uow.commit()
        return cycle, created


def _theme_of(uow: SessionsUnitOfWork, cycle: ProgramCycle, theme_id: str, field_name: str) -> Theme:
    theme = uow.themes.get(theme_id)
    if theme is None or theme.cycle_id != cycle.id:
        raise InvalidInput("no such theme in this cycle", field=field_name)
    return theme


def _count(uow: SessionsUnitOfWork, cycle: ProgramCycle, at: datetime) -> None:
    votes = uow.votes.of_cycle(cycle.id)
    cycle.close_vote(uow.themes.of_cycle(cycle.id), votes, at)
