"""What the routes share: the unit of work, the caller, the clock, the regions served, and query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response

from cercle_shared.auth import CurrentPrincipal, require_roles
from cercle_shared.errors import Forbidden
from cercle_shared.principal import Principal, Role
from cercle_shared.web.etag import etag

from ..domain.model import Clock
from ..domain.regions import RegionCatalog
from ..service_layer.unit_of_work import RegistrationUnitOfWork


# async, though they await nothing: FastAPI runs a plain function dependency in its thread pool, one thread hop
# per dependency and request for an attribute read (no I/O here: the unit of work connects when entered).
async def _uow(request: Request) -> RegistrationUnitOfWork:
    return request.app.state.runtime.uow()


async def _clock(request: Request) -> Clock:
    return request.app.state.clock  # set by the composition root; tests swap it


async def _regions(request: Request) -> RegionCatalog:
    return request.app.state.regions


UowDep = Annotated[RegistrationUnitOfWork, Depends(_uow)]
PrincipalDep = CurrentPrincipal
ClockDep = Annotated[Clock, Depends(_clock)]
RegionsDep = Annotated[RegionCatalog, Depends(_regions)]

IfMatch = Annotated[str | None, Header(description="The ETag you read; or send a `version` field.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
RegionFilter = Annotated[str | None, Query(pattern=r"^(0[1-9]|1[0-7])$", description="Region code.")]

# Partners see nothing of registration: every router needs another role.
NOT_PARTNERS = [require_roles(Role.OPERATOR, Role.COORDINATOR, Role.FACILITATOR, Role.MEMBER)]


def my_member_id(principal: Principal) -> str:
    """The caller's own member id, for the /me routes (checked once the request is valid)."""
    if principal.member_id is None:
        raise Forbidden("only a member token has a profile of its own")
    return principal.member_id


def tag(response: Response, version: int) -> None:
    """The ETag of what the response carries, for the client's next If-Match."""
    response.headers["ETag"] = etag(version)
