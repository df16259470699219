"""Action plans' repository: the only place with their SQL (plans, steps, nudges, the funnel)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cercle_shared.db.keyset import Keyset

from ..domain.action_plans import ROAD, ActionPlan, Nudge, Step
from ..domain.model import CommunitySession
from . import orm
from .action_plan_orm import action_plan_steps, action_plans


@dataclass(frozen=True)
class PlanScope:
    """Which plans an aggregate may count: those of these communities, or of communities in these regions
    (either matches); None on both axes means every plan."""

    regions: frozenset[str] | None = None
    community_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class FunnelFilters:
    community_id: str | None = None
    region: str | None = None
    theme_id: str | None = None
    organization_id: str | None = None
    year: int | None = None


@dataclass(frozen=True)
class FunnelCounts:
    key: str | int | None
    ideas: int
    followed_up: int
    allies: int
    pitched: int
    deployed: int
    dropped: int
    people: int


GROUPS = {
    "community": action_plans.c.community_id,
    "theme": action_plans.c.theme_id,
    "organization": action_plans.c.organization_id,
    "year": action_plans.c.opened_year,
}


class ActionPlanRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    # -- plans ---------------------------------------------------------------------------------------------------

    def get(self, plan_id: str) -> ActionPlan | None:
        return self._db.get(ActionPlan, plan_id)

    def add(self, plan: ActionPlan) -> None:
        self._db.add(plan)

    def of_member(self, member_id: str) -> Sequence[ActionPlan]:
        return self._db.scalars(select(ActionPlan).where(ActionPlan.member_id == member_id)).all()

    def page_of_member(
        self, member_id: str, *, cursor: str | None, limit: int
    ) -> tuple[Sequence[ActionPlan], str | None]:
        stmt = select(ActionPlan).where(ActionPlan.member_id == member_id)
        return Keyset(ActionPlan.opened_at, ActionPlan.id, descending=True).page(
            self._db, stmt, cursor=cursor, limit=limit
        )

    def page_of_community(
        self, community_id: str, *, cursor: str | None, limit: int
    ) -> tuple[Sequence[ActionPlan], str | None]:
        stmt = select(ActionPlan).where(ActionPlan.community_id == community_id)
        return Keyset(ActionPlan.opened_at, ActionPlan.id, descending=True).page(
            self._db, stmt, cursor=cursor, limit=limit
        )

    # -- what other features project (joined read-only, absent until their tables exist) ----------------------

    def _table(self, name: str) -> Any:
        return orm.metadata.tables.get(name)

    def organization_of(self, member_id: str) -> str | None:
        """Her employer as insights knows it (helper G's `member_profiles`), if known."""
        profiles = self._table("member_profiles")
        if profiles is None:
            return None
        value: str | None = self._db.scalar(select(profiles.c.organization_id).where(profiles.c.member_id == member_id))
        return value

    def theme_community(self, theme_id: str) -> str | None:
        themes = self._table("themes")
        if themes is None:
            return None
        value: str | None = self._db.scalar(select(themes.c.community_id).where(themes.c.id == theme_id))
        return value

    def session_theme(self, session_id: str) -> str | None:
        session_themes = self._table("session_themes")
        if session_themes is None:
            return None
        value: str | None = self._db.scalar(
            select(session_themes.c.theme_id).where(session_themes.c.session_id == session_id)
        )
        return value

    def session(self, session_id: str) -> CommunitySession | None:
        return self._db.get(CommunitySession, session_id)

    # -- nudges --------------------------------------------------------------------------------------------------

    def open_plans(self, *, after_id: str | None, limit: int) -> Sequence[ActionPlan]:
        """Plans still on the road, of members not erased, by id (a batch at a time)."""
        stmt = select(ActionPlan).where(
            ActionPlan.member_id.is_not(None),
            ActionPlan.dropped_on.is_(None),
            ActionPlan.reached != Step.DEPLOYED,
        )
        if after_id is not None:
            stmt = stmt.where(ActionPlan.id > after_id)
        return self._db.scalars(stmt.order_by(ActionPlan.id).limit(limit)).all()

    def session_starts(self, session_ids: Collection[str]) -> dict[str, datetime]:
        rows = self._db.execute(
            select(orm.sessions.c.id, orm.sessions.c.starts_at).where(
                orm.sessions.c.id.in_(list(session_ids)), orm.sessions.c.starts_at.is_not(None)
            )
        ).all()
        return {row[0]: row[1] for row in rows}

    def sent_nudges(self, nudge_ids: Collection[str]) -> set[str]:
        if not nudge_ids:
            return set()
        return set(self._db.scalars(select(Nudge.id).where(Nudge.id.in_(list(nudge_ids)))).all())

    def add_nudge_once(self, nudge: Nudge) -> bool:
        """Insert the nudge's row, in a savepoint: False (and its event withdrawn) when another job instance
        inserted it first, so that the rest of the batch still goes."""
        try:
            with self._db.begin_nested():
                self._db.add(nudge)
                self._db.flush()
        except IntegrityError:
            nudge.pull_events()
            return False
        return True

    def nudges_of(self, plan_id: str) -> Sequence[Nudge]:
        return self._db.scalars(select(Nudge).where(Nudge.plan_id == plan_id).order_by(Nudge.nudged_at)).all()

    def opened_and_deployed(
        self, community_ids: Collection[str], *, until: datetime
    ) -> list[tuple[str, datetime, date | None]]:
        """(community, opened at, deployed on) of the plans opened before `until`, for monthly series."""
        deployed = (
            select(action_plan_steps.c.happened_on)
            .where(action_plan_steps.c.plan_id == action_plans.c.id, action_plan_steps.c.step == Step.DEPLOYED)
            .scalar_subquery()
        )
        rows = self._db.execute(
            select(action_plans.c.community_id, action_plans.c.opened_at, deployed).where(
                action_plans.c.community_id.in_(list(community_ids)),
                action_plans.c.opened_at < until,
            )
        ).all()
        return [(row[0], row[1], row[2]) for row in rows]

    # -- the funnel ----------------------------------------------------------------------------------------------

    def funnel(self, scope: PlanScope, filters: FunnelFilters, *, by: str | None = None) -> list[FunnelCounts]:
        """Plans that reached each step (a deployed plan counts at every earlier step), dropped ones, and the
        distinct people behind them (an erased member stays one person through her anonymous owner id)."""
        c = action_plans.c

        def reached(stage: int) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((c.stage >= stage, 1), else_=0)), 0)

        person = func.coalesce(c.member_id, c.anonymous_owner)
        group = GROUPS[by] if by is not None else None
        columns: list[Any] = [
            func.count(),
            reached(ROAD.index(Step.FOLLOW_UP_PLANNED)),
            reached(ROAD.index(Step.ALLIES_FOUND)),
            reached(ROAD.index(Step.PITCHED_TO_MANAGEMENT)),
            reached(ROAD.index(Step.DEPLOYED)),
            func.coalesce(func.sum(case((c.dropped_on.is_not(None), 1), else_=0)), 0),
            func.count(func.distinct(person)),
        ]
        stmt = select(*([group] if group is not None else []), *columns).select_from(action_plans)
        stmt = stmt.where(*self._conditions(scope, filters))
        if group is not None:
            stmt = stmt.group_by(group).order_by(group)
        rows = self._db.execute(stmt).all()
        out = []
        for row in rows:
            values = list(row)
            key = values.pop(0) if group is not None else None
            out.append(FunnelCounts(key, *(int(v or 0) for v in values)))
        return out

    def _conditions(self, scope: PlanScope, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        c = action_plans.c
        regions = orm.community_regions.c
        conditions: list[ColumnElement[bool]] = []
        in_scope: list[ColumnElement[bool]] = []
        if scope.regions is not None:
            in_scope.append(
                c.community_id.in_(select(regions.community_id).where(regions.region.in_(sorted(scope.regions))))
            )
        if scope.community_ids is not None:
            in_scope.append(c.community_id.in_(sorted(scope.community_ids)))
        if in_scope:
            conditions.append(or_(*in_scope))
        if filters.community_id is not None:
            conditions.append(c.community_id == filters.community_id)
        if filters.region is not None:
            conditions.append(exists().where(regions.community_id == c.community_id, regions.region == filters.region))
        if filters.theme_id is not None:
            conditions.append(c.theme_id == filters.theme_id)
        if filters.organization_id is not None:
            conditions.append(c.organization_id == filters.organization_id)
        if filters.year is not None:
            conditions.append(c.opened_year == filters.year)
        return conditions
