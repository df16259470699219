"""Action plans: a member's road from an idea met in her community to an action at work (issue 11, §2).

Use cases (her own plans), the nudge job, the erasure reaction, and the views others read: the community's
portfolio (no notes, no member id) and the conversion funnel (coordinators; partners only for their organization and
only for groups of at least `action_plan_min_group` people).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from cercle_shared.contracts import registration as reg
from cercle_shared.errors import Forbidden, InvalidInput, NotFound
from cercle_shared.messaging import EventContext
from cercle_shared.principal import Principal, Role

from ..adapters.action_plan_repository import FunnelCounts, FunnelFilters, PlanScope
from ..domain.action_plans import ActionPlan, FollowUpWith, Nudge, Step
from .unit_of_work import InsightsUnitOfWork

DEFAULT_MIN_GROUP = 5

# -- commands ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenPlan:
    title: str
    community_id: str | None = None
    session_id: str | None = None
    theme_id: str | None = None
    private_notes: str | None = None
    need_sensed_on: date | None = None
    notes: str | None = None
    resource_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordStep:
    plan_id: str
    step: Step
    expected_version: int
    on: date | None = None
    notes: str | None = None
    resource_ids: list[str] = field(default_factory=list)
    follow_up_on: date | None = None
    follow_up_with: FollowUpWith | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EditPlan:
    plan_id: str
    expected_version: int
    title: str | None = None
    private_notes: str | None = None
    clear_private_notes: bool = False
    follow_up_on: date | None = None


# -- her own plans ---------------------------------------------------------------------------------------------------


def _member_id(principal: Principal) -> str:
    if principal.role is not Role.MEMBER or principal.member_id is None:
        raise Forbidden("action plans are kept by members, with their own sign-in")
    return principal.member_id


def open_plan(cmd: OpenPlan, uow: InsightsUnitOfWork, principal: Principal, at: datetime) -> ActionPlan:
    member_id = _member_id(principal)
    with uow:
        if uow.replica.erased_at(member_id) is not None:
            raise Forbidden("this member was erased")
        community_id = _origin_community(cmd, uow)
        if not uow.replica.belongs(community_id, member_id):
            raise Forbidden("you may open a plan only from a community you belong to", field="community_id")
        theme_id = cmd.theme_id
        if theme_id is None and cmd.session_id is not None:
            theme_id = uow.action_plans.session_theme(cmd.session_id)
        plan = ActionPlan.open(
            plan_id=str(uuid.uuid4()),
            member_id=member_id,
            community_id=community_id,
            title=cmd.title,
            session_id=cmd.session_id,
            theme_id=theme_id,
            organization_id=uow.action_plans.organization_of(member_id),
            private_notes=cmd.private_notes,
            need_sensed_on=cmd.need_sensed_on,
            notes=cmd.notes,
            resource_ids=cmd.resource_ids,
            at=at,
        )
        uow.action_plans.add(plan)
        uow.commit()
        return plan


def _origin_community(cmd: OpenPlan, uow: InsightsUnitOfWork) -> str:
    """The community the idea came from: the session's, else the theme's (as projected, else as she says)."""
    if cmd.session_id is not None:
        session = uow.action_plans.session(cmd.session_id)
        if session is None:
            raise NotFound("insights knows no such session (yet)", field="session_id")
        if cmd.community_id is not None and cmd.community_id != session.community_id:
            raise InvalidInput("this session belongs to another community", field="community_id")
        return session.community_id
    if cmd.theme_id is None:
        raise InvalidInput("a plan comes from a session or a theme: give session_id or theme_id", field="session_id")
    known = uow.action_plans.theme_community(cmd.theme_id)
    if known is not None:
        if cmd.community_id is not None and cmd.community_id != known:
            raise InvalidInput("this theme belongs to another community", field="community_id")
        return known
    if cmd.community_id is None:
        raise InvalidInput("insights does not know this theme yet: give its community_id too", field="community_id")
    return cmd.community_id


def _her_plan(uow: InsightsUnitOfWork, principal: Principal, plan_id: str) -> ActionPlan:
    """Her plan, or 404: another member's plan is not told apart from one that does not exist."""
    member_id = _member_id(principal)
    plan = uow.action_plans.get(plan_id)
    if plan is None or not plan.owned_by(member_id):
        raise NotFound("no such action plan of yours", field="plan_id")
    return plan


def get_plan(uow: InsightsUnitOfWork, principal: Principal, plan_id: str) -> ActionPlan:
    with uow:
        return _her_plan(uow, principal, plan_id)


