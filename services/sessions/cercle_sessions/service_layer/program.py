"""Program use cases: open a cycle, propose and merge themes, vote, retain, plan the year."""

from __future__ import annotations

from datetime import datetime, timedelta

from cercle_shared.contracts import sessions as events
from cercle_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal, Role

from ..domain import model, program
from . import access, commands
from .handlers import scheduled_event
from .unit_of_work import SessionsUnitOfWork


def _cycle(uow: SessionsUnitOfWork, cycle_id: str, *, lock: bool = False) -> program.Cycle:
    found = uow.cycles.get(cycle_id, lock=lock)
    if found is None:
        raise NotFound("no such program cycle", field="cycle_id")
    return found


def open_cycle(cmd: commands.OpenCycle, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> program.Cycle:
    with uow:
        community = access.community(uow, cmd.community_id)
        access.ensure_manages(principal, community, uow)
        community.ensure_active()
        cycle = program.Cycle(id=model.new_id(), created_at=at, **cmd.__dict__)
        if any(
            c.starts_on <= cycle.ends_on and cycle.starts_on <= c.ends_on for c in uow.cycles.of_community(community.id)
        ):
            raise Conflict("this community already has a cycle over these dates", field="starts_on")
        uow.cycles.add(cycle)
        uow.session.flush()
        uow.publish(
            events.ProgramCycleOpened(
                cycle_id=cycle.id,
                community_id=cycle.community_id,
                starts_on=cycle.starts_on,
                ends_on=cycle.ends_on,
                proposals_open_at=cycle.proposals_open_at,
                proposals_close_at=cycle.proposals_close_at,
                voting_opens_at=cycle.voting_opens_at,
                voting_closes_at=cycle.voting_closes_at,
                themes_to_retain=cycle.themes_to_retain,
                sessions_per_theme=cycle.sessions_per_theme,
                opened_at=at,
            )
        )
        uow.commit()
        return cycle


def get_cycle(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> program.Cycle:
    with uow:
        cycle = _cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return cycle


def list_cycles(community_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[program.Cycle]:
    with uow:
        access.ensure_sees(principal, access.community(uow, community_id), uow)
        return uow.cycles.of_community(community_id)


def propose_theme(
    cmd: commands.ProposeTheme, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> program.Theme:
    with uow:
        cycle = _cycle(uow, cmd.cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        theme = cycle.propose(
            title=cmd.title, need=cmd.need, description=cmd.description, proposer_id=principal.member_id, at=at
        )
        uow.themes.add(theme)
        uow.session.flush()
        uow.publish(
            events.ThemeProposed(
                theme_id=theme.id,
                cycle_id=cycle.id,
                community_id=cycle.community_id,
                title=theme.title,
                need=theme.need,
                proposed_at=at,
            )
        )
        uow.commit()
        return theme


def list_themes(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> list[program.Theme]:
    with uow:
        cycle = _cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        return uow.themes.of_cycle(cycle_id)


def _theme_of(uow: SessionsUnitOfWork, cycle: program.Cycle, theme_id: str, field: str) -> program.Theme:
    theme = uow.themes.get(theme_id)
    if theme is None or theme.cycle_id != cycle.id:
        raise InvalidInput("no such theme in this cycle", field=field)
    return theme


def merge_theme(cmd: commands.MergeTheme, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> program.Theme:
    with uow:
        cycle = _cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        duplicate = _theme_of(uow, cycle, cmd.theme_id, "theme_id")
        into = _theme_of(uow, cycle, cmd.into_theme_id, "into_theme_id")
        cycle.merge(duplicate, into, at)
        uow.session.flush()
        uow.publish(
            events.ThemeMerged(
                theme_id=duplicate.id,
                into_theme_id=into.id,
                cycle_id=cycle.id,
                community_id=cycle.community_id,
                merged_at=at,
            )
        )
        uow.commit()
        return duplicate


def cast_vote(cmd: commands.CastVote, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> program.Vote:
    with uow:
        cycle = _cycle(uow, cmd.cycle_id, lock=True)  # one voter's ballots are counted one request at a time
        community = access.community(uow, cycle.community_id)
        if not access.belongs(principal, community, uow):
            raise Forbidden("only the community's members vote, with their own member token")
        theme = _theme_of(uow, cycle, cmd.theme_id, "theme_id")
        vote = cycle.cast(theme, principal.member_id, uow.votes.of_voter(cycle.id, principal.member_id), at)
        uow.votes.add(vote)
        uow.session.flush()
        uow.publish(
            events.VoteCast(
                vote_id=vote.id, theme_id=theme.id, cycle_id=cycle.id, community_id=cycle.community_id, cast_at=at
            )
        )
        uow.commit()
        return vote


def results(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal) -> tuple[program.Cycle, list, list]:
    """Live tallies (anyone in the community), and the caller's own votes."""
    with uow:
        cycle = _cycle(uow, cycle_id)
        access.ensure_sees(principal, access.community(uow, cycle.community_id), uow)
        ranking = program.rank(uow.themes.of_cycle(cycle_id), uow.votes.of_cycle(cycle_id))
        mine = uow.votes.of_voter(cycle_id, principal.member_id) if principal.member_id else []
        return cycle, ranking, mine


def close_vote(cycle_id: str, uow: SessionsUnitOfWork, principal: Principal, at: datetime) -> program.Cycle:
    with uow:
        cycle = _cycle(uow, cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        _retain(uow, cycle, at)
        uow.commit()
        return cycle


def close_due_votes(uow: SessionsUnitOfWork, at: datetime) -> list[str]:
    """Close every vote whose window has ended (run periodically): nobody has to remember to."""
    with uow:
        due = uow.cycles.due_for_closing(at)
    closed = []
    for cycle_id in due:
        with uow:
            cycle = _cycle(uow, cycle_id, lock=True)
            if cycle.status != "open" or cycle.voting_closes_at > at:
                continue  # closed by hand meanwhile
            _retain(uow, cycle, at)
            uow.commit()
            closed.append(cycle_id)
    return closed


def _retain(uow: SessionsUnitOfWork, cycle: program.Cycle, at: datetime) -> None:
    votes = uow.votes.of_cycle(cycle.id)
    retained = cycle.close_vote(uow.themes.of_cycle(cycle.id), votes, at)
    uow.session.flush()
    uow.publish(
        events.ThemesRetained(
            cycle_id=cycle.id,
            community_id=cycle.community_id,
            total_votes=len(votes),
            retained_at=at,
            themes=[
                events.RetainedTheme(theme_id=t.theme_id, title=t.title, votes=t.votes, rank=i + 1)
                for i, t in enumerate(retained)
            ],
        )
    )


def propose_plan(cmd: commands.ProposePlan, uow: SessionsUnitOfWork, principal: Principal) -> program.Cycle:
    with uow:
        cycle = _cycle(uow, cmd.cycle_id, lock=True)
        access.ensure_manages(principal, access.community(uow, cycle.community_id), uow)
        if not cycle.retained:
            raise Conflict("close the vote first: the plan is drawn from the retained themes", field="cycle_id")
        plan = program.plan_year(
            cycle.retained,
            starts_on=cycle.starts_on,
            ends_on=cycle.ends_on,
            sessions_per_theme=cycle.sessions_per_theme,
            weekday=cmd.weekday,
            start_time=cmd.start_time,
            duration=timedelta(minutes=cmd.duration_minutes),
            timezone=cmd.timezone,
            blackout_dates=set(cmd.blackout_dates),
        )
        cycle.propose_plan(plan)
        uow.commit()
        return cycle


def confirm_plan(
    cmd: commands.ConfirmPlan, uow: SessionsUnitOfWork, principal: Principal, at: datetime
) -> tuple[program.Cycle, list[model.Session]]:
    """A coordinator (or an operator) confirms the plan, adjusted or not: its sessions are scheduled."""
    with uow:
        cycle = _cycle(uow, cmd.cycle_id, lock=True)
        community = access.community(uow, cycle.community_id)
        if principal.role not in (Role.OPERATOR, Role.COORDINATOR) or not principal.covers_community(
            community.id, community.regions
        ):
            raise Forbidden("a coordinator of the community's region confirms the year plan")
        community.ensure_active()
        items = cmd.items if cmd.items is not None else cycle.plan
        if not items:
            raise Conflict("propose a plan first, or send the items", field="items")
        retained = {t["theme_id"]: t for t in cycle.retained}
        created = []
        for i, item in enumerate(items):
            if item["theme_id"] not in retained:
                raise InvalidInput("not a retained theme of this cycle", field=f"items[{i}].theme_id")
            starts, ends = _as_datetime(item["starts_at"]), _as_datetime(item["ends_at"])
            if starts <= at:
                raise InvalidInput("a planned session starts in the future", field=f"items[{i}].starts_at")
            try:
                session = model.Session(
                    id=model.new_id(),
                    community_id=community.id,
                    cycle_id=cycle.id,
                    theme_id=item["theme_id"],
                    title=item.get("title") or retained[item["theme_id"]]["title"],
                    starts_at=starts,
                    ends_at=ends,
                    capacity=cmd.capacity,
                    mode=cmd.mode,
                    location=cmd.location,
                    link=cmd.link,
                    timezone=cmd.timezone,
                    created_at=at,
                    updated_at=at,
                )
            except InvalidInput as exc:
                raise InvalidInput(exc.detail, field=f"items[{i}].{exc.field}") from exc
            created.append(session)
        cycle.plan = [
            program.plan_item(program.PlannedSession(s.theme_id, s.title, s.starts_at, s.ends_at)) for s in created
        ]
        cycle.confirm_plan()
        for session in created:
            uow.sessions.add(session)
        uow.session.flush()
        for session in created:
            uow.publish(scheduled_event(session))
        uow.commit()
        return cycle, created


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
