"""A community's program year: cycles, theme proposals and merges, the vote and its results, the year plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from cercle_shared.web.etag import expected_version

from ...service_layer import program, views
from .. import schemas
from ..deps import ClockDep, Cursor, IfMatch, Limit, PrincipalDep, UowDep, tag

router = APIRouter(prefix="/v1", tags=["program"])


@router.post(
    "/communities/{community_id}/cycles", status_code=status.HTTP_201_CREATED, response_model=schemas.CyclePublic
)
def open_cycle(
    community_id: str, body: schemas.CycleCreate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.CyclePublic:
    """Open a community's program year with its proposal and voting windows (managers)."""
    cmd = program.OpenCycle(community_id=community_id, **body.model_dump())
    return schemas.CyclePublic.model_validate(program.open_cycle(cmd, uow, principal, now))


@router.get("/communities/{community_id}/cycles", response_model=schemas.CyclesPage)
def list_cycles(
    community_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """A community's program years, by first day, a page at a time."""
    found = views.list_cycles(community_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.CyclePublic.model_validate)


@router.get("/cycles/{cycle_id}", response_model=schemas.CyclePublic)
def get_cycle(cycle_id: str, principal: PrincipalDep, uow: UowDep, response: Response) -> schemas.CyclePublic:
    """One program year, with its retained themes and plan; its ETag is for If-Match on PATCH."""
    cycle = views.get_cycle(cycle_id, uow, principal)
    tag(response, cycle.version)
    return schemas.CyclePublic.model_validate(cycle)


@router.patch(
    "/cycles/{cycle_id}",
    response_model=schemas.CyclePublic,
    responses={
        409: {"description": "A stale If-Match, a bound that already passed, or an overlap with another cycle"},
        428: {"description": "If-Match (or a version field) is required"},
    },
)
def change_cycle(
    cycle_id: str,
    body: schemas.CycleUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    now: ClockDep,
    response: Response,
    if_match: IfMatch = None,
) -> schemas.CyclePublic:
    """Change a cycle's dates or label after it opened (managers), with If-Match (or `version`).

    What already happened stays: a window bound already passed, or the first day of a cycle already begun,
    cannot move (409); a bound cannot move into the past and the windows stay in order (422); the cycle may not
    overlap another (409). New first or last days drop a proposed plan (propose it again); a confirmed plan's
    sessions must stay within them (409)."""
    expected = expected_version(if_match, body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    cmd = program.ChangeCycle(cycle_id=cycle_id, changes=changes, expected_version=expected)
    cycle = program.change_cycle(cmd, uow, principal, now)
    tag(response, cycle.version)
    return schemas.CyclePublic.model_validate(cycle)


@router.post("/cycles/{cycle_id}/themes", status_code=status.HTTP_201_CREATED, response_model=schemas.ThemePublic)
def propose_theme(
    cycle_id: str, body: schemas.ThemeCreate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.ThemePublic:
    """Propose a theme from a need seen at work, while proposals are open (the community's members)."""
    cmd = program.ProposeTheme(cycle_id=cycle_id, **body.model_dump())
    return schemas.ThemePublic.model_validate(program.propose_theme(cmd, uow, principal, now))


@router.get("/cycles/{cycle_id}/themes", response_model=schemas.ThemesPage)
def list_themes(
    cycle_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    """The cycle's themes, in proposal order, a page at a time."""
    found = views.list_themes(cycle_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.ThemePublic.model_validate)


@router.post("/cycles/{cycle_id}/themes/{theme_id}/merge", response_model=schemas.ThemePublic)
def merge_theme(
    cycle_id: str, theme_id: str, body: schemas.ThemeMerge, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.ThemePublic:
    """Merge a duplicate theme into another, before voting opens (managers)."""
    cmd = program.MergeTheme(cycle_id=cycle_id, theme_id=theme_id, into_theme_id=body.into_theme_id)
    return schemas.ThemePublic.model_validate(program.merge_theme(cmd, uow, principal, now))


@router.post("/cycles/{cycle_id}/votes", status_code=status.HTTP_201_CREATED, response_model=schemas.VotePublic)
def cast_vote(
    cycle_id: str, body: schemas.VoteCreate, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.VotePublic:
    """Give one of your votes to a theme, while voting is open (members, for themselves)."""
    cmd = program.CastVote(cycle_id=cycle_id, theme_id=body.theme_id)
    return schemas.VotePublic.model_validate(program.cast_vote(cmd, uow, principal, now))


@router.get("/cycles/{cycle_id}/results", response_model=schemas.ResultsPublic)
def results(cycle_id: str, principal: PrincipalDep, uow: UowDep) -> schemas.ResultsPublic:
    """Live results of the vote, in rank order (ties: first proposed, then smaller id)."""
    cycle, ranking, mine = views.results(cycle_id, uow, principal)
    return schemas.results_public(cycle, ranking, mine, voter=bool(principal.member_id))


@router.post("/cycles/{cycle_id}/close-vote", response_model=schemas.CyclePublic)
def close_vote(cycle_id: str, principal: PrincipalDep, uow: UowDep, now: ClockDep) -> schemas.CyclePublic:
    """Close the vote (early if need be) and retain the top themes (managers)."""
    cmd = program.CloseVote(cycle_id=cycle_id)
    return schemas.CyclePublic.model_validate(program.close_vote(cmd, uow, principal, now))


@router.post("/cycles/{cycle_id}/plan", response_model=schemas.CyclePublic)
def propose_plan(cycle_id: str, body: schemas.PlanRequest, principal: PrincipalDep, uow: UowDep) -> schemas.CyclePublic:
    """Propose a year plan: the retained themes' sessions spread evenly on a weekday, skipping blackout days and
    periods ({"from": ..., "to": ...}, both days included)."""
    cmd = program.ProposePlan(
        cycle_id=cycle_id,
        weekday=body.weekday,
        start_time=body.start_time,
        duration_minutes=body.duration_minutes,
        timezone=body.timezone,
        blackouts=body.blackouts(),
    )
    return schemas.CyclePublic.model_validate(program.propose_plan(cmd, uow, principal))


@router.post("/cycles/{cycle_id}/plan/confirm", response_model=schemas.PlanConfirmed)
def confirm_plan(
    cycle_id: str, body: schemas.PlanConfirm, principal: PrincipalDep, uow: UowDep, now: ClockDep
) -> schemas.PlanConfirmed:
    """Confirm the plan, adjusted or as proposed (coordinators, operators): its sessions are scheduled."""
    items = [i.model_dump() for i in body.items] if body.items is not None else None
    cmd = program.ConfirmPlan(cycle_id=cycle_id, items=items, **body.model_dump(exclude={"items"}))
    return schemas.plan_confirmed(*program.confirm_plan(cmd, uow, principal, now))
