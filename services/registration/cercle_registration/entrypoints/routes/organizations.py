from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from cercle_shared.web.etag import expected_version

from ...service_layer import organizations, views
from .. import schemas
from ..deps import NOT_PARTNERS, ClockDep, Cursor, IfMatch, Limit, PrincipalDep, RegionFilter, RegionsDep, UowDep, tag

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], dependencies=NOT_PARTNERS)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=schemas.OrganizationPublic, summary="Create an organization"
)
def create_organization(
    body: schemas.OrganizationCreate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
):
    """Create an employer or partner organization (operators; coordinators in their regions)."""
    cmd = organizations.CreateOrganization(**body.model_dump())
    organization = organizations.create_organization(cmd, uow, principal, regions, clock)
    tag(response, organization.version)
    return schemas.organization_public(organization)


@router.get("", response_model=schemas.OrganizationsPublic, summary="List organizations")
def list_organizations(
    uow: UowDep,
    region: RegionFilter = None,
    sector: str | None = None,
    sort: Annotated[str, Query(description="name or created_at; prefix - for descending.")] = "name",
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Organizations, filtered by region or sector, sorted, a page at a time."""
    found = views.organizations(uow, region=region, sector=sector, sort=sort, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.organization_public)


@router.get("/{organization_id}", response_model=schemas.OrganizationPublic, summary="Read an organization")
def get_organization(organization_id: str, uow: UowDep, response: Response):
    """One organization, with its ETag."""
    organization = views.organization(organization_id, uow)
    tag(response, organization.version)
    return schemas.organization_public(organization)


@router.patch("/{organization_id}", response_model=schemas.OrganizationPublic, summary="Update an organization")
def update_organization(
    organization_id: str,
    body: schemas.OrganizationUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change an organization's details (If-Match or version required; stale: 409)."""
    version = expected_version(if_match, body.version)
    cmd = organizations.UpdateOrganization(organization_id, version, schemas.changes(body))
    organization = organizations.update_organization(cmd, uow, principal, regions, clock)
    tag(response, organization.version)
    return schemas.organization_public(organization)


@router.delete("/{organization_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an unused organization")
def delete_organization(organization_id: str, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """Delete an organization no member belongs to (operators)."""
    organizations.delete_organization(organizations.DeleteOrganization(organization_id), uow, principal, clock)
