"""Employers and partner organizations: create, update, delete (not while members belong)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cercle_shared.domain import check_version
from cercle_shared.errors import NotFound
from cercle_shared.principal import Principal

from ..domain import model
from ..domain.regions import RegionCatalog
from . import access
from .unit_of_work import RegistrationUnitOfWork


@dataclass(frozen=True)
class CreateOrganization:
    name: str
    sector: str | None = None
    region: str | None = None
    size_band: str | None = None


@dataclass(frozen=True)
class UpdateOrganization:
    organization_id: str
    expected_version: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class DeleteOrganization:
    organization_id: str


def create_organization(
    cmd: CreateOrganization,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Organization:
    regions.check(cmd.region)
    access.check_manage_organization(principal, None, cmd.region)
    with uow:
        organization = model.Organization.create(
            name=cmd.name, sector=cmd.sector, region=cmd.region, size_band=cmd.size_band, at=clock()
        )
        uow.organizations.add(organization)
        uow.commit()
        return organization


def update_organization(
    cmd: UpdateOrganization,
    uow: RegistrationUnitOfWork,
    principal: Principal,
    regions: RegionCatalog,
    clock: model.Clock = model.now,
) -> model.Organization:
    if "region" in cmd.changes:
        regions.check(cmd.changes["region"])
    with uow:
        organization = find_organization(uow, cmd.organization_id)
        access.check_manage_organization(principal, organization, cmd.changes.get("region", organization.region))
        check_version(organization.version, cmd.expected_version)
        organization.update(at=clock(), **cmd.changes)
        uow.commit()
        return organization


def delete_organization(
    cmd: DeleteOrganization, uow: RegistrationUnitOfWork, principal: Principal, clock: model.Clock = model.now
) -> None:
    access.check_delete_organization(principal)
    with uow:
        organization = find_organization(uow, cmd.organization_id)
        organization.delete(in_use=uow.organizations.in_use(organization.id), at=clock())
        uow.organizations.delete(organization)
        uow.commit()


def find_organization(uow: RegistrationUnitOfWork, organization_id: str) -> model.Organization:
    organization = uow.organizations.get(organization_id)
    if organization is None:
        raise NotFound("no such organization", field="organization_id")
    return organization
