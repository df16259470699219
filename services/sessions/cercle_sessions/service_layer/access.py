"""Who may see and manage what, from the token and the local membership replica; and the lookups that answer
404 for what does not exist."""

from __future__ import annotations

from cercle_shared.errors import Forbidden, NotFound
from cercle_shared.principal import Principal, Role

from ..domain import model, program
from .unit_of_work import SessionsUnitOfWork


def community(uow: SessionsUnitOfWork, community_id: str) -> model.Community:
    found = uow.communities.get(community_id)
    if found is None:
        raise NotFound("no such community (yet: communities come from registration's events)", field="community_id")
    return found


def session(uow: SessionsUnitOfWork, session_id: str, *, lock: bool = False) -> model.Session:
    """`lock`: the session row is held until commit, so that seats are counted one request at a time."""
    found = uow.sessions.get_for_update(session_id) if lock else uow.sessions.get(session_id)
    if found is None:
        raise NotFound("no such session", field="session_id")
    return found


def cycle(uow: SessionsUnitOfWork, cycle_id: str, *, lock: bool = False) -> program.ProgramCycle:
    found = uow.cycles.get(cycle_id, lock=lock)
    if found is None:
        raise NotFound("no such program cycle", field="cycle_id")
    return found


def manages(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> bool:
    """Operators; coordinators of one of its regions; its facilitators (token, or facilitator membership)."""
    if principal.covers_community(community.id, community.regions):
        return True
    if principal.member_id:
        membership = uow.memberships.current(community.id, principal.member_id)
        return membership is not None and membership.manages
    return False


def belongs(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> bool:
    return bool(principal.member_id) and uow.memberships.current(community.id, principal.member_id) is not None


def ensure_manages(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> None:
    if not manages(principal, community, uow):
        raise Forbidden("you do not manage this community")


def sees(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> bool:
    """Its members and managers; never partners."""
    return principal.role is not Role.PARTNER and (
        manages(principal, community, uow) or belongs(principal, community, uow)
    )


def ensure_sees(principal: Principal, community: model.Community, uow: SessionsUnitOfWork) -> None:
    if not sees(principal, community, uow):
        raise Forbidden("you do not take part in this community")


def ensure_confirms_plans(principal: Principal, community: model.Community) -> None:
    """The year plan is confirmed by a coordinator of the community's region, or an operator."""
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR) or not principal.covers_community(
        community.id, community.regions
    ):
        raise Forbidden("a coordinator of the community's region confirms the year plan")


def own_registration(
    uow: SessionsUnitOfWork, principal: Principal, session_id: str, registration_id: str, refusal: str
) -> tuple[model.Session, model.Registration]:
    """The session (locked) and one of its registrations, if it is the caller's own or the caller manages it."""
    found = session(uow, session_id, lock=True)
    registration = found.find_registration(registration_id)
    if registration is None:
        raise NotFound("no such registration", field="registration_id")
    where = community(uow, found.community_id)
    if not (principal.is_member(registration.member_id) or manages(principal, where, uow)):
        raise Forbidden(refusal)
    return found, registration


def visible_community_ids(principal: Principal, uow: SessionsUnitOfWork) -> list[str]:
    if principal.role is Role.PARTNER:
        return []
    ids = {c.id for c in uow.communities.all() if principal.covers_community(c.id, c.regions)}
    if principal.member_id:
        ids |= {m.community_id for m in uow.memberships.of_member(principal.member_id) if m.active}
    return sorted(ids)
