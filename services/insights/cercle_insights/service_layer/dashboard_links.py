"""Short-lived signed links that open a dashboard page in a browser, where no bearer header can be sent.

A link carries the caller's own rights (role, regions, communities, member id, organization) and one scope (a
community or a region), signed with a key derived from the service's JWT secret for this use only: a link is not
a bearer token, and a bearer token is not a link. The page checks signature, expiry and scope, then the same access
rules as the API, at the time the page is opened (a member who left in between is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints, ValidationError

from cercle_shared.errors import CercleError
from cercle_shared.principal import Principal, Role

from . import access, reports
from .unit_of_work import InsightsUnitOfWork

AUDIENCE = "cercle-insights-dashboard"
ISSUER = "cercle-insights"
ALGORITHM = "HS256"


class LinkRejected(CercleError):
    status = 401
    title = "Unauthorized"


def link_key(jwt_secret: str) -> bytes:
    return hmac.new(jwt_secret.encode(), b"cercle-insights/dashboard-link/v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class Target:
    scope: reports.Scope
    key: str  # a community id or a region code


@dataclass(frozen=True)
class DashboardLink:
    token: str
    target: Target
    expires_at: datetime


def issue(
    uow: InsightsUnitOfWork, principal: Principal, target: Target, *, secret: str, now: datetime, ttl: timedelta
) -> DashboardLink:
    """A link for what the caller may read now (403/404 otherwise, as the JSON routes answer)."""
    if target.scope is reports.Scope.COMMUNITY:
        with uow:
            reports._community(uow, principal, target.key)
    else:
        access.check_may_read_region(principal, target.key)
    expires = now + ttl
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "scope": target.scope.value,
        "key": target.key,
        "sub": principal.subject,
        "role": principal.role.value,
        "regions": sorted(principal.regions),
        "communities": sorted(principal.communities),
    }
    if principal.member_id:
        claims["member_id"] = principal.member_id
    if principal.organization_id:
        claims["organization_id"] = principal.organization_id
    return DashboardLink(jwt.encode(claims, link_key(secret), algorithm=ALGORITHM), target, expires)


_Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]


class _LinkClaims(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    exp: StrictInt
    scope: reports.Scope
    key: _Text
    sub: _Text
    role: Role
    regions: list[_Text] = Field(default_factory=list, max_length=1000)
    communities: list[_Text] = Field(default_factory=list, max_length=1000)
    member_id: _Text | None = None
    organization_id: _Text | None = None


def open_link(token: str, target: Target, *, secret: str, now: datetime) -> Principal:
    """The principal a valid, unexpired link for exactly this page carries; LinkRejected (401) otherwise."""
    try:
        raw = jwt.decode(
            token,
            link_key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Expiry is checked against the service's clock below, as every other time in insights.
            options={"require": ["exp", "iss", "aud", "sub"], "verify_exp": False, "verify_iat": False},
        )
        claims = _LinkClaims.model_validate(raw)
    except (jwt.PyJWTError, ValidationError, ValueError, OverflowError) as exc:
        raise LinkRejected("this dashboard link is not valid", field="token") from exc
    if claims.exp <= now.timestamp():
        raise LinkRejected("this dashboard link has expired: ask the API for a new one", field="token")
    if claims.scope is not target.scope or claims.key != target.key:
        raise LinkRejected("this dashboard link is for another page", field="token")
    if claims.role is Role.MEMBER and not claims.member_id:
        raise LinkRejected("this dashboard link is not valid", field="token")
    return Principal(
        subject=claims.sub,
        role=claims.role,
        regions=frozenset(claims.regions),
        communities=frozenset(claims.communities),
        member_id=claims.member_id,
        organization_id=claims.organization_id,
    )
