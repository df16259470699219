"""Read use cases: check the caller's scope, then compute the indicators from the read models.

Who may read what (insights serves aggregates only, never a member-level row):
- operators: every community and region;
- partners: every community and region too — the same facts already travel on partner-visible
  topics, and insights answers with counts only;
- coordinators: communities with one of their regions, and the stats of their regions;
- facilitators: the communities listed in their token;
- members: the communities they currently belong to, as insights' replica knows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import Forbidden, NotFound
from cercle_shared.principal import Principal, Role

from ..adapters.repository import Headline, ListScope
from ..domain import stats
from ..domain.model import COMMUNITY_STATUSES, Community
from .unit_of_work import InsightsUnitOfWork


@dataclass(frozen=True)
class CommunityView:
    """A community's description, detached from the database session."""

    id: str
    name_fr: str
    name_en: str
    kind: str | None
    domain: str | None
    regions: list[str]
    province_wide: bool
    status: str | None

    @classmethod
    def of(cls, c: Community) -> CommunityView:
        return cls(c.id, c.name_fr or "", c.name_en or "", c.kind, c.domain, list(c.regions), c.province_wide, c.status)


@dataclass(frozen=True)
class CommunityStats:
    community: CommunityView
    figures: stats.Figures
    as_of: datetime


@dataclass(frozen=True)
class RegionStats:
    region: str
    communities: dict[str, int]  # by status, plus "total"
    figures: stats.Figures
    as_of: datetime


@dataclass(frozen=True)
class CommunityListing:
    community: CommunityView
    headline: Headline


def community_stats(uow: InsightsUnitOfWork, principal: Principal, community_id: str, now: datetime) -> CommunityStats:
    with uow:
        community = uow.replica.described(community_id)
        if community is None:
            raise NotFound("insights knows no such community (yet)", field="community_id")
        if not _may_read(uow, principal, community):
            raise Forbidden("you may not read the indicators of this community")
        ids = [community.id]
        figures = stats.figures(
            uow.replica.memberships_in(ids), uow.replica.sessions_in(ids), uow.replica.registrations_by_status(ids), now
        )
        return CommunityStats(CommunityView.of(community), figures, now)


def _may_read(uow: InsightsUnitOfWork, principal: Principal, community: Community) -> bool:
    if principal.role in (Role.OPERATOR, Role.PARTNER):
        return True
    if principal.role is Role.MEMBER:
        return principal.member_id is not None and uow.replica.belongs(community.id, principal.member_id)
    return principal.covers_community(community.id, community.regions)


def region_stats(uow: InsightsUnitOfWork, principal: Principal, region: str, now: datetime) -> RegionStats:
    """The communities tied to the region (province-wide ones belong to no single region and are left out)."""
    if not (principal.role is Role.PARTNER or principal.covers_region(region)):
        raise Forbidden("you may not read the indicators of this region")
    with uow:
        communities = uow.replica.in_region(region)
        ids = [c.id for c in communities]
        figures = stats.figures(
            uow.replica.memberships_in(ids), uow.replica.sessions_in(ids), uow.replica.registrations_by_status(ids), now
        )
        by_status = Counter(c.status for c in communities)
        counts = {"total": len(communities), **{s: by_status.get(s, 0) for s in COMMUNITY_STATUSES}}
        return RegionStats(region, counts, figures, now)


def list_communities(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    region: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[CommunityListing], str | None]:
    scope = _list_scope(principal)
    with uow:
        communities, next_cursor = uow.replica.page(scope, region=region, status=status, cursor=cursor, limit=limit)
        headlines = uow.replica.headlines([c.id for c in communities])
        return [CommunityListing(CommunityView.of(c), headlines[c.id]) for c in communities], next_cursor


def _list_scope(principal: Principal) -> ListScope:
    match principal.role:
        case Role.OPERATOR | Role.PARTNER:
            return ListScope()
        case Role.COORDINATOR:
            return ListScope(regions=principal.regions)
        case Role.FACILITATOR:
            return ListScope(community_ids=principal.communities)
        case _:
            return ListScope(member_id=principal.member_id or "")
