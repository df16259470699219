"""Figures by employer organization, region, province, theme and year (issue 11, section 4).

Counts only. An organization's figures are about few people: they are shown only for groups of at least
`min_group` people (the setting `breakdown_min_group`), to everyone, and a partner reads only her own organization's.
The employer is the member's current one (as registration last said); an erased member leaves the organization's
figures, since nothing ties her to it any more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from cercle_shared.errors import Forbidden, InvalidInput, NotFound
from cercle_shared.principal import Principal, Role

from ..adapters import orm
from ..domain import health as domain
from ..domain.health import Facts, Meeting, Span, YearFigures
from ..domain.model import Community
from . import access
from .unit_of_work import InsightsUnitOfWork


@dataclass(frozen=True)
class OrganizationFigures:
    organization_id: str
    name: str | None
    region: str | None
    deleted: bool
    min_group: int
    years: list[YearFigures]


@dataclass(frozen=True)
class RegionFigures:
    region: str
    communities: int
    years: list[YearFigures]


@dataclass(frozen=True)
class RegionYear:
    region: str
    communities: int
    figures: YearFigures


@dataclass(frozen=True)
class ProvinceFigures:
    """Each community counted once in `years` (one spanning two regions too), each person once; `regions` lists
    every region's own figures, where a community of two regions appears in both."""

    communities: int
    years: list[YearFigures]
    regions: list[RegionYear]


@dataclass(frozen=True)
class ThemeFigures:
    theme_id: str
    title: str
    community_id: str
    cycle_id: str | None
    retained: bool
    rank: int | None
    merged_into_id: str | None
    proposals_merged: int
    votes: int
    sessions_held: int
    present: int
    attendance_rate: float | None
    attendees: int
    actions_opened: int | None
    actions_deployed: int | None


# --- organizations --------------------------------------------------------------------------------------------------


def organization_figures(
    uow: InsightsUnitOfWork,
    principal: Principal,
    organization_id: str,
    now: datetime,
    *,
    year: int | None = None,
    min_group: int = 5,
) -> OrganizationFigures:
    _check_may_read_organization(principal, organization_id)
    _check_year(year, now)
    with uow:
        known = uow.health.organization(organization_id)
        if known is None or known[0] is None:
            raise NotFound("insights knows no such organization (yet)", field="organization_id")
        name, region, deleted_at = known
        people = uow.health.members_of_organization(organization_id)
        memberships = uow.health.memberships_of_members(people)
        if principal.role is Role.COORDINATOR:
            mine = {c.id for c in _communities_of_regions(uow, principal.regions)} | set(principal.communities)
            memberships = [m for m in memberships if m.community_id in mine]
        communities = {m.community_id for m in memberships}
        attended = [a for a in uow.health.attendance_of_members(people) if a[1] in communities]
        facts = Facts(
            created_at=None,
            spans=[Span(m.member_id or m.id, m.joined_at, m.left_at) for m in memberships if m.joined_at is not None],
        )
        actions = _actions_by_year(uow, organization_id=organization_id)
        years = [year] if year is not None else domain.years_of(facts, now)
        out = []
        for y in years:
            figures = domain.year_figures(facts, y, now)
            start, end = domain.year_bounds(y)
            sessions = {(c, t) for _, c, t in attended if start <= t < end}
            opened, deployed = actions.get(y, (0, 0)) if actions is not None else (None, None)
            figures = replace(
                figures,
                sessions_held=len(sessions),
                present=sum(1 for _, _, t in attended if start <= t < end),
                attendance_rate=None,  # absences are not known per person
                proposals=None,  # proposals and votes carry no identity, hence no employer
                votes=None,
                actions_opened=opened,
                actions_deployed=deployed,
            )
            out.append(domain.hide_small(figures, min_group))
        return OrganizationFigures(organization_id, name, region, deleted_at is not None, min_group, out)


def _check_may_read_organization(principal: Principal, organization_id: str) -> None:
    if principal.role in (Role.OPERATOR, Role.COORDINATOR):
        return
    if principal.role is Role.PARTNER and principal.organization_id == organization_id:
        return
    raise Forbidden("you may not read the figures of this organization")


# --- regions and the province -------------------------------------------------------------------------------------


