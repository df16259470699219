"""HTTP schemas of action plans: ActionPlanCreate / ActionPlanUpdate / StepCreate in, *Public out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from cercle_shared.web.schemas import MultiLine, SaneDate, SingleLine, StrictModel

from ..domain.action_plans import NOTES_MAX, REASON_MAX, TITLE_MAX, ActionPlan, FollowUpWith, PlanStep, Step
from ..service_layer.action_plans import Funnel, FunnelRow, PortfolioItem

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
ResourceIds = Annotated[list[Id], Field(max_length=20, description="Ids of library resources (ResourceShared).")]
Notes = Annotated[MultiLine, Field(max_length=NOTES_MAX)]

STEP_LABELS: dict[Step, tuple[str, str]] = {
    Step.NEED_SENSED: ("Besoin capté", "Need sensed"),
    Step.FOLLOW_UP_PLANNED: (
        "Suivi prévu avec collègues ou gestionnaire",
        "Follow-up planned with colleagues or manager",
    ),
    Step.ALLIES_FOUND: ("Allié·e·s trouvé·e·s", "Allies found"),
    Step.PITCHED_TO_MANAGEMENT: ("Présenté à la direction", "Pitched to management"),
    Step.DEPLOYED: ("Ressource ou pratique déployée", "Resource or practice deployed"),
    Step.DROPPED: ("Abandonné", "Dropped"),
}


class ActionPlanCreate(StrictModel):
    """What I'll bring back to my workplace: from a session (its community is known) or a theme."""

    title: Annotated[SingleLine, Field(min_length=1, max_length=TITLE_MAX, examples=["Pauses actives au bureau"])]
    session_id: Id | None = Field(default=None, description="Session the idea came from.")
    theme_id: Id | None = Field(default=None, description="Theme the idea came from.")
    community_id: Id | None = Field(
        default=None, description="Community of the theme, when insights does not know the theme yet."
    )
    private_notes: Notes | None = Field(default=None, description="Notes only she reads.")
    need_sensed_on: SaneDate | None = Field(default=None, description="When she sensed the need (default: today).")
    notes: Notes | None = Field(default=None, description="Notes on the first step.")
    resource_ids: ResourceIds = Field(default_factory=list)


class ActionPlanUpdate(StrictModel):
    """Fields to change; `private_notes: null` clears them. Send If-Match (or `version`)."""

    title: Annotated[SingleLine, Field(min_length=1, max_length=TITLE_MAX)] | None = None
    private_notes: Notes | None = None
    follow_up_on: SaneDate | None = Field(default=None, description="Move the planned follow-up.")
    version: int | None = Field(default=None, ge=1, description="The version you read, if not sent as If-Match.")


class StepCreate(StrictModel):
    """The next step of the road (forward only), or dropping the plan. Send If-Match (or `version`)."""

    step: Step
    on: SaneDate | None = Field(default=None, description="When it happened (default: today; never in the future).")
    notes: Notes | None = None
    resource_ids: ResourceIds = Field(default_factory=list)
    follow_up_on: SaneDate | None = Field(default=None, description="With follow_up_planned: the follow-up's date.")
    follow_up_with: FollowUpWith | None = Field(default=None, description="With follow_up_planned: with whom.")
    reason: Annotated[MultiLine, Field(max_length=REASON_MAX)] | None = Field(
        default=None, description="With dropped: why."
    )
    version: int | None = Field(default=None, ge=1, description="The version you read, if not sent as If-Match.")


class StepPublic(BaseModel):
    step: Step
    label_fr: str
    label_en: str
    on: date
    notes: str | None
    resource_ids: list[str]
    recorded_at: datetime


class ActionPlanPublic(BaseModel):
    """Her plan, as only she reads it."""

    id: str
    community_id: str
    session_id: str | None
    theme_id: str | None
    title: str
    private_notes: str | None
    current_step: Step
    label_fr: str
    label_en: str
    follow_up_on: date | None
    follow_up_with: FollowUpWith | None
    drop_reason: str | None
    opened_at: datetime
    updated_at: datetime
    version: int
    steps: list[StepPublic]


def _step_public(s: PlanStep) -> StepPublic:
    fr, en = STEP_LABELS[s.step]
    return StepPublic(
        step=s.step,
        label_fr=fr,
        label_en=en,
        on=s.happened_on,
        notes=s.notes,
        resource_ids=list(s.resource_ids),
        recorded_at=s.recorded_at,
    )


def action_plan_public(plan: ActionPlan) -> ActionPlanPublic:
    fr, en = STEP_LABELS[plan.current_step]
    return ActionPlanPublic(
        id=plan.id,
        community_id=plan.community_id,
        session_id=plan.session_id,
        theme_id=plan.theme_id,
        title=plan.title,
        private_notes=plan.private_notes,
        current_step=plan.current_step,
        label_fr=fr,
        label_en=en,
        follow_up_on=plan.follow_up_on,
        follow_up_with=plan.follow_up_with,
        drop_reason=plan.drop_reason,
        opened_at=plan.opened_at,
        updated_at=plan.updated_at,
        version=plan.version,
        steps=[_step_public(s) for s in plan.steps],
    )


class PortfolioStepPublic(BaseModel):
    step: Step
    on: date
    resource_ids: list[str]


class PortfolioItemPublic(BaseModel):
    """A plan as its community sees it: no member, no notes."""

    id: str
    title: str
    session_id: str | None
    theme_id: str | None
    current_step: Step
    label_fr: str
    label_en: str
    opened_on: date
    updated_on: date
    steps: list[PortfolioStepPublic]


def portfolio_item_public(item: PortfolioItem) -> PortfolioItemPublic:
    current = Step(item.current_step)
    fr, en = STEP_LABELS[current]
    return PortfolioItemPublic(
        id=item.plan_id,
        title=item.title,
        session_id=item.session_id,
        theme_id=item.theme_id,
        current_step=current,
        label_fr=fr,
        label_en=en,
        opened_on=item.opened_on,
        updated_on=item.updated_on,
        steps=[PortfolioStepPublic(step=Step(s.step), on=s.on, resource_ids=s.resource_ids) for s in item.steps],
    )


class FunnelFigures(BaseModel):
    """Plans that reached each step; null (enough false) below the anonymity threshold."""

    ideas: int | None
    followed_up: int | None
    allies: int | None
    pitched: int | None
    deployed: int | None
    dropped: int | None
    people: int | None
    enough: bool


class FunnelRowPublic(FunnelFigures):
    key: str | None = Field(description="Community, theme or organization id, or the year; null when not known.")


class FunnelPublic(BaseModel):
    total: FunnelFigures
    by: str | None
    rows: list[FunnelRowPublic]


def funnel_figures(f: Funnel) -> FunnelFigures:
    return FunnelFigures(
        ideas=f.ideas,
        followed_up=f.followed_up,
        allies=f.allies,
        pitched=f.pitched,
        deployed=f.deployed,
        dropped=f.dropped,
        people=f.people,
        enough=f.enough,
    )


def funnel_row_public(r: FunnelRow) -> FunnelRowPublic:
    return FunnelRowPublic(
        key=r.key,
        ideas=r.ideas,
        followed_up=r.followed_up,
        allies=r.allies,
        pitched=r.pitched,
        deployed=r.deployed,
        dropped=r.dropped,
        people=r.people,
        enough=r.enough,
    )
