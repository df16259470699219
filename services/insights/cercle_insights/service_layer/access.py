"""Who may read what. Insights serves aggregates only, never a member-level row:

- operators: every community and region;
- partners: every community and region too — the same facts already travel on partner-visible
  topics, and insights answers with counts only;
- coordinators: communities with one of their regions, and the stats of their regions;
- facilitators: the communities listed in their token;
- members: the communities they currently belong to, as insights' replica knows it.
"""

from __future__ import annotations

from cercle_shared.errors import Forbidden
from cercle_shared.principal import Principal, Role

from ..adapters.repository import ListScope
from ..domain.model import Community
from .unit_of_work import InsightsUnitOfWork


def check_may_read_community(uow: InsightsUnitOfWork, principal: Principal, community: Community) -> None:
    if not _may_read(uow, principal, community):
        raise Forbidden("you may not read the indicators of this community")


def _may_read(uow: InsightsUnitOfWork, principal: Principal, community: Community) -> bool:
    if principal.role in (Role.OPERATOR, Role.PARTNER):
        return True
    if principal.role is Role.MEMBER:
        return principal.member_id is not None and uow.replica.belongs(community.id, principal.member_id)
    return principal.covers_community(community.id, community.regions)


def check_may_read_region(principal: Principal, region: str) -> None:
    if not (principal.role is Role.PARTNER or principal.covers_region(region)):
        raise Forbidden("you may not read the indicators of this region")


def list_scope(principal: Principal) -> ListScope:
    """The communities a caller may list."""
    match principal.role:
        case Role.OPERATOR | Role.PARTNER:
            return ListScope()
        case Role.COORDINATOR:
            return ListScope(regions=principal.regions)
        case Role.FACILITATOR:
            return ListScope(community_ids=principal.communities)
        case _:
            return ListScope(member_id=principal.member_id or "")
