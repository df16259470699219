from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from cercle_shared.principal import Principal
from cercle_shared.web.etag import expected_version

from ...domain.model import Clock
from ...domain.regions import RegionCatalog
from ...service_layer import members, views
from ...service_layer.unit_of_work import RegistrationUnitOfWork
from .. import schemas
from ..deps import (
    NOT_PARTNERS,
    ClockDep,
    Cursor,
    IfMatch,
    Limit,
    PrincipalDep,
    RegionFilter,
    RegionsDep,
    UowDep,
    my_member_id,
    tag,
)

# Declared before /{member_id}, which would otherwise take them: /export, /me, /me/export.
router = APIRouter(prefix="/v1/members", tags=["members"], dependencies=NOT_PARTNERS)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.MemberPublic, summary="Register a member")
def register_member(
    body: schemas.MemberCreate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
):
    """Register a member (operators; coordinators in their regions). Consent to processing is required."""
    cmd = members.RegisterMember(**body.model_dump(exclude={"consents"}), consents=body.consents.model_dump())
    member = members.register_member(cmd, uow, principal, regions, clock)
    tag(response, member.version)
    return schemas.member_public(member)


@router.get("", response_model=schemas.MembersPublic, summary="List members")
def list_members(
    principal: PrincipalDep,
    uow: UowDep,
    region: RegionFilter = None,
    community_id: str | None = None,
    organization_id: str | None = None,
    expertise: str | None = None,
    sort: Annotated[str, Query(description="display_name or registered_at; prefix - for descending.")] = "display_name",
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Members the caller may see: coordinators their regions, facilitators their communities, operators all."""
    found = views.members(
        uow,
        principal,
        region=region,
        community_id=community_id,
        organization_id=organization_id,
        expertise=expertise,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    return schemas.page(found, schemas.member_public)


@router.get(
    "/export",
    summary="Export a region's members as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per member."}},
)
def export_region_members(principal: PrincipalDep, uow: UowDep, region: RegionFilter = None):
    """A coordinator's regions (or one of them), or any region for an operator, as a CSV download."""
    text = views.region_members_csv(region, uow, principal)
    name = f"members-{region or 'my-regions'}.csv"
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/me", response_model=schemas.MemberPublic, summary="Read my profile")
def get_me(principal: PrincipalDep, uow: UowDep, response: Response):
    """The calling member's own profile and consents."""
    return _read(my_member_id(principal), principal, uow, response)


@router.patch("/me", response_model=schemas.MemberPublic, summary="Update my profile and consents")
def update_me(
    body: schemas.MemberUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change one's own profile, or give or withdraw consents (If-Match or version required)."""
    return _update(my_member_id(principal), body, if_match, principal, uow, regions, clock, response)


@router.get("/me/export", response_model=schemas.MemberExport, summary="Download everything held about me")
def export_me(principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """Profile, consents and their history, every membership past and present (JSON)."""
    return schemas.member_export(views.member_export(my_member_id(principal), uow, principal), clock())


@router.get("/{member_id}", response_model=schemas.MemberPublic, summary="Read a member")
def get_member(member_id: str, principal: PrincipalDep, uow: UowDep, response: Response):
    """A member: themselves, their region's coordinators, their communities' facilitators, operators."""
    return _read(member_id, principal, uow, response)


@router.patch("/{member_id}", response_model=schemas.MemberPublic, summary="Update a member")
def update_member(
    member_id: str,
    body: schemas.MemberUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a profile (the member, their coordinators) or consents (the member, operators); stale: 409."""
    return _update(member_id, body, if_match, principal, uow, regions, clock, response)


@router.get(
    "/{member_id}/export", response_model=schemas.MemberExport, summary="Download everything held about a member"
)
def export_member(member_id: str, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """For the member, or an operator answering their access request."""
    return schemas.member_export(views.member_export(member_id, uow, principal), clock())


def _read(member_id: str, principal: Principal, uow: RegistrationUnitOfWork, response: Response):
    member = views.member(member_id, uow, principal)
    tag(response, member.version)
    return schemas.member_public(member)


def _update(
    member_id: str,
    body: schemas.MemberUpdate,
    if_match: str | None,
    principal: Principal,
    uow: RegistrationUnitOfWork,
    regions: RegionCatalog,
    clock: Clock,
    response: Response,
):
    consents = body.consents.model_dump(exclude_none=True) if body.consents else {}
    cmd = members.UpdateMember(member_id, expected_version(if_match, body.version), schemas.changes(body), consents)
    member = members.update_member(cmd, uow, principal, regions, clock)
    tag(response, member.version)
    return schemas.member_public(member)