def region_figures(
    uow: InsightsUnitOfWork, principal: Principal, region: str, now: datetime, *, year: int | None = None
) -> RegionFigures:
    """The communities tied to the region (province-wide ones belong to no single region and are left out)."""
    access.check_may_read_region(principal, region)
    _check_year(year, now)
    with uow:
        communities = _communities_of_regions(uow, {region})
        ids = [c.id for c in communities]
        facts = _merged(uow.health.facts(communities, attended=False, votes=False).values())
        votes = _summed_votes(uow.health.votes_by_year(ids), ids)
        actions = _actions_by_year(uow, community_ids=ids)
        years = [year] if year is not None else domain.years_of(facts, now)
        return RegionFigures(
            region,
            len(communities),
            [_with_actions(_with_votes(domain.year_figures(facts, y, now), votes), actions) for y in years],
        )


def province_figures(
    uow: InsightsUnitOfWork, principal: Principal, now: datetime, *, year: int | None = None
) -> ProvinceFigures:
    if principal.role not in (Role.OPERATOR, Role.PARTNER, Role.COORDINATOR):
        raise Forbidden("you may not read the province's figures")
    _check_year(year, now)
    with uow:
        communities = _described(uow)
        ids = [c.id for c in communities]
        by_id = uow.health.facts(communities, attended=False, votes=False)  # votes: counted by year in SQL
        votes_by_community = uow.health.votes_by_year(ids)
        everything = _merged(by_id.values())
        by_community = _actions_by_community_year(uow, ids)
        actions = _summed(by_community, ids)
        votes = _summed_votes(votes_by_community, ids)
        years = [year] if year is not None else domain.years_of(everything, now)
        totals = [_with_actions(_with_votes(domain.year_figures(everything, y, now), votes), actions) for y in years]
        by_region: dict[str, list[Community]] = defaultdict(list)
        for c in communities:
            for r in c.regions:
                by_region[r].append(c)
        rows = []
        last = years[-1]
        for r in sorted(by_region):
            members = by_region[r]
            facts = _merged(by_id[c.id] for c in members)
            region_actions = _summed(by_community, [c.id for c in members])
            region_votes = _summed_votes(votes_by_community, [c.id for c in members])
            figures = _with_votes(domain.year_figures(facts, last, now), region_votes)
            rows.append(RegionYear(r, len(members), _with_actions(figures, region_actions)))
        return ProvinceFigures(len(communities), totals, rows)


# --- themes ---------------------------------------------------------------------------------------------------------


def theme_figures(uow: InsightsUnitOfWork, principal: Principal, theme_id: str, now: datetime) -> ThemeFigures:
    with uow:
        theme = uow.health.theme(theme_id)
        community = uow.replica.described(theme.community_id) if theme is not None else None
        if theme is None or theme.title is None or community is None:
            raise NotFound("insights knows no such theme (yet)", field="theme_id")
        access.check_may_read_community(uow, principal, community)
        merged = uow.health.merged_into(theme_id)
        sessions = [s for s in uow.health.sessions_of_theme(theme_id) if s.status != "cancelled"]
        recorded = [s for s in sessions if s.present is not None]
        present = sum(s.present or 0 for s in recorded)
        seats = present + sum(s.absent or 0 for s in recorded)
        attendees = uow.health.attendees_of_sessions([s.id for s in sessions])
        actions = _actions_by_year(uow, theme_id=theme_id)
        return ThemeFigures(
            theme_id=theme.id,
            title=theme.title,
            community_id=theme.community_id,
            cycle_id=theme.cycle_id,
            retained=theme.retained,
            rank=theme.rank,
            merged_into_id=theme.merged_into_id,
            proposals_merged=len(merged),
            votes=uow.health.votes_for([theme_id, *merged]),
            sessions_held=sum(1 for s in sessions if s.status == "held" or s.present is not None),
            present=present,
            attendance_rate=round(present / seats, 3) if seats else None,
            attendees=len({a for a in attendees if a is not None}) + sum(1 for a in attendees if a is None),
            actions_opened=sum(v[0] for v in actions.values()) if actions is not None else None,
            actions_deployed=sum(v[1] for v in actions.values()) if actions is not None else None,
        )


# --- shared ---------------------------------------------------------------------------------------------------------


def _check_year(year: int | None, now: datetime) -> None:
    if year is not None and not 2000 <= year <= now.year:
        raise InvalidInput(f"year must be between 2000 and {now.year}", field="year")


def _described(uow: InsightsUnitOfWork) -> list[Community]:
    return list(uow.db.scalars(select(Community).where(Community.name_fr.is_not(None)).order_by(Community.id)))