def list_plans(
    uow: InsightsUnitOfWork, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[Sequence[ActionPlan], str | None]:
    member_id = _member_id(principal)
    with uow:
        return uow.action_plans.page_of_member(member_id, cursor=cursor, limit=limit)


def record_step(cmd: RecordStep, uow: InsightsUnitOfWork, principal: Principal, at: datetime) -> ActionPlan:
    with uow:
        plan = _her_plan(uow, principal, cmd.plan_id)
        plan.record_step(
            cmd.step,
            on=cmd.on,
            notes=cmd.notes,
            resource_ids=cmd.resource_ids,
            follow_up_on=cmd.follow_up_on,
            follow_up_with=cmd.follow_up_with,
            reason=cmd.reason,
            organization_id=uow.action_plans.organization_of(plan.member_id or ""),
            expected_version=cmd.expected_version,
            at=at,
        )
        if plan.theme_id is None and plan.session_id is not None:
            plan.theme_id = uow.action_plans.session_theme(plan.session_id)
        uow.commit()
        return plan


def edit_plan(cmd: EditPlan, uow: InsightsUnitOfWork, principal: Principal, at: datetime) -> ActionPlan:
    with uow:
        plan = _her_plan(uow, principal, cmd.plan_id)
        plan.edit(
            expected_version=cmd.expected_version,
            at=at,
            title=cmd.title,
            private_notes=cmd.private_notes,
            clear_private_notes=cmd.clear_private_notes,
            follow_up_on=cmd.follow_up_on,
        )
        uow.commit()
        return plan


# -- nudges ----------------------------------------------------------------------------------------------------------

NUDGE_BATCH = 200


def nudge_plans(uow_factory: Callable[[], InsightsUnitOfWork], plan_url: str, now: datetime) -> int:
    """Issue every nudge due now, once each (a unique row per plan, kind and day); one transaction per batch."""
    sent = 0
    after: str | None = None
    while True:
        with uow_factory() as uow:
            plans = uow.action_plans.open_plans(after_id=after, limit=NUDGE_BATCH)
            if not plans:
                return sent
            after = plans[-1].id
            starts = uow.action_plans.session_starts({p.session_id for p in plans if p.session_id})
            due = [
                (plan, kind, about)
                for plan in plans
                for kind, about in plan.due_nudges(now, starts.get(plan.session_id or ""))
            ]
            already = uow.action_plans.sent_nudges([Nudge.id_for(p.id, k, a) for p, k, a in due])
            for plan, kind, about in due:
                if Nudge.id_for(plan.id, kind, about) in already:
                    continue
                url = plan_url.replace("{plan_id}", plan.id)
                if uow.action_plans.add_nudge_once(Nudge.issue(plan, kind, about, plan_url=url, at=now)):
                    sent += 1
            uow.commit()


# -- erasure ---------------------------------------------------------------------------------------------------------


def member_erased(event: reg.MemberErased, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    """Her notes leave and her id with them; the plans stay as anonymous counts (steps, dates, community, theme,
    organization), and one random id, shared by her plans only, keeps "people" counted right."""
    plans = uow.action_plans.of_member(event.member_id)
    if not plans:
        return
    anonymous = str(uuid.uuid4())
    for plan in plans:
        plan.forget_member(anonymous)


# -- what the community and its coordinators see ---------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioStep:
    step: str
    on: date
    resource_ids: list[str]


@dataclass(frozen=True)
class PortfolioItem:
    """A plan as its community sees it: no member id, no notes, no reason for dropping."""

    plan_id: str
    title: str
    session_id: str | None
    theme_id: str | None
    current_step: str
    opened_on: date
    updated_on: date
    steps: list[PortfolioStep]

    @classmethod
    def of(cls, plan: ActionPlan) -> PortfolioItem:
        return cls(
            plan.id,
            plan.title,
            plan.session_id,
            plan.theme_id,
            plan.current_step.value,
            plan.opened_at.date(),
            plan.updated_at.date(),
            [PortfolioStep(s.step.value, s.happened_on, list(s.resource_ids)) for s in plan.steps],
        )


def portfolio(
    uow: InsightsUnitOfWork, principal: Principal, community_id: str, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[PortfolioItem], str | None]:
    """The community's plans, newest first: for its current members, its managers and operators."""
    with uow:
        community = uow.replica.described(community_id)
        if community is None:
            raise NotFound("insights knows no such community (yet)", field="community_id")
        if principal.role is Role.MEMBER:
            allowed = principal.member_id is not None and uow.replica.belongs(community_id, principal.member_id)
        else:
            allowed = principal.covers_community(community.id, community.regions)
        if not allowed:
            raise Forbidden("you may not read this community's action plans", field="community_id")
        plans, next_cursor = uow.action_plans.page_of_community(community_id, cursor=cursor, limit=limit)
        return [PortfolioItem.of(p) for p in plans], next_cursor


FunnelBy = Literal["community", "theme", "organization", "year"]


@dataclass(frozen=True)
class Funnel:
    """Plans that reached each step of the road; None everywhere (and enough False) when the group is below the
    anonymity threshold for the caller (partners)."""

    ideas: int | None
    followed_up: int | None
    allies: int | None
    pitched: int | None
    deployed: int | None
    dropped: int | None
    people: int | None
    enough: bool = True


@dataclass(frozen=True)
class FunnelRow:
    key: str | None  # the community, theme or organization id, or the year as text; None: not known
    ideas: int | None
    followed_up: int | None
    allies: int | None
    pitched: int | None
    deployed: int | None
    dropped: int | None
    people: int | None
    enough: bool = True


_EMPTY = FunnelCounts(None, 0, 0, 0, 0, 0, 0, 0)


def _figures(counts: FunnelCounts, min_group: int | None) -> Funnel:
    if min_group is not None and counts.people < min_group:
        return Funnel(None, None, None, None, None, None, None, enough=False)
    return Funnel(
        counts.ideas,
        counts.followed_up,
        counts.allies,
        counts.pitched,
        counts.deployed,
        counts.dropped,
        counts.people,
    )


def _funnel_access(
    uow: InsightsUnitOfWork, principal: Principal, filters: FunnelFilters, min_group: int
) -> tuple[PlanScope, FunnelFilters, int | None]:
    """Scope, filters (a partner's forced to her organization) and the threshold that applies to the caller."""
    match principal.role:
        case Role.OPERATOR:
            return PlanScope(), filters, None
        case Role.PARTNER:
            if principal.organization_id is None:
                raise Forbidden("a partner reads the funnel of her own organization only", field="organization_id")
            if filters.organization_id not in (None, principal.organization_id):
                raise Forbidden("a partner reads the funnel of her own organization only", field="organization_id")
            forced = FunnelFilters(
                filters.community_id, filters.region, filters.theme_id, principal.organization_id, filters.year
            )
            return PlanScope(), forced, min_group
        case Role.COORDINATOR | Role.FACILITATOR:
            if filters.region is not None and not principal.covers_region(filters.region):
                raise Forbidden("you may not read the funnel of this region", field="region")
            if filters.community_id is not None:
                community = uow.replica.described(filters.community_id)
                regions = community.regions if community is not None else []
                if not principal.covers_community(filters.community_id, regions):
                    raise Forbidden("you may not read the funnel of this community", field="community_id")
            regions_scope = principal.regions if principal.role is Role.COORDINATOR else frozenset()
            return PlanScope(regions=regions_scope, community_ids=principal.communities), filters, None
        case _:
            raise Forbidden("members see their community's portfolio, not the funnel")


def funnel(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    community_id: str | None = None,
    region: str | None = None,
    theme_id: str | None = None,
    organization_id: str | None = None,
    year: int | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
) -> Funnel:
    """Ideas → followed up → allies → pitched → deployed (and dropped), for the plans the caller may count."""
    filters = FunnelFilters(community_id, region, theme_id, organization_id, year)
    with uow:
        scope, filters, threshold = _funnel_access(uow, principal, filters, min_group)
        rows = uow.action_plans.funnel(scope, filters)
        return _figures(rows[0] if rows else _EMPTY, threshold)


def funnel_rows(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    by: FunnelBy,
    community_id: str | None = None,
    region: str | None = None,
    theme_id: str | None = None,
    organization_id: str | None = None,
    year: int | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
) -> list[FunnelRow]:
    """The funnel broken down by community, theme, organization or year; each row below the threshold is hidden."""
    filters = FunnelFilters(community_id, region, theme_id, organization_id, year)
    with uow:
        scope, filters, threshold = _funnel_access(uow, principal, filters, min_group)
        rows = []
        for counts in uow.action_plans.funnel(scope, filters, by=by):
            f = _figures(counts, threshold)
            key = None if counts.key is None else str(counts.key)
            rows.append(
                FunnelRow(key, f.ideas, f.followed_up, f.allies, f.pitched, f.deployed, f.dropped, f.people, f.enough)
            )
        return rows


# -- for the other features of insights (no caller: they check access themselves) -----------------------------------


@dataclass(frozen=True)
class PlanMonth:
    community_id: str
    month: date  # first day of the month
    opened: int  # plans opened that month
    deployed: int  # plans whose deployed step is dated that month


def monthly_counts(
    uow: InsightsUnitOfWork, community_ids: Sequence[str], *, since: date, until: date
) -> list[PlanMonth]:
    """Plans opened and deployed per community and month, for months in [since, until) (health's series)."""
    start = since.replace(day=1)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC)
    counts: dict[tuple[str, date], list[int]] = {}
    with uow:
        for community_id, opened_at, deployed_on in uow.action_plans.opened_and_deployed(community_ids, until=end):
            opened_month = opened_at.date().replace(day=1)
            if start <= opened_month < until:
                counts.setdefault((community_id, opened_month), [0, 0])[0] += 1
            if deployed_on is not None and start <= deployed_on.replace(day=1) < until:
                counts.setdefault((community_id, deployed_on.replace(day=1)), [0, 0])[1] += 1
    return [PlanMonth(c, m, o, d) for (c, m), (o, d) in sorted(counts.items())]


def funnel_counts(
    uow: InsightsUnitOfWork, *, by: FunnelBy | None = None, filters: FunnelFilters | None = None
) -> list[FunnelCounts]:
    """The raw funnel over every plan (no access check, no threshold): callers apply their own."""
    with uow:
        return uow.action_plans.funnel(PlanScope(), filters or FunnelFilters(), by=by)
