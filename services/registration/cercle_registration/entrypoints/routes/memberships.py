from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from cercle_shared.web.etag import expected_version

from ...service_layer import memberships, views
from .. import schemas
from ..deps import NOT_PARTNERS, ClockDep, Cursor, IfMatch, Limit, PrincipalDep, UowDep, tag

router = APIRouter(prefix="/v1", tags=["memberships"], dependencies=NOT_PARTNERS)


@router.post(
    "/communities/{community_id}/memberships",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.MembershipPublic,
    summary="Join a community",
)
def join_community(
    community_id: str,
    body: schemas.MembershipCreate,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    response: Response,
):
    """Add a member to a community (its managers, or the member themselves as participant)."""
    cmd = memberships.JoinCommunity(community_id=community_id, member_id=body.member_id, role=body.role)
    membership = memberships.join_community(cmd, uow, principal, clock)
    tag(response, membership.version)
    return schemas.membership_public(membership)


@router.get(
    "/communities/{community_id}/memberships",
    response_model=schemas.MembershipsPublic,
    summary="A community's memberships",
)
def list_community_memberships(
    community_id: str,
    principal: PrincipalDep,
    uow: UowDep,
    active: Annotated[bool | None, Query(description="true: current members; false: those who left.")] = None,
    role: schemas.Role | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Who joined and left, with their tenure (the community's managers)."""
    found = views.community_memberships(
        community_id, uow, principal, active=active, role=role, cursor=cursor, limit=limit
    )
    return schemas.page(found, schemas.membership_public)


@router.patch(
    "/communities/{community_id}/memberships/{member_id}",
    response_model=schemas.MembershipPublic,
    summary="Change a role",
)
def change_membership_role(
    community_id: str,
    member_id: str,
    body: schemas.MembershipUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Make a current member participant, facilitator or coordinator (the community's managers)."""
    version = expected_version(if_match, body.version)
    cmd = memberships.ChangeMembershipRole(community_id, member_id, body.role, version)
    membership = memberships.change_membership_role(cmd, uow, principal, clock)
    tag(response, membership.version)
    return schemas.membership_public(membership)


@router.delete(
    "/communities/{community_id}/memberships/{member_id}",
    response_model=schemas.MembershipPublic,
    summary="Leave a community",
)
def leave_community(community_id: str, member_id: str, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """End a membership (the member, or the community's managers); its history stays. Leaving twice: 409."""
    cmd = memberships.LeaveCommunity(community_id, member_id)
    return schemas.membership_public(memberships.leave_community(cmd, uow, principal, clock))


@router.get(
    "/members/{member_id}/memberships", response_model=schemas.MembershipsPublic, summary="A member's memberships"
)
def list_member_memberships(
    member_id: str, principal: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 50
):
    """Every join and leave of a member, oldest first."""
    found = views.member_memberships(member_id, uow, principal, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.membership_public)
