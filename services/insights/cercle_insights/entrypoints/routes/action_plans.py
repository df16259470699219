"""Action plans: a member's own plans and their steps; her community's portfolio; the conversion funnel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from cercle_shared.web.etag import etag, expected_version
from cercle_shared.web.pagination import Page

from ...domain.action_plans import ActionPlan
from ...service_layer import action_plans
from .. import action_plan_schemas as schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(prefix="/v1", tags=["action plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=64, description="Action plan id.")]
CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]
IfMatch = Annotated[str | None, Header(description="The ETag you read; or send a `version` field.")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
OptionalId = Annotated[str | None, Query(min_length=1, max_length=64)]


def _tagged(response: Response, plan: ActionPlan) -> schemas.ActionPlanPublic:
    response.headers["ETag"] = etag(plan.version)
    return schemas.action_plan_public(plan)


@router.post("/action-plans", status_code=status.HTTP_201_CREATED, response_model=schemas.ActionPlanPublic)
def open_plan(
    body: schemas.ActionPlanCreate, principal: PrincipalDep, uow: UowDep, clock: ClockDep, response: Response
) -> schemas.ActionPlanPublic:
    """Open my action plan from a session or a theme of a community I belong to (members, their own sign-in)."""
    cmd = action_plans.OpenPlan(**body.model_dump())
    plan = action_plans.open_plan(cmd, uow, principal, clock())
    response.headers["Location"] = f"/v1/action-plans/{plan.id}"
    return _tagged(response, plan)


@router.get("/action-plans", response_model=Page[schemas.ActionPlanPublic])
def list_plans(principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50):
    """My action plans, newest first."""
    plans, next_cursor = action_plans.list_plans(uow, principal, cursor=cursor, limit=limit)
    return Page[schemas.ActionPlanPublic](items=[schemas.action_plan_public(p) for p in plans], next_cursor=next_cursor)


@router.get("/action-plans/funnel", response_model=schemas.FunnelPublic)
def read_funnel(
    principal: PrincipalDep,
    uow: UowDep,
    request: Request,
    community_id: OptionalId = None,
    region: Annotated[str | None, Query(pattern=r"^(0[1-9]|1[0-7])$")] = None,
    theme_id: OptionalId = None,
    organization_id: OptionalId = None,
    year: Annotated[int | None, Query(ge=1970, le=2200)] = None,
    by: Annotated[action_plans.FunnelBy | None, Query(description="Break down by this.")] = None,
) -> schemas.FunnelPublic:
    """Ideas → followed up → allies → pitched → deployed (and dropped): coordinators (their regions), facilitators
    (their communities), operators; partners for their own organization, hidden below the anonymity threshold."""
    min_group = request.app.state.runtime.settings.action_plan_min_group
    filters: dict[str, Any] = {
        "community_id": community_id,
        "region": region,
        "theme_id": theme_id,
        "organization_id": organization_id,
        "year": year,
    }
    total = action_plans.funnel(uow, principal, min_group=min_group, **filters)
    rows = action_plans.funnel_rows(uow, principal, by=by, min_group=min_group, **filters) if by else []
    return schemas.FunnelPublic(
        total=schemas.funnel_figures(total), by=by, rows=[schemas.funnel_row_public(r) for r in rows]
    )


@router.get("/action-plans/{plan_id}", response_model=schemas.ActionPlanPublic)
def get_plan(plan_id: PlanId, principal: PrincipalDep, uow: UowDep, response: Response) -> schemas.ActionPlanPublic:
    """My action plan, with its steps and private notes."""
    return _tagged(response, action_plans.get_plan(uow, principal, plan_id))


@router.patch("/action-plans/{plan_id}", response_model=schemas.ActionPlanPublic)
def edit_plan(
    plan_id: PlanId,
    body: schemas.ActionPlanUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
) -> schemas.ActionPlanPublic:
    """Change my plan's title, private notes (null clears them) or follow-up date; If-Match required."""
    sent = body.model_dump(exclude_unset=True, exclude={"version"})
    cmd = action_plans.EditPlan(
        plan_id=plan_id,
        expected_version=expected_version(if_match, body.version),
        title=sent.get("title"),
        private_notes=sent.get("private_notes"),
        clear_private_notes="private_notes" in sent and sent["private_notes"] is None,
        follow_up_on=sent.get("follow_up_on"),
    )
    return _tagged(response, action_plans.edit_plan(cmd, uow, principal, clock()))


@router.get("/action-plans/{plan_id}/steps", response_model=list[schemas.StepPublic])
def list_steps(plan_id: PlanId, principal: PrincipalDep, uow: UowDep, response: Response) -> list[schemas.StepPublic]:
    """The steps of my plan, in order."""
    plan = action_plans.get_plan(uow, principal, plan_id)
    response.headers["ETag"] = etag(plan.version)
    return schemas.action_plan_public(plan).steps


@router.post(
    "/action-plans/{plan_id}/steps", status_code=status.HTTP_201_CREATED, response_model=schemas.ActionPlanPublic
)
def record_step(
    plan_id: PlanId,
    body: schemas.StepCreate,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
) -> schemas.ActionPlanPublic:
    """Record the next step of my plan (forward only), or drop it with a reason; If-Match required."""
    cmd = action_plans.RecordStep(
        plan_id=plan_id,
        expected_version=expected_version(if_match, body.version),
        **body.model_dump(exclude={"version"}),
    )
    return _tagged(response, action_plans.record_step(cmd, uow, principal, clock()))


@router.get("/communities/{community_id}/action-plans", response_model=Page[schemas.PortfolioItemPublic])
def community_portfolio(
    community_id: CommunityId, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
):
    """The community's portfolio of action plans, newest first, without members or notes (its members, its
    facilitators and its regions' coordinators, operators)."""
    items, next_cursor = action_plans.portfolio(uow, principal, community_id, cursor=cursor, limit=limit)
    return Page[schemas.PortfolioItemPublic](
        items=[schemas.portfolio_item_public(i) for i in items], next_cursor=next_cursor
    )
