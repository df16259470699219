"""Who may see and change what: coordinators their regions, facilitators their communities, members themselves."""

from __future__ import annotations

from cercle_shared.errors import Forbidden
from cercle_shared.principal import Principal, Role

from ..domain.model import Community, Member, Organization
from .unit_of_work import RegistrationUnitOfWork


def manages_member(principal: Principal, member: Member) -> bool:
    return principal.covers_region(member.region)


def may_read_member(principal: Principal, member: Member, uow: RegistrationUnitOfWork) -> bool:
    if principal.is_member(member.id) or manages_member(principal, member):
        return True
    if principal.role is Role.FACILITATOR:
        return bool(principal.communities & uow.memberships.current_communities_of(member.id))
    return False


def check_read_member(principal: Principal, member: Member, uow: RegistrationUnitOfWork) -> None:
    if not may_read_member(principal, member, uow):
        raise Forbidden("you may not see this member")


def check_edit_member(principal: Principal, member: Member) -> None:
    if not (principal.is_member(member.id) or manages_member(principal, member)):
        raise Forbidden("you may only change your own profile, or members of your regions")


def check_personal(principal: Principal, member: Member, action: str) -> None:
    """Consents, export and erasure: the member themselves, or an operator on their behalf."""
    if not (principal.is_member(member.id) or principal.is_operator):
        raise Forbidden(f"only the member themselves or an operator may {action}")


def check_manage_organization(principal: Principal, organization: Organization | None, region: str | None) -> None:
    if principal.is_operator:
        return
    regions = {region} | ({organization.region} if organization else set())
    if principal.role is not Role.COORDINATOR or not all(principal.covers_region(r) for r in regions):
        raise Forbidden("coordinators manage the organizations of their own regions only")


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


def check_see_directory(principal: Principal, community: Community, uow: RegistrationUnitOfWork) -> None:
    if may_manage_community(principal, community):
        return
    if uow.memberships.is_current_member(community.id, principal.member_id):
        return
    raise Forbidden("the directory is for the members of this community and its managers")
