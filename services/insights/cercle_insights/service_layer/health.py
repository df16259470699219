"""Community health: the monthly series and score of a community or a region, and the job that raises and clears
alerts (`CommunityHealthAlerted`, once per change of state).

The series is computed when asked, from the projections, rather than kept in a table a monthly job refreshes: a
community's facts are small (a few hundred rows over years), so the query stays cheap (see
benchmarks/insights_health.py), it is exact the moment a late or out-of-order event lands, and a rebuild of the
projections needs no second pass. Only the alert state is stored, because what was published stays published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from cercle_shared.errors import NotFound
from cercle_shared.principal import Principal

from ..adapters import orm
from ..adapters.health_repository import AlertRow
from ..domain import health as domain
from ..domain.health import Assessment, MonthPoint, Rules
from . import access
from .unit_of_work import InsightsUnitOfWork


@dataclass(frozen=True)
class CommunityHealth:
    community_id: str
    name_fr: str
    name_en: str
    regions: list[str]
    score: float
    parts: dict[str, float]
    signals: list[str]
    status: str | None  # the alert state the job last saw: "raised", "cleared", or None before its first run
    series: list[MonthPoint]
    alerts: list[AlertRow]
    as_of: datetime


@dataclass(frozen=True)
class CommunityScore:
    community_id: str
    name_fr: str
    name_en: str
    score: float
    signals: list[str]
    status: str | None


@dataclass(frozen=True)
class RegionHealth:
    region: str
    series: list[MonthPoint]  # summed over the region's communities; rates recomputed from the sums
    communities: list[CommunityScore]  # lowest score first
    raised: int
    as_of: datetime


# --- reads ----------------------------------------------------------------------------------------------------------


def monthly_series(uow: InsightsUnitOfWork, community_id: str, *, months: int = 24, now: datetime) -> list[MonthPoint]:
    """The community's series, for jobs, the dashboard and the benchmark (no caller to check)."""
    agreement = _agreement(uow, community_id)
    with uow:
        community = uow.replica.described(community_id)
        if community is None:
            raise NotFound("insights knows no such community (yet)", field="community_id")
        facts = uow.health.facts([community])[community_id]
        return _enriched(uow, community_id, facts, now, months, agreement)


def all_series(uow: InsightsUnitOfWork, *, months: int = 24, now: datetime) -> dict[str, list[MonthPoint]]:
    """Every active community's series (without the survey column), in grouped queries."""
    with uow:
        communities = list(uow.health.assessable())
        facts = uow.health.facts(communities)
        actions = _actions(uow, [c.id for c in communities])
        return {
            c.id: domain.series(facts[c.id], now=now, months=months, actions=_of(actions, c.id)) for c in communities
        }


def community_health(
    uow: InsightsUnitOfWork,
    principal: Principal,
    community_id: str,
    now: datetime,
    *,
    months: int = 24,
    rules: Rules = Rules(),
) -> CommunityHealth:
    agreement = _agreement(uow, community_id)
    with uow:
        community = uow.replica.described(community_id)
        if community is None:
            raise NotFound("insights knows no such community (yet)", field="community_id")
        access.check_may_read_community(uow, principal, community)
        facts = uow.health.facts([community])[community_id]
        assessment = domain.assess(facts, now=now, rules=rules)
        state = uow.health.watches([community_id]).get(community_id)
        return CommunityHealth(
            community_id=community.id,
            name_fr=community.name_fr or "",
            name_en=community.name_en or "",
            regions=list(community.regions),
            score=assessment.score,
            parts={k: round(v, 3) for k, v in assessment.parts.items()},
            signals=list(assessment.signals),
            status=state.status if state is not None else None,
            series=_enriched(uow, community_id, facts, now, months, agreement),
            alerts=uow.health.alerts(community_id),
            as_of=now,
        )


def region_health(
    uow: InsightsUnitOfWork,
    principal: Principal,
    region: str,
    now: datetime,
    *,
    months: int = 24,
    rules: Rules = Rules(),
) -> RegionHealth:
    """The communities tied to the region (province-wide ones belong to no single region and are left out)."""
    access.check_may_read_region(principal, region)
    with uow:
        communities = list(uow.health.in_region(region))
        facts = uow.health.facts(communities)
        actions = _actions(uow, [c.id for c in communities])
        states = uow.health.watches([c.id for c in communities])
        scores, all_points = [], []
        for c in communities:
            assessment = domain.assess(facts[c.id], now=now, rules=rules)
            state = states.get(c.id)
            scores.append(
                CommunityScore(
                    c.id,
                    c.name_fr or "",
                    c.name_en or "",
                    assessment.score,
                    list(assessment.signals),
                    state.status if state else None,
                )
            )
            all_points.append(domain.series(facts[c.id], now=now, months=months, actions=_of(actions, c.id)))
        scores.sort(key=lambda s: (s.score, s.name_fr, s.community_id))
        return RegionHealth(region, sum_series(all_points), scores, sum(1 for s in scores if s.status == "raised"), now)


