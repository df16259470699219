"""Who may see and change what: coordinators their regions, facilitators their communities, members themselves,
operators everything; partners nothing of registration."""

from __future__ import annotations

from typing import Any

from cercle_shared.errors import Forbidden
from cercle_shared.principal import Principal, Role

from ..adapters.repository import MemberQuery
from ..domain.model import Community, Member, MembershipRole, Organization
from .unit_of_work import RegistrationUnitOfWork


def check_manage_organization(principal: Principal, organization: Organization | None, region: str | None) -> None:
    if principal.is_operator:
        return
    regions = {region} | ({organization.region} if organization else set())
    if principal.role is not Role.COORDINATOR or not all(principal.covers_region(r) for r in regions):
        raise Forbidden("coordinators manage the organizations of their own regions only")


def check_delete_organization(principal: Principal) -> None:
    if not principal.is_operator:
        raise Forbidden("only operators delete organizations")


def manages_member(principal: Principal, member: Member) -> bool:
    return principal.covers_region(member.region)


def check_register_member(principal: Principal, region: str | None) -> None:
    if not principal.covers_region(region):
        raise Forbidden("you may only register members in your own regions")


def may_read_member(principal: Principal, member: Member, uow: RegistrationUnitOfWork) -> bool:
    if principal.is_member(member.id) or manages_member(principal, member):
        return True
    if principal.role is Role.FACILITATOR:
        return bool(principal.communities & uow.memberships.current_communities_of(member.id))
    return False


def check_read_member(principal: Principal, member: Member, uow: RegistrationUnitOfWork) -> None:
    if not may_read_member(principal, member, uow):
        raise Forbidden("you may not see this member")


def visible_members(
    principal: Principal, *, region: str | None, community_id: str | None, **filters: Any
) -> MemberQuery:
    """Narrow a member search to what the caller may see; asking for more is a 403, not an empty page."""
    regions = frozenset({region}) if region else None
    communities = frozenset({community_id}) if community_id else None
    if principal.role is Role.COORDINATOR:
        if region and region not in principal.regions:
            raise Forbidden("coordinators see the members of their own regions only", field="region")
        regions = regions or frozenset(principal.regions)
    elif principal.role is Role.FACILITATOR:
        if community_id and community_id not in principal.communities:
            raise Forbidden("facilitators see the members of their own communities only", field="community_id")
        communities = communities or frozenset(principal.communities)
    elif not principal.is_operator:
        raise Forbidden("members see their own profile (/v1/members/me) and their communities' directories")
    return MemberQuery(regions=regions, communities=communities, **filters)


def check_edit_member(principal: Principal, member: Member) -> None:
    if not (principal.is_member(member.id) or manages_member(principal, member)):
        raise Forbidden("you may only change your own profile, or members of your regions")


def check_move_member(principal: Principal, member: Member, region: str | None) -> None:
    if not (principal.is_member(member.id) or principal.covers_region(region)):
        raise Forbidden("you may only move a member into one of your own regions", field="region")


def check_personal(principal: Principal, member: Member, action: str) -> None:
    """Consents, export and erasure: the member themselves, or an operator on their behalf."""
    if not (principal.is_member(member.id) or principal.is_operator):
        raise Forbidden(f"only the member themselves or an operator may {action}")


def check_export_members(principal: Principal) -> None:
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
        raise Forbidden("coordinators and operators export members")


def check_import_members(principal: Principal) -> None:
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
        raise Forbidden("coordinators and operators import members")


def may_manage_community(principal: Principal, community: Community) -> bool:
    return principal.covers_community(community.id, community.regions)


def check_manage_community(principal: Principal, community: Community) -> None:
    if not may_manage_community(principal, community):
        raise Forbidden("you may not manage this community")


def check_place_community(principal: Principal, regions: list[str], province_wide: bool) -> None:
    """Where a community may be placed: coordinators in their own regions, province-wide by operators."""
    if principal.is_operator:
        return
    if principal.role is not Role.COORDINATOR or province_wide or not all(principal.covers_region(r) for r in regions):
        raise Forbidden("coordinators place communities in their own regions only; province-wide needs an operator")


def check_change_community_status(principal: Principal, community: Community) -> None:
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
        raise Forbidden("coordinators and operators change a community's status")
    check_manage_community(principal, community)


def check_join(principal: Principal, community: Community, member: Member, role: str) -> None:
    """A community's managers add anyone; a member joins by themselves, as a participant."""
    joining_self = principal.is_member(member.id) and role == MembershipRole.PARTICIPANT
    if not (joining_self or may_manage_community(principal, community)):
        raise Forbidden("you may not manage the members of this community")


def check_leave(principal: Principal, community: Community, member_id: str) -> None:
    if not (principal.is_member(member_id) or may_manage_community(principal, community)):
        raise Forbidden("you may not manage the members of this community")


def check_see_directory(principal: Principal, community: Community, uow: RegistrationUnitOfWork) -> None:
    if may_manage_community(principal, community):
        return
    if uow.memberships.is_current_member(community.id, principal.member_id):
        return
    raise Forbidden("the directory is for the members of this community and its managers")
