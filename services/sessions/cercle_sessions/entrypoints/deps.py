"""Dependencies every route shares, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cercle_shared.auth import CurrentPrincipal, TokenError, decode_token
from cercle_shared.principal import Principal
from cercle_shared.web.etag import etag

from ..config import Settings
from ..service_layer.unit_of_work import SessionsUnitOfWork
from .throttle import MissThrottle


def _uow(request: Request) -> SessionsUnitOfWork:
    uow: SessionsUnitOfWork = request.app.state.runtime.uow()
    return uow


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock  # tests swap it
    return clock()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


def _throttle(request: Request) -> MissThrottle:
    throttle: MissThrottle = request.app.state.feed_throttle
    return throttle


def _client_address(request: Request) -> str:
    """The connecting address (a proxy in front should be the one to throttle by its own client's address)."""
    return request.client.host if request.client else "unknown"


_optional_bearer = HTTPBearer(auto_error=False, description="A JWT from `make token ROLE=...`; optional here.")


def _optional_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)]
) -> Principal | None:
    """The caller if a bearer token is sent (a bad one is a 401), else None."""
    if credentials is None:
        return None
    try:
        return decode_token(request.app.state.jwt_secret, credentials.credentials)
    except TokenError as exc:
        raise HTTPException(401, f"Invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from exc


UowDep = Annotated[SessionsUnitOfWork, Depends(_uow)]
PrincipalDep = CurrentPrincipal
OptionalPrincipalDep = Annotated[Principal | None, Depends(_optional_principal)]
ClockDep = Annotated[datetime, Depends(_now)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ThrottleDep = Annotated[MissThrottle, Depends(_throttle)]
ClientAddressDep = Annotated[str, Depends(_client_address)]

IfMatch = Annotated[str | None, Header(description="The ETag you read; or send a `version` field.")]
Cursor = Annotated[str | None, Query(max_length=4096, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]


def tag(response: Response, version: int) -> None:
    """The ETag of what the response carries, for the client's next If-Match."""
    response.headers["ETag"] = etag(version)
