"""Communities: create, update, activate, pause or close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cercle_shared.domain import check_version
from cercle_shared.errors import NotFound
from cercle_shared.principal import Principal

from ..domain import model
from ..domain.regions import RegionCatalog
from . import access
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class CreateCommunity:
    name_fr: str
    name_en: str
    kind: str
    regions: list[str]
    province_wide: bool = False
    description_fr: str = ""
    description_en: str = ""
    domain: str | None = None
    cadence: int = 6
    founded_on: date | None = None


@dataclass(frozen=True)
class UpdateCommunity:
    community_id: str
    expected_version: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class ChangeCommunityStatus:
    community_id: str
    status: str
    expected_version: int


def create_community(
    cmd: CreateCommunity,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Community:
    regions.check_all(cmd.regions)
    access.check_place_community(principal, cmd.regions, cmd.province_wide)
    with uow:
        community = model.Community.create(
            name_fr=cmd.name_fr,
            name_en=cmd.name_en,
            kind=cmd.kind,
            regions=cmd.regions,
            province_wide=cmd.province_wide,
            description_fr=cmd.description_fr,
            description_en=cmd.description_en,
            domain=cmd.domain,
            cadence=cmd.cadence,
            founded_on=cmd.founded_on,
            at=clock(),
        )
        uow.communities.add(community)
        uow.commit()
        return community


def update_community(
    cmd: UpdateCommunity,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Community:
    if "regions" in cmd.changes:
        regions.check_all(cmd.changes["regions"] or ())
    with uow:
        community = find_community(uow, cmd.community_id)
        access.check_manage_community(principal, community)
        check_version(community.version, cmd.expected_version)
        changed = community.update(at=clock(), **cmd.changes)
        if changed & {"regions", "province_wide"}:
            access.check_place_community(principal, community.regions, community.province_wide)
        uow.commit()
        return community


def change_community_status(
    cmd: ChangeCommunityStatus, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> model.Community:
    with uow:
        community = find_community(uow, cmd.community_id)
        access.check_change_community_status(principal, community)
        check_version(community.version, cmd.expected_version)
        community.change_status(cmd.status, clock())
        uow.commit()
        return community


def find_community(uow: RegistrationUnitOfWork, community_id: str) -> model.Community:
    community = uow.communities.get(community_id)
    if community is None:
        raise NotFound("no such community", field="community_id")
    return community
