"""Memberships: join, change role, leave. Every join is a new row, so the join/leave history is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cercle_shared.domain import check_version
from cercle_shared.errors import InvalidInput, NotFound
from cercle_shared.principal import Principal

from ..domain import model
from . import access
from .communities import find_community
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class JoinCommunity:
    community_id: str
    member_id: str
    role: str = model.MembershipRole.PARTICIPANT


@dataclass(frozen=True)
class LeaveCommunity:
    community_id: str
    member_id: str


@dataclass(frozen=True)
class ChangeMembershipRole:
    community_id: str
    member_id: str
    role: str
    expected_version: int


def join_community(
    cmd: JoinCommunity, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> model.Membership:
    with uow:
        community = find_community(uow, cmd.community_id)
        member = uow.members.get(cmd.member_id)
        if member is None:
            raise InvalidInput("no such member", field="member_id")
        access.check_join(principal, community, member, cmd.role)
        membership = add_membership(community, member, cmd.role, uow, clock())
        uow.commit()
        return membership


def add_membership(
    community: model.Community, member: model.Member, role: str, uow: RegistrationUnitOfWork, at: datetime
) -> model.Membership:
    """Join inside an open unit of work (also used by the bulk import)."""
    membership = model.join(community, member, role, uow.memberships.current(community.id, member.id), at)
    uow.memberships.add(membership)
    uow.flush()  # a join lost to a concurrent one fails here: in an import, as this row's error
    return membership


def leave_community(
    cmd: LeaveCommunity, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> model.Membership:
    with uow:
        community = find_community(uow, cmd.community_id)
        access.check_leave(principal, community, cmd.member_id)
        membership = model.leave(
            uow.memberships.current(community.id, cmd.member_id),
            ever_joined=uow.memberships.ever_joined(community.id, cmd.member_id),
            at=clock(),
        )
        uow.commit()
        return membership


def change_membership_role(
    cmd: ChangeMembershipRole, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> model.Membership:
    with uow:
        community = find_community(uow, cmd.community_id)
        access.check_manage_community(principal, community)
        membership = uow.memberships.current(community.id, cmd.member_id)
        if membership is None:
            raise NotFound("this member does not currently belong to this community", field="member_id")
        check_version(membership.version, cmd.expected_version)
        membership.change_role(cmd.role, clock())
        uow.commit()
        return membership
