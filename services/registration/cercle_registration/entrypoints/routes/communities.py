from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from cercle_shared.web.etag import expected_version

from ...adapters.repository import CommunityQuery
from ...service_layer import communities, views
from .. import schemas
from ..deps import NOT_PARTNERS, ClockDep, Cursor, IfMatch, Limit, PrincipalDep, RegionFilter, RegionsDep, UowDep, tag

router = APIRouter(prefix="/v1/communities", tags=["communities"], dependencies=NOT_PARTNERS)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=schemas.CommunityPublic, summary="Create a community"
)
def create_community(
    body: schemas.CommunityCreate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
):
    """Create a community (operators; coordinators in their regions)."""
    cmd = communities.CreateCommunity(**body.model_dump())
    community = communities.create_community(cmd, uow, principal, regions, clock)
    tag(response, community.version)
    return schemas.community_public(community, [])


@router.get("", response_model=schemas.CommunitiesPublic, summary="List communities")
def list_communities(
    uow: UowDep,
    region: RegionFilter = None,
    status_: Annotated[schemas.CommunityStatus | None, Query(alias="status")] = None,
    kind: schemas.CommunityKind | None = None,
    domain: str | None = None,
    sort: Annotated[str, Query(description="name_fr, name_en or created_at; prefix - for descending.")] = "name_fr",
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """The catalog of communities, filtered by region, status, kind or domain."""
    query = CommunityQuery(region=region, status=status_, kind=kind, domain=domain, sort=sort)
    found = views.communities(uow, query, cursor=cursor, limit=limit)
    return schemas.page(found, lambda pair: schemas.community_public(*pair))


@router.get("/{community_id}", response_model=schemas.CommunityPublic, summary="Read a community")
def get_community(community_id: str, uow: UowDep, response: Response):
    """One community, with its current facilitators and its ETag."""
    community, facilitators = views.community(community_id, uow)
    tag(response, community.version)
    return schemas.community_public(community, facilitators)


@router.patch("/{community_id}", response_model=schemas.CommunityPublic, summary="Update a community")
def update_community(
    community_id: str,
    body: schemas.CommunityUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    regions: RegionsDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Change names, descriptions, cadence... (its managers); moving it needs the new regions' coordinator."""
    version = expected_version(if_match, body.version)
    cmd = communities.UpdateCommunity(community_id, version, schemas.changes(body))
    communities.update_community(cmd, uow, principal, regions, clock)
    community, facilitators = views.community(community_id, uow)
    tag(response, community.version)
    return schemas.community_public(community, facilitators)


@router.post("/{community_id}/status", response_model=schemas.CommunityPublic, summary="Change a community's status")
def change_community_status(
    community_id: str,
    body: schemas.CommunityStatusUpdate,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Activate, pause or close (coordinators of its regions, operators). A closed community takes no new members."""
    cmd = communities.ChangeCommunityStatus(community_id, body.status, expected_version(if_match, body.version))
    communities.change_community_status(cmd, uow, principal, clock)
    community, facilitators = views.community(community_id, uow)
    tag(response, community.version)
    return schemas.community_public(community, facilitators)


@router.get("/{community_id}/directory", response_model=schemas.DirectoryPublic, summary="The peer directory")
def community_directory(
    community_id: str,
    principal: PrincipalDep,
    uow: UowDep,
    expertise: Annotated[str | None, Query(description="Only peers with this expertise tag.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Current members who consented to appear, with organization and expertise (members and managers)."""
    found = views.directory(community_id, uow, principal, expertise=expertise, cursor=cursor, limit=limit)
    return schemas.page(found, schemas.directory_entry_public)
