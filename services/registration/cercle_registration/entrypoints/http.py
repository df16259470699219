"""HTTP routes: validate, build a command, call a handler or a view."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cercle_shared.auth import CurrentPrincipal, require_roles
from cercle_shared.errors import Forbidden, InvalidInput
from cercle_shared.principal import Principal, Role
from cercle_shared.web.etag import etag, expected_version
from cercle_shared.web.problems import PROBLEM_JSON, problem

from ..adapters.repository import CommunityQuery
from ..domain.regions import RegionCatalog
from ..service_layer import commands, handlers, importing, views
from ..service_layer.unit_of_work import RegistrationUnitOfWork
from . import schemas


def _uow(request: Request) -> RegistrationUnitOfWork:
    return request.app.state.uow_factory()


def _regions(request: Request) -> RegionCatalog:
    return request.app.state.regions


Uow = Annotated[RegistrationUnitOfWork, Depends(_uow)]
Regions = Annotated[RegionCatalog, Depends(_regions)]
IfMatch = Annotated[str | None, Header(description="The ETag you read; or send a `version` field.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
RegionFilter = Annotated[str | None, Query(pattern=r"^(0[1-9]|1[0-7])$", description="Region code.")]

# Partners see nothing of registration: every route below needs another role.
NOT_PARTNERS = [require_roles(Role.OPERATOR, Role.COORDINATOR, Role.FACILITATOR, Role.MEMBER)]

regions_router = APIRouter(prefix="/v1/regions", tags=["regions"], dependencies=NOT_PARTNERS)
organizations = APIRouter(prefix="/v1/organizations", tags=["organizations"], dependencies=NOT_PARTNERS)
members = APIRouter(prefix="/v1/members", tags=["members"], dependencies=NOT_PARTNERS)
communities = APIRouter(prefix="/v1/communities", tags=["communities"], dependencies=NOT_PARTNERS)


def _changes(body: BaseModel) -> dict:
    """The fields the client sent, minus the version; an explicit null on a required field is refused."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "consents"})
    for name in schemas.NOT_NULL.get(type(body).__name__, ()):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"{name} cannot be null", field=name)
    return changes


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def _page(page: views.PageOf, convert) -> dict:
    return {"items": [convert(item) for item in page.items], "next_cursor": page.next_cursor}


def _me(principal: Principal) -> str:
    if principal.member_id is None:
        raise Forbidden("only a member token has a profile of its own")
    return principal.member_id


# --- regions -------------------------------------------------------------------------------------


@regions_router.get("", response_model=list[schemas.RegionPublic], summary="List the regions this deployment serves")
def list_regions(regions: Regions):
    """Québec's administrative regions enabled here (CERCLE_ENABLED_REGIONS), with names in French and English."""
    return [schemas.RegionPublic(code=r.code, name_fr=r.name_fr, name_en=r.name_en) for r in regions.all()]


# --- organizations -------------------------------------------------------------------------------


def _org(o) -> schemas.OrganizationPublic:
    return schemas.OrganizationPublic.model_validate(o, from_attributes=True)


@organizations.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.OrganizationPublic,
    summary="Create an organization",
)
def create_organization(
    body: schemas.OrganizationCreate, principal: CurrentPrincipal, uow: Uow, regions: Regions, response: Response
):
    """Create an employer or partner organization (operators; coordinators in their regions)."""
    organization = handlers.create_organization(
        commands.CreateOrganization(**body.model_dump()), uow, principal, regions
    )
    _tagged(response, organization.version)
    return _org(organization)