def sum_series(series: Sequence[Sequence[MonthPoint]]) -> list[MonthPoint]:
    """Month by month sums; rates and per-member figures recomputed from the sums (not averaged)."""
    by_month: dict[date, list[MonthPoint]] = defaultdict(list)
    for points in series:
        for p in points:
            by_month[p.month].append(p)
    out = []
    for month in sorted(by_month):
        ps = by_month[month]
        active = sum(p.active_members for p in ps)
        present = sum(p.present for p in ps)
        absent = sum(p.absent for p in ps)
        seats = present + absent
        proposals, votes = sum(p.proposals for p in ps), sum(p.votes for p in ps)
        opened = [p.actions_opened for p in ps if p.actions_opened is not None]
        deployed = [p.actions_deployed for p in ps if p.actions_deployed is not None]
        out.append(
            MonthPoint(
                month=month,
                active_members=active,
                joins=sum(p.joins for p in ps),
                departures=sum(p.departures for p in ps),
                sessions_held=sum(p.sessions_held for p in ps),
                present=present,
                absent=absent,
                attendance_rate=round(present / seats, 3) if seats else None,
                first_timers=sum(p.first_timers for p in ps),
                proposals=proposals,
                votes=votes,
                proposals_per_member=round(proposals / active, 3) if active else None,
                votes_per_member=round(votes / active, 3) if active else None,
                actions_opened=sum(opened) if opened else None,
                actions_deployed=sum(deployed) if deployed else None,
            )
        )
    return out


# --- the job --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessed:
    communities: int
    raised: int
    cleared: int


def assess_communities(
    uow_factory: Callable[[], InsightsUnitOfWork], now: datetime, rules: Rules = Rules(), *, batch: int = 50
) -> Assessed:
    """Assess every active community; a change of state is stored, kept in the history and published, once.

    A batch of communities per transaction; the alert id is derived from the community and its count of changes, so
    a run repeated after a crash finds the state already changed and publishes nothing twice.
    """
    with uow_factory() as uow:
        ids = [c.id for c in uow.health.assessable()]
    raised = cleared = 0
    for start in range(0, len(ids), batch):
        with uow_factory() as uow:
            communities = list(uow.health.assessable(ids[start : start + batch]))
            facts = uow.health.facts(communities, attended=False)  # the score needs no first-timers
            watches = uow.health.watches([c.id for c in communities])
            for c in communities:
                assessment: Assessment = domain.assess(facts[c.id], now=now, rules=rules)
                watch = watches.get(c.id) or uow.health.watch(c.id)
                change = watch.observe(assessment, c.regions, now)
                if change is not None:
                    uow.health.add_alert(change)
                    raised += change.status == "raised"
                    cleared += change.status == "cleared"
            uow.commit()
    return Assessed(len(ids), raised, cleared)


# --- the other features' columns ------------------------------------------------------------------------------------


def _agreement(uow: InsightsUnitOfWork, community_id: str) -> dict[int, float | None]:
    """The annual survey's mean % agree per year, from the surveys feature when it is there."""
    try:
        from . import surveys
    except ImportError:  # pragma: no cover - the feature is part of the service
        return {}
    yearly: Callable[..., dict[int, float | None]] | None = getattr(surveys, "yearly_agreement", None)
    return yearly(uow, community_id) if yearly is not None else {}


def _enriched(
    uow: InsightsUnitOfWork,
    community_id: str,
    facts: domain.Facts,
    now: datetime,
    months: int,
    agreement: dict[int, float | None],
) -> list[MonthPoint]:
    actions = _of(_actions(uow, [community_id]), community_id)
    points = domain.series(facts, now=now, months=months, actions=actions)
    if not agreement:
        return points
    return [replace(p, survey_agreement=agreement.get(p.month.year)) for p in points]


def _actions(uow: InsightsUnitOfWork, community_ids: Sequence[str]) -> dict[str, dict[date, tuple[int, int]]]:
    """Action plans opened and deployed per community and month, from the action plans feature's tables."""
    tables = _action_tables()
    if tables is None or not community_ids:
        return {}
    plans, steps = tables
    out: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for community_id, opened_at in uow.db.execute(
        select(plans.c.community_id, plans.c.opened_at).where(plans.c.community_id.in_(community_ids))
    ):
        out[community_id][domain.month_of(opened_at)][0] += 1
    deployed = (
        select(plans.c.community_id, func.min(steps.c.happened_on))
        .join(steps, steps.c.plan_id == plans.c.id)
        .where(plans.c.community_id.in_(community_ids), steps.c.step == "deployed")
        .group_by(plans.c.id, plans.c.community_id)
    )
    for community_id, happened_on in uow.db.execute(deployed):
        out[community_id][domain.month_of(happened_on)][1] += 1
    return {c: {m: (v[0], v[1]) for m, v in months.items()} for c, months in out.items()}


def _action_tables() -> tuple[Any, Any] | None:
    tables = orm.metadata.tables
    if "action_plans" in tables and "action_plan_steps" in tables:
        return tables["action_plans"], tables["action_plan_steps"]
    return None


def _of(actions: dict[str, dict[date, tuple[int, int]]], community_id: str) -> dict[date, tuple[int, int]] | None:
    """A community's action plans per month for its series: None without the feature (no column), else its months."""
    if _action_tables() is None:
        return None
    return actions.get(community_id, {})


def rules_of(settings: Any) -> Rules:
    """The signals' thresholds from the service's settings."""
    return Rules(
        attendance_min_drop=settings.health_attendance_min_drop,
        no_join_months=settings.health_no_join_months,
        participation_min_drop=settings.health_participation_min_drop,
        aging_months=settings.health_aging_months,
    )
