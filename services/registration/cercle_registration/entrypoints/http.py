"""HTTP routes: validate, build a command, call a handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from cercle_shared.auth import CurrentPrincipal

from ..domain.regions import RegionCatalog
from ..service_layer import commands, handlers
from ..service_layer.unit_of_work import RegistrationUnitOfWork
from . import schemas


def _uow(request: Request) -> RegistrationUnitOfWork:
    return request.app.state.uow_factory()


def _regions(request: Request) -> RegionCatalog:
    return request.app.state.regions


Uow = Annotated[RegistrationUnitOfWork, Depends(_uow)]
Regions = Annotated[RegionCatalog, Depends(_regions)]

members = APIRouter(prefix="/v1/members", tags=["members"])
communities = APIRouter(prefix="/v1/communities", tags=["communities"])


@members.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.MemberPublic)
def register_member(body: schemas.MemberCreate, principal: CurrentPrincipal, uow: Uow, regions: Regions):
    """Register a member (operators; coordinators in their regions)."""
    cmd = commands.RegisterMember(**body.model_dump(exclude={"consents"}), consents=body.consents.model_dump())
    return handlers.register_member(cmd, uow, principal, regions)


@communities.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.CommunityPublic)
def create_community(body: schemas.CommunityCreate, principal: CurrentPrincipal, uow: Uow, regions: Regions):
    """Create a community (operators; coordinators in their regions)."""
    return handlers.create_community(commands.CreateCommunity(**body.model_dump()), uow, principal, regions)


@communities.post(
    "/{community_id}/memberships", status_code=status.HTTP_201_CREATED, response_model=schemas.MembershipPublic
)
def join_community(community_id: str, body: schemas.MembershipCreate, principal: CurrentPrincipal, uow: Uow):
    """Add a member to a community (its managers, or the member themselves as participant)."""
    cmd = commands.JoinCommunity(community_id=community_id, member_id=body.member_id, role=body.role)
    return handlers.join_community(cmd, uow, principal)


ROUTERS = (members, communities)