@organizations.get("", response_model=schemas.OrganizationsPublic, summary="List organizations")
def list_organizations(
    uow: Uow,
    region: RegionFilter = None,
    sector: str | None = None,
    sort: Annotated[str, Query(description="name or created_at; prefix - for descending.")] = "name",
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Organizations, filtered by region or sector, sorted, a page at a time."""
    page = views.organizations(uow, region=region, sector=sector, sort=sort, cursor=cursor, limit=limit)
    return _page(page, _org)


@organizations.get("/{organization_id}", response_model=schemas.OrganizationPublic, summary="Read an organization")
def get_organization(organization_id: str, uow: Uow, response: Response):
    """One organization, with its ETag."""
    organization = views.organization(organization_id, uow)
    _tagged(response, organization.version)
    return _org(organization)


@organizations.patch("/{organization_id}", response_model=schemas.OrganizationPublic, summary="Update an organization")
def update_organization(
    organization_id: str,
    body: schemas.OrganizationUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    regions: Regions,
    response: Response,
    if_match: IfMatch = None,
):
    """Change an organization's details (If-Match or version required; stale: 409)."""
    cmd = commands.UpdateOrganization(organization_id, expected_version(if_match, body.version), _changes(body))
    organization = handlers.update_organization(cmd, uow, principal, regions)
    _tagged(response, organization.version)
    return _org(organization)


@organizations.delete(
    "/{organization_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an unused organization"
)
def delete_organization(organization_id: str, principal: CurrentPrincipal, uow: Uow):
    """Delete an organization no member belongs to (operators)."""
    handlers.delete_organization(commands.DeleteOrganization(organization_id), uow, principal)


# --- members -------------------------------------------------------------------------------------


def _member(member) -> schemas.MemberPublic:
    return schemas.MemberPublic.of(member)


def _membership(m) -> schemas.MembershipPublic:
    return schemas.MembershipPublic.model_validate(m, from_attributes=True)


@members.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.MemberPublic, summary="Register a member")
def register_member(
    body: schemas.MemberCreate, principal: CurrentPrincipal, uow: Uow, regions: Regions, response: Response
):
    """Register a member (operators; coordinators in their regions). Consent to processing is required."""
    cmd = commands.RegisterMember(**body.model_dump(exclude={"consents"}), consents=body.consents.model_dump())
    member = handlers.register_member(cmd, uow, principal, regions)
    _tagged(response, member.version)
    return _member(member)