def _communities_of_regions(uow: InsightsUnitOfWork, regions: frozenset[str] | set[str]) -> list[Community]:
    out: dict[str, Community] = {}
    for region in sorted(regions):
        for c in uow.health.in_region(region):
            out[c.id] = c
    return list(out.values())


def _merged(facts: Iterable[Facts]) -> Facts:
    """Several communities' facts as one: a person in two of them is one person (spans keep her id)."""
    spans: list[Span] = []
    meetings: list[Meeting] = []
    proposals: list[datetime] = []
    votes: list[datetime] = []
    starts: list[datetime] = []
    for f in facts:
        spans.extend(f.spans)
        meetings.extend(f.meetings)
        proposals.extend(f.proposals)
        votes.extend(f.votes)
        if f.created_at is not None:
            starts.append(f.created_at)
    return Facts(
        created_at=min(starts) if starts else None, spans=spans, meetings=meetings, proposals=proposals, votes=votes
    )


def _with_actions(figures: YearFigures, actions: dict[int, tuple[int, int]] | None) -> YearFigures:
    if actions is None:
        return figures
    opened, deployed = actions.get(figures.year, (0, 0))
    return replace(figures, actions_opened=opened, actions_deployed=deployed)


def _actions_by_community_year(
    uow: InsightsUnitOfWork, community_ids: Sequence[str]
) -> dict[str, dict[int, tuple[int, int]]] | None:
    """Action plans opened and deployed per community and year, in two queries (None without the feature's tables):
    the province sums them per region instead of asking once per region."""
    tables = orm.metadata.tables
    if "action_plans" not in tables or "action_plan_steps" not in tables:
        return None
    plans, steps = tables["action_plans"], tables["action_plan_steps"]
    counts: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    if not community_ids:
        return {}
    where = plans.c.community_id.in_(list(community_ids))
    for community_id, opened_at in uow.db.execute(select(plans.c.community_id, plans.c.opened_at).where(where)):
        counts[community_id][opened_at.year][0] += 1
    deployed = (
        select(plans.c.community_id, func.min(steps.c.happened_on))
        .join(plans, steps.c.plan_id == plans.c.id)
        .where(steps.c.step == "deployed", where)
        .group_by(plans.c.id, plans.c.community_id)
    )
    for community_id, happened_on in uow.db.execute(deployed):
        counts[community_id][happened_on.year][1] += 1
    return {c: {y: (v[0], v[1]) for y, v in years.items()} for c, years in counts.items()}


def _summed_votes(by_community: dict[str, dict[int, int]], community_ids: Iterable[str]) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for c in community_ids:
        for y, n in by_community.get(c, {}).items():
            out[y] += n
    return out


def _with_votes(figures: YearFigures, votes: dict[int, int]) -> YearFigures:
    return replace(figures, votes=votes.get(figures.year, 0))


def _summed(
    by_community: dict[str, dict[int, tuple[int, int]]] | None, community_ids: Iterable[str]
) -> dict[int, tuple[int, int]] | None:
    if by_community is None:
        return None
    out: dict[int, tuple[int, int]] = {}
    for c in community_ids:
        for y, (opened, deployed) in by_community.get(c, {}).items():
            before = out.get(y, (0, 0))
            out[y] = (before[0] + opened, before[1] + deployed)
    return out


def _actions_by_year(
    uow: InsightsUnitOfWork,
    *,
    community_ids: Sequence[str] | None = None,
    organization_id: str | None = None,
    theme_id: str | None = None,
) -> dict[int, tuple[int, int]] | None:
    """Action plans opened and deployed per year, from the action plans feature's tables (None without them)."""
    tables = orm.metadata.tables
    if "action_plans" not in tables or "action_plan_steps" not in tables:
        return None
    plans, steps = tables["action_plans"], tables["action_plan_steps"]
    where = []
    if community_ids is not None:
        if not community_ids:
            return {}
        where.append(plans.c.community_id.in_(list(community_ids)))
    if organization_id is not None:
        where.append(plans.c.organization_id == organization_id)
    if theme_id is not None:
        where.append(plans.c.theme_id == theme_id)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (opened_at,) in uow.db.execute(select(plans.c.opened_at).where(*where)):
        counts[opened_at.year][0] += 1
    deployed = (
        select(func.min(steps.c.happened_on))
        .join(plans, steps.c.plan_id == plans.c.id)
        .where(steps.c.step == "deployed", *where)
        .group_by(plans.c.id)
    )
    for (happened_on,) in uow.db.execute(deployed):
        counts[happened_on.year][1] += 1
    return {y: (v[0], v[1]) for y, v in counts.items()}
