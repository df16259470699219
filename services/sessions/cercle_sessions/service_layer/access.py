"""Who may see and manage what, from the token and the local membership replica."""

from __future__ import annotations

from cercle_shared.errors import Forbidden, NotFound
from cercle_shared.principal import Principal, Role

from ..domain import model
from .unit_of_work import SessionsUnitOfWork


def community(uow: SessionsUnitOfWork, community_id: str) -> model.Community:
    found = uow.communities.get(community_id)
    if found is None:
        raise NotFound("no such community (yet: communities come from registration's events)", field="community_id")
    return found


def manages(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> bool:
    """Operators; coordinators of one of its regions; its facilitators (token, or facilitator membership)."""
    if principal.covers_community(community.id, community.regions):
        return True
    if principal.member_id:
        membership = uow.memberships.current(community.id, principal.member_id)
        return membership is not None and membership.role in model.MANAGER_ROLES
    return False


def belongs(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> bool:
    return bool(principal.member_id) and uow.memberships.current(community.id, principal.member_id) is not None


def ensure_manages(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> None:
    if not manages(principal, community, uow):
        raise Forbidden("you do not manage this community")


def ensure_sees(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> None:
    if principal.role is Role.PARTNER or not (manages(principal, community, uow) or belongs(principal, community, uow)):
        raise Forbidden("you do not take part in this community")


def visible_community_ids(principal: Principal, uow: SessionsUnitOfWork) -> list[str]:
    if principal.role is Role.PARTNER:
        return []
    ids = {c.id for c in uow.communities.all() if principal.covers_community(c.id, c.regions)}
    if principal.member_id:
        ids |= {m.community_id for m in uow.memberships.of_member(principal.member_id) if m.active}
    return sorted(ids)