@members.get("", response_model=schemas.MembersPublic, summary="List members")
def list_members(
    principal: CurrentPrincipal,
    uow: Uow,
    region: RegionFilter = None,
    community_id: str | None = None,
    organization_id: str | None = None,
    expertise: str | None = None,
    sort: Annotated[str, Query(description="display_name or registered_at; prefix - for descending.")] = "display_name",
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Members the caller may see: coordinators their regions, facilitators their communities, operators all."""
    query = views.scoped_member_query(
        principal,
        region=region,
        community_id=community_id,
        organization_id=organization_id,
        expertise=expertise,
        sort=sort,
    )
    return _page(views.members(uow, query, cursor=cursor, limit=limit), _member)


@members.get(
    "/export",
    summary="Export a region's members as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per member."}},
)
def export_region_members(principal: CurrentPrincipal, uow: Uow, region: RegionFilter = None):
    """A coordinator's regions (or one of them), or any region for an operator, as a CSV download."""
    text = views.region_members_csv(region, uow, principal)
    name = f"members-{region or 'my-regions'}.csv"
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CSV file with a header line. Columns: "
        + ", ".join(importing.COLUMNS)
        + f" (required: {', '.join(importing.REQUIRED_COLUMNS)}). Lists inside a cell are separated by "
        f"'{importing.LIST_SEPARATOR}'; consents are yes/no.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}
MAX_IMPORT_BYTES = 5 * 1024 * 1024


async def _csv_text(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None:
            raise InvalidInput("send the CSV file in a form field named 'file'", field="file")
        data = await upload.read() if isinstance(upload, UploadFile) else str(upload).encode()
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        data = await request.body()
    else:
        raise HTTPException(415, "Send text/csv, or multipart/form-data with a 'file' field.")
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"An import file has at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # what spreadsheet software in Québec often writes


@members.post(
    "/import",
    response_model=schemas.ImportReportPublic,
    summary="Import members and memberships from CSV",
    openapi_extra=_IMPORT_BODY,
    responses={
        201: {"description": "Written.", "model": schemas.ImportReportPublic},
        422: {"description": "Rows refused, nothing written: problem details with `errors` and `report`."},
    },
)
async def import_members(
    request: Request,
    principal: CurrentPrincipal,
    uow: Uow,
    regions: Regions,
    response: Response,
    dry_run: Annotated[bool, Query(description="Check every row; write nothing.")] = False,
):
    """All or nothing: every row is checked; if any is refused, nothing is written and each refusal is reported."""
    text = await _csv_text(request)
    report = await run_in_threadpool(importing.import_members, text, uow, principal, regions, dry_run=dry_run)
    public = schemas.ImportReportPublic(
        dry_run=report.dry_run,
        committed=report.committed,
        rows=report.rows,
        members=report.members,
        memberships=report.memberships,
        errors=[schemas.ImportRowError(row=e.row, field=e.field, message=e.message) for e in report.errors],
    )
    if report.errors:
        refused = len({e.row for e in report.errors})
        errors = [e.model_dump() for e in public.errors]
        body = json.loads(
            problem(
                422,
                "Invalid input",
                f"{refused} of {report.rows} rows refused; nothing was written",
                instance=request.url.path,
                errors=errors,
            ).body
        )
        body["report"] = public.model_dump()
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
    if report.committed:
        response.status_code = status.HTTP_201_CREATED
    return public


@members.get("/me", response_model=schemas.MemberPublic, summary="Read my profile")
def get_me(principal: CurrentPrincipal, uow: Uow, response: Response):
    """The calling member's own profile and consents."""
    return get_member(_me(principal), principal, uow, response)


@members.patch("/me", response_model=schemas.MemberPublic, summary="Update my profile and consents")
def update_me(
    body: schemas.MemberUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    regions: Regions,
    response: Response,
    if_match: IfMatch = None,
):
    """Change one's own profile, or give or withdraw consents (If-Match or version required)."""
    return update_member(_me(principal), body, principal, uow, regions, response, if_match)


@members.get("/me/export", response_model=schemas.MemberExport, summary="Download everything held about me")
def export_me(principal: CurrentPrincipal, uow: Uow):
    """Profile, consents and their history, every membership past and present (JSON)."""
    return export_member(_me(principal), principal, uow)


@members.get("/{member_id}", response_model=schemas.MemberPublic, summary="Read a member")
def get_member(member_id: str, principal: CurrentPrincipal, uow: Uow, response: Response):
    """A member: themselves, their region's coordinators, their communities' facilitators, operators."""
    member = views.member(member_id, uow, principal)
    _tagged(response, member.version)
    return _member(member)


@members.patch("/{member_id}", response_model=schemas.MemberPublic, summary="Update a member")
def update_member(
    member_id: str,
    body: schemas.MemberUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    regions: Regions,
    response: Response,
    if_match: IfMatch = None,
):
    """Change a profile (the member, their coordinators) or consents (the member, operators); stale: 409."""
    consents = body.consents.model_dump(exclude_none=True) if body.consents else {}
    cmd = commands.UpdateMember(member_id, expected_version(if_match, body.version), _changes(body), consents)
    member = handlers.update_member(cmd, uow, principal, regions)
    _tagged(response, member.version)
    return _member(member)


@members.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member")
def erase_member(member_id: str, principal: CurrentPrincipal, uow: Uow):
    """Law 25 erasure by the member or an operator: personal data deleted, MemberErased published."""
    handlers.erase_member(commands.EraseMember(member_id), uow, principal)


@members.post("/{member_id}/erasure", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member (as a request)")
def request_erasure(member_id: str, principal: CurrentPrincipal, uow: Uow):
    """The same as DELETE /v1/members/{member_id}, for clients that prefer a POST."""
    handlers.erase_member(commands.EraseMember(member_id), uow, principal)


@members.get(
    "/{member_id}/export", response_model=schemas.MemberExport, summary="Download everything held about a member"
)
def export_member(member_id: str, principal: CurrentPrincipal, uow: Uow):
    """For the member, or an operator answering their access request."""
    return schemas.MemberExport.of(views.member_export(member_id, uow, principal))


@members.get("/{member_id}/memberships", response_model=schemas.MembershipsPublic, summary="A member's memberships")
def list_member_memberships(
    member_id: str, principal: CurrentPrincipal, uow: Uow, cursor: Cursor = None, limit: Limit = 50
):
    """Every join and leave of a member, oldest first."""
    page = views.member_memberships(member_id, uow, principal, cursor=cursor, limit=limit)
    return _page(page, _membership)


# --- communities ---------------------------------------------------------------------------------


def _community(pair) -> schemas.CommunityPublic:
    community, facilitators = pair
    return schemas.CommunityPublic.of(community, facilitators)


@communities.post(
    "", status_code=status.HTTP_201_CREATED, response_model=schemas.CommunityPublic, summary="Create a community"
)
def create_community(
    body: schemas.CommunityCreate, principal: CurrentPrincipal, uow: Uow, regions: Regions, response: Response
):
    """Create a community (operators; coordinators in their regions)."""
    community = handlers.create_community(commands.CreateCommunity(**body.model_dump()), uow, principal, regions)
    _tagged(response, community.version)
    return schemas.CommunityPublic.of(community, [])


@communities.get("", response_model=schemas.CommunitiesPublic, summary="List communities")
def list_communities(
    uow: Uow,
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
    return _page(views.communities(uow, query, cursor=cursor, limit=limit), _community)


@communities.get("/{community_id}", response_model=schemas.CommunityPublic, summary="Read a community")
def get_community(community_id: str, uow: Uow, response: Response):
    """One community, with its current facilitators and its ETag."""
    community, facilitators = views.community(community_id, uow)
    _tagged(response, community.version)
    return schemas.CommunityPublic.of(community, facilitators)


@communities.patch("/{community_id}", response_model=schemas.CommunityPublic, summary="Update a community")
def update_community(
    community_id: str,
    body: schemas.CommunityUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    regions: Regions,
    response: Response,
    if_match: IfMatch = None,
):
    """Change names, descriptions, cadence... (its managers); moving it needs the new regions' coordinator."""
    cmd = commands.UpdateCommunity(community_id, expected_version(if_match, body.version), _changes(body))
    handlers.update_community(cmd, uow, principal, regions)
    return get_community(community_id, uow, response)


@communities.post(
    "/{community_id}/status", response_model=schemas.CommunityPublic, summary="Change a community's status"
)
def change_community_status(
    community_id: str,
    body: schemas.CommunityStatusUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
):
    """Activate, pause or close (coordinators of its regions, operators). A closed community takes no new members."""
    cmd = commands.ChangeCommunityStatus(community_id, body.status, expected_version(if_match, body.version))
    handlers.change_community_status(cmd, uow, principal)
    return get_community(community_id, uow, response)


@communities.post(
    "/{community_id}/memberships",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.MembershipPublic,
    summary="Join a community",
)
def join_community(
    community_id: str, body: schemas.MembershipCreate, principal: CurrentPrincipal, uow: Uow, response: Response
):
    """Add a member to a community (its managers, or the member themselves as participant)."""
    cmd = commands.JoinCommunity(community_id=community_id, member_id=body.member_id, role=body.role)
    membership = handlers.join_community(cmd, uow, principal)
    _tagged(response, membership.version)
    return _membership(membership)


@communities.get(
    "/{community_id}/memberships", response_model=schemas.MembershipsPublic, summary="A community's memberships"
)
def list_community_memberships(
    community_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    active: Annotated[bool | None, Query(description="true: current members; false: those who left.")] = None,
    role: schemas.Role | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Who joined and left, with their tenure (the community's managers)."""
    page = views.community_memberships(
        community_id, uow, principal, active=active, role=role, cursor=cursor, limit=limit
    )
    return _page(page, _membership)


@communities.patch(
    "/{community_id}/memberships/{member_id}", response_model=schemas.MembershipPublic, summary="Change a role"
)
def change_membership_role(
    community_id: str,
    member_id: str,
    body: schemas.MembershipUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
):
    """Make a current member participant, facilitator or coordinator (the community's managers)."""
    cmd = commands.ChangeMembershipRole(community_id, member_id, body.role, expected_version(if_match, body.version))
    membership = handlers.change_membership_role(cmd, uow, principal)
    _tagged(response, membership.version)
    return _membership(membership)


@communities.delete(
    "/{community_id}/memberships/{member_id}", response_model=schemas.MembershipPublic, summary="Leave a community"
)
def leave_community(community_id: str, member_id: str, principal: CurrentPrincipal, uow: Uow):
    """End a membership (the member, or the community's managers); its history stays. Leaving twice: 409."""
    return _membership(handlers.leave_community(commands.LeaveCommunity(community_id, member_id), uow, principal))


@communities.get("/{community_id}/directory", response_model=schemas.DirectoryPublic, summary="The peer directory")
def community_directory(
    community_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    expertise: Annotated[str | None, Query(description="Only peers with this expertise tag.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
):
    """Current members who consented to appear, with organization and expertise (members and managers)."""
    page = views.directory(community_id, uow, principal, expertise=expertise, cursor=cursor, limit=limit)
    return _page(
        page,
        lambda e: schemas.DirectoryEntryPublic(
            member_id=e.member.id,
            display_name=e.member.display_name,
            role=e.role,
            organization_id=e.member.organization_id,
            organization_name=e.organization_name,
            job_title=e.member.job_title,
            region=e.member.region,
            expertise=e.member.expertise,
        ),
    )


ROUTERS = (regions_router, organizations, members, communities)
