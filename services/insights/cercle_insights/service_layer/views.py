"""Reads answering the API: check the caller's scope (access.py), then compute the indicators from the read models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cercle_shared.errors import NotFound
from cercle_shared.principal import Principal

from ..adapters.repository import Headline
from ..domain import stats
from ..domain.model import Community, CommunityStatus
from . import access
from .unit_of_work import InsightsUnitOfWork


@dataclass(frozen=True)
class CommunityView:
    """A community's description, detached from the database session."""

    id: str
    name_fr: str
    name_en: str
    kind: str | None  # a CommunityKind, or a newer producer's kind kept as it came
    domain: str | None
    regions: list[str]
    province_wide: bool
    status: str | None  # likewise a CommunityStatus or not

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
        access.check_may_read_community(uow, principal, community)
        ids = [community.id]
        figures = stats.figures(
            uow.replica.memberships_in(ids), uow.replica.sessions_in(ids), uow.replica.registrations_by_status(ids), now
        )
        return CommunityStats(CommunityView.of(community), figures, now)


def region_stats(uow: InsightsUnitOfWork, principal: Principal, region: str, now: datetime) -> RegionStats:
    """The communities tied to the region (province-wide ones belong to no single region and are left out)."""
    access.check_may_read_region(principal, region)
    with uow:
        communities = uow.replica.in_region(region)
        ids = [c.id for c in communities]
        figures = stats.figures(
            uow.replica.memberships_in(ids), uow.replica.sessions_in(ids), uow.replica.registrations_by_status(ids), now
        )
        by_status = Counter(c.status for c in communities)
        counts = {"total": len(communities), **{s.value: by_status.get(s, 0) for s in CommunityStatus}}
        return RegionStats(region, counts, figures, now)


def list_communities(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    region: str | None,
    status: CommunityStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[CommunityListing], str | None]:
    scope = access.list_scope(principal)
    with uow:
        communities, next_cursor = uow.replica.page(scope, region=region, status=status, cursor=cursor, limit=limit)
        headlines = uow.replica.headlines([c.id for c in communities])
        return [CommunityListing(CommunityView.of(c), headlines[c.id]) for c in communities], next_cursor
