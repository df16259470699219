"""Action plans: "what I'll bring back to my workplace", and the long road from the idea to the action.

The road, after the seeds: a need sensed at work → a follow-up planned with colleagues or a manager → allies found
→ a pitch to management → a resource or practice deployed. A plan may be dropped, with a reason, from any step.

Rules (each tested in tests/unit/insights/test_action_plans_domain.py):
- a plan only moves forward; it may skip steps forward (a manager can be the first ally), never go back, and
  never record the same step twice;
- a deployed or dropped plan is closed: nothing more is recorded on it;
- a step's date is no earlier than the previous step's and no later than tomorrow (time zones): a step records
  what happened, not what is hoped for; only the follow-up date looks ahead, by at most a year;
- planning the follow-up needs its date and with whom; dropping needs a reason.

The plan belongs to its member; once she is erased it keeps only what counts anonymously (its steps and their
dates, its community, session, theme and employer organization), not her id nor any of her notes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from cercle_shared.domain import Aggregate, DomainEvent, check_version
from cercle_shared.errors import Conflict, InvalidInput


class Step(StrEnum):
    NEED_SENSED = "need_sensed"
    FOLLOW_UP_PLANNED = "follow_up_planned"
    ALLIES_FOUND = "allies_found"
    PITCHED_TO_MANAGEMENT = "pitched_to_management"
    DEPLOYED = "deployed"
    DROPPED = "dropped"


ROAD: tuple[Step, ...] = (
    Step.NEED_SENSED,
    Step.FOLLOW_UP_PLANNED,
    Step.ALLIES_FOUND,
    Step.PITCHED_TO_MANAGEMENT,
    Step.DEPLOYED,
)


def stage_of(step: Step) -> int:
    """0 for need_sensed … 4 for deployed: the funnel counts plans whose stage reached each step."""
    return ROAD.index(step)


class FollowUpWith(StrEnum):
    COLLEAGUES = "colleagues"
    MANAGER = "manager"
    COMMITTEE = "committee"  # the workplace's health and wellness (SMET) committee, in the seeds' words
    OTHER = "other"


class NudgeKind(StrEnum):
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    DAY_30 = "day_30"
    DAY_90 = "day_90"


STEP_DATE_LEEWAY = timedelta(days=1)
FOLLOW_UP_HORIZON = timedelta(days=366)
MAX_RESOURCES = 20
TITLE_MAX = 200
NOTES_MAX = 4000
REASON_MAX = 500

_NUDGE_NAMESPACE = uuid.UUID("5b0f7c2e-2f5e-4d0b-9a57-3c6a7e1d4a11")


@dataclass(frozen=True)
class NudgeIssued(DomainEvent):
    nudge_id: str
    plan_id: str
    member_id: str
    kind: NudgeKind
    plan_title: str
    community_id: str
    session_id: str | None
    theme_id: str | None
    current_step: str
    plan_url: str
    at: datetime


@dataclass(eq=False)
class PlanStep:
    """One step of the road as she recorded it."""

    plan_id: str
    step: Step
    happened_on: date
    recorded_at: datetime
    notes: str | None = None
    resource_ids: list[str] = field(default_factory=list)
    id: int | None = None  # set by the database


@dataclass(eq=False)
class ActionPlan(Aggregate):
    id: str
    member_id: str | None  # None once she is erased
    community_id: str
    title: str
    opened_at: datetime
    updated_at: datetime
    reached: Step = Step.NEED_SENSED  # the furthest step of the road, even once dropped
    stage: int = 0  # stage_of(reached), stored for the funnel's SQL
    opened_year: int = 0
    session_id: str | None = None
    theme_id: str | None = None
    organization_id: str | None = None  # her employer when she opened or last moved the plan, if known
    private_notes: str | None = None
    follow_up_on: date | None = None
    follow_up_with: FollowUpWith | None = None
    dropped_on: date | None = None
    drop_reason: str | None = None
    anonymous_owner: str | None = None  # a random id shared by an erased member's plans, to count people
    steps: list[PlanStep] = field(default_factory=list)
    version: int = 1

    @classmethod
    def open(
        cls,
        *,
        plan_id: str,
        member_id: str,
        community_id: str,
        title: str,
        session_id: str | None,
        theme_id: str | None,
        organization_id: str | None,
        private_notes: str | None,
        need_sensed_on: date | None,
        notes: str | None,
        resource_ids: list[str],
        at: datetime,
    ) -> ActionPlan:
        if session_id is None and theme_id is None:
            raise InvalidInput(
                "a plan comes from a session or a theme: give session_id or theme_id", field="session_id"
            )
        on = need_sensed_on or at.date()
        _check_step_date(on, None, at, "need_sensed_on")
        plan = cls(
            id=plan_id,
            member_id=member_id,
            community_id=community_id,
            title=_title(title),
            opened_at=at,
            updated_at=at,
            opened_year=at.year,
            session_id=session_id,
            theme_id=theme_id,
            organization_id=organization_id,
            private_notes=_notes(private_notes, "private_notes"),
        )
        plan.steps.append(
            PlanStep(
                plan_id=plan_id,
                step=Step.NEED_SENSED,
                happened_on=on,
                recorded_at=at,
                notes=_notes(notes, "notes"),
                resource_ids=_resources(resource_ids),
            )
        )
        return plan

    # -- reading ------------------------------------------------------------------------------------------------

    @property
    def current_step(self) -> Step:
        return Step.DROPPED if self.dropped_on is not None else self.reached

    @property
    def closed(self) -> bool:
        return self.current_step in (Step.DEPLOYED, Step.DROPPED)

    def owned_by(self, member_id: str | None) -> bool:
        return member_id is not None and self.member_id == member_id

    def last_step_on(self) -> date:
        return max(s.happened_on for s in self.steps)

    # -- changing -----------------------------------------------------------------------------------------------

    def record_step(
        self,
        step: Step,
        *,
        on: date | None,
        notes: str | None,
        resource_ids: list[str],
        follow_up_on: date | None,
        follow_up_with: FollowUpWith | None,
        reason: str | None,
        organization_id: str | None,
        expected_version: int,
        at: datetime,
    ) -> PlanStep:
        check_version(self.version, expected_version)
        if self.closed:
            raise Conflict(f"this plan is {self.current_step.value}: nothing more can be recorded", field="step")
        on = on or at.date()
        _check_step_date(on, self.last_step_on(), at, "on")
        if step is Step.DROPPED:
            if not reason or not reason.strip():
                raise InvalidInput("say why the plan is dropped", field="reason")
            self.dropped_on = on
            self.drop_reason = _bounded(reason.strip(), REASON_MAX, "reason")
        else:
            if reason is not None:
                raise InvalidInput("a reason is only given when dropping a plan", field="reason")
            if stage_of(step) <= self.stage:
                raise Conflict(
                    f"the plan is already at {self.reached.value}: a step is recorded once, and the road only goes "
                    "forward",
                    field="step",
                )
            if step is Step.FOLLOW_UP_PLANNED:
                self._plan_follow_up(follow_up_on, follow_up_with, on, at)
            elif follow_up_on is not None or follow_up_with is not None:
                raise InvalidInput("a follow-up date is given with the follow_up_planned step", field="follow_up_on")
            self.reached = step
            self.stage = stage_of(step)
        recorded = PlanStep(
            plan_id=self.id,
            step=step,
            happened_on=on,
            recorded_at=at,
            notes=_notes(notes, "notes"),
            resource_ids=_resources(resource_ids),
        )
        self.steps.append(recorded)
        if organization_id is not None:
            self.organization_id = organization_id
        self._touch(at)
        return recorded

    def _plan_follow_up(
        self, follow_up_on: date | None, follow_up_with: FollowUpWith | None, on: date, at: datetime
    ) -> None:
        if follow_up_on is None:
            raise InvalidInput("give the date of the follow-up", field="follow_up_on")
        if follow_up_with is None:
            raise InvalidInput("say with whom: colleagues, manager, committee or other", field="follow_up_with")
        _check_follow_up(follow_up_on, on, at)
        self.follow_up_on, self.follow_up_with = follow_up_on, follow_up_with

    def edit(
        self,
        *,
        expected_version: int,
        at: datetime,
        title: str | None = None,
        private_notes: str | None = None,
        clear_private_notes: bool = False,
        follow_up_on: date | None = None,
    ) -> None:
        """Her own words and the follow-up date (while it is the next thing to happen) may change at any time."""
        check_version(self.version, expected_version)
        if title is not None:
            self.title = _title(title)
        if clear_private_notes:
            self.private_notes = None
        elif private_notes is not None:
            self.private_notes = _notes(private_notes, "private_notes")
        if follow_up_on is not None:
            if self.current_step is not Step.FOLLOW_UP_PLANNED:
                raise Conflict(
                    "the follow-up date moves only while the follow-up is the next step", field="follow_up_on"
                )
            _check_follow_up(follow_up_on, self.last_step_on(), at)
            self.follow_up_on = follow_up_on
        self._touch(at)

    def _touch(self, at: datetime) -> None:
        self.updated_at = max(at, self.updated_at)
        self.version += 1

    def forget_member(self, anonymous_owner: str) -> None:
        """Erasure: her id and every word she wrote but the title leave; the steps and their dates stay, unnamed."""
        self.member_id = None
        self.anonymous_owner = anonymous_owner
        self.private_notes = None
        self.drop_reason = None
        for step in self.steps:
            step.notes = None

    # -- nudges -------------------------------------------------------------------------------------------------

    def due_nudges(self, now: datetime, session_at: datetime | None) -> list[tuple[NudgeKind, date]]:
        """The nudges due now, each with the day it is about (its identity with the kind): none once closed or
        erased. A day_30 / day_90 question counts from the session (from the opening for a plan from a theme); it
        is not asked of a plan opened after that day, and the day_30 one no longer once day 90 has come."""
        if self.closed or self.member_id is None:
            return []
        due: list[tuple[NudgeKind, date]] = []
        if (
            self.current_step is Step.FOLLOW_UP_PLANNED
            and self.follow_up_on is not None
            and now.date() > self.follow_up_on
            and self.updated_at.date() <= self.follow_up_on
        ):
            due.append((NudgeKind.FOLLOW_UP_OVERDUE, self.follow_up_on))
        anchor = session_at or self.opened_at
        day_30, day_90 = anchor + timedelta(days=30), anchor + timedelta(days=90)
        if day_30 <= now < day_90 and self.opened_at < day_30:
            due.append((NudgeKind.DAY_30, day_30.date()))
        if now >= day_90 and self.opened_at < day_90:
            due.append((NudgeKind.DAY_90, day_90.date()))
        return due


@dataclass(eq=False)
class Nudge(Aggregate):
    """One reminder sent about one plan: its id is derived from the plan, the kind and the day it is about, and
    its row is unique, so that a job run twice, or a rebuild, never sends it again."""

    id: str
    plan_id: str
    kind: NudgeKind
    about: date
    nudged_at: datetime

    @staticmethod
    def id_for(plan_id: str, kind: NudgeKind, about: date) -> str:
        return str(uuid.uuid5(_NUDGE_NAMESPACE, f"{plan_id}:{kind.value}:{about.isoformat()}"))

    @classmethod
    def issue(cls, plan: ActionPlan, kind: NudgeKind, about: date, *, plan_url: str, at: datetime) -> Nudge:
        if plan.member_id is None:
            raise Conflict("an erased member is not nudged")
        nudge = cls(id=cls.id_for(plan.id, kind, about), plan_id=plan.id, kind=kind, about=about, nudged_at=at)
        nudge.record(
            NudgeIssued(
                nudge_id=nudge.id,
                plan_id=plan.id,
                member_id=plan.member_id,
                kind=kind,
                plan_title=plan.title,
                community_id=plan.community_id,
                session_id=plan.session_id,
                theme_id=plan.theme_id,
                current_step=plan.current_step.value,
                plan_url=plan_url,
                at=at,
            )
        )
        return nudge


# -- checks ------------------------------------------------------------------------------------------------------


def _check_step_date(on: date, previous: date | None, at: datetime, name: str) -> None:
    if on > (at + STEP_DATE_LEEWAY).date():
        raise InvalidInput("a step records what happened: its date cannot be in the future", field=name)
    if previous is not None and on < previous:
        raise InvalidInput(f"a step cannot come before the previous one ({previous.isoformat()})", field=name)


def _check_follow_up(follow_up_on: date, since: date, at: datetime) -> None:
    if follow_up_on < since:
        raise InvalidInput("the follow-up cannot come before the step that plans it", field="follow_up_on")
    if follow_up_on > (at + FOLLOW_UP_HORIZON).date():
        raise InvalidInput("plan the follow-up within a year", field="follow_up_on")


def _title(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput("give the plan a title", field="title")
    return _bounded(value, TITLE_MAX, "title")


def _notes(value: str | None, name: str) -> str | None:
    if value is None or not value.strip():
        return None
    return _bounded(value.strip(), NOTES_MAX, name)


def _bounded(value: str, limit: int, name: str) -> str:
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=name)
    return value


def _resources(ids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if len(unique) > MAX_RESOURCES:
        raise InvalidInput(f"link at most {MAX_RESOURCES} resources per step", field="resource_ids")
    for resource_id in unique:
        _bounded(resource_id, 64, "resource_ids")
    return unique
