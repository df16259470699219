"""Bearer JWT (HS256) authentication and role scopes, written once for every service.

Roles and their scope:
- operator: everything, every region;
- coordinator: the regions listed in the token;
- facilitator: the communities listed in the token;
- member: themselves (the token's member_id) and the communities they belong to;
- partner: partner-facing resources only (an organization's webhooks, aggregates).
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, StringConstraints, ValidationError

from .principal import Principal, Role

ISSUER = "cercle"
AUDIENCE = "cercle"
ALGORITHM = "HS256"


class TokenError(ValueError):
    pass


_Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
_NumericDate = Annotated[StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)], Field(ge=0, le=253402300799)]
_Scope = Annotated[list[_Text], Field(max_length=1000)]


class Claims(BaseModel):
    """The claims a Cercle token must carry, each of its type: a signed token is still untrusted JSON."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: _Text
    role: Role
    exp: _NumericDate
    iat: _NumericDate | None = None
    nbf: _NumericDate | None = None
    regions: _Scope | None = None
    communities: _Scope | None = None
    member_id: _Text | None = None
    organization_id: _Text | None = None


def issue_token(
    secret: str,
    role: Role | str,
    *,
    regions: Iterable[str] = (),
    communities: Iterable[str] = (),
    member_id: str | None = None,
    organization_id: str | None = None,
    subject: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    role = Role(role)
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject or member_id or f"{role.value}-{uuid.uuid4().hex[:8]}",
        "iat": now,
        "exp": now + ttl,
        "role": role.value,
        "regions": sorted(regions),
        "communities": sorted(communities),
    }
    if member_id:
        claims["member_id"] = member_id
    if organization_id:
        claims["organization_id"] = organization_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    """The principal of a valid token; TokenError (401) for anything else, whatever the token holds."""
    try:
        raw = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except Exception as exc:  # PyJWT's errors, and what ill-typed claims make it raise (OverflowError on exp)
        raise TokenError(str(exc) if isinstance(exc, jwt.PyJWTError) else "malformed claims") from exc
    try:
        claims = Claims.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"][:1]) for error in exc.errors()})
        raise TokenError(f"ill-typed claims: {', '.join(fields)}") from exc
    if claims.role is Role.MEMBER and not claims.member_id:
        raise TokenError("a member token needs a member_id")
    return Principal(
        subject=claims.sub,
        role=claims.role,
        regions=frozenset(claims.regions or ()),
        communities=frozenset(claims.communities or ()),
        member_id=claims.member_id,
        organization_id=claims.organization_id,
    )


_bearer = HTTPBearer(auto_error=False, description="A JWT from `make token ROLE=...`.")


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "A bearer token is required.", headers=challenge)
    try:
        return decode_token(request.app.state.jwt_secret, credentials.credentials)
    except TokenError as exc:
        raise HTTPException(401, f"Invalid token: {exc}", headers=challenge) from exc


async def _current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    # async, though it awaits nothing: FastAPI runs a plain function dependency in its thread pool, a thread hop
    # per request (and per dependency) for a few microseconds of HMAC; profiled at a tenth of a read's CPU.
    return authenticate(request, credentials)


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency that lets only the given roles through (403 otherwise)."""

    async def _check(principal: CurrentPrincipal) -> Principal:  # async: no thread hop (see _current_principal)
        if principal.role not in roles:
            raise HTTPException(403, f"This needs one of the roles: {', '.join(r.value for r in roles)}.")
        return principal

    return Depends(_check)


def _read_secret(secret_file: str | None) -> str:
    if os.environ.get("CERCLE_JWT_SECRET"):
        return os.environ["CERCLE_JWT_SECRET"]
    if secret_file and Path(secret_file).exists():
        return Path(secret_file).read_text().strip()
    raise SystemExit("No secret: set CERCLE_JWT_SECRET or pass --secret-file (make up writes .data/jwt-secret).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a bearer token for the running Cercle stack.")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--regions", default="", help="Comma-separated region codes (coordinator).")
    parser.add_argument("--communities", default="", help="Comma-separated community ids (facilitator).")
    parser.add_argument("--member-id", default=None, help="Member id (member).")
    parser.add_argument("--organization-id", default=None, help="Organization id (partner).")
    parser.add_argument("--secret-file", default=".data/jwt-secret")
    parser.add_argument("--hours", type=float, default=12)
    args = parser.parse_args(argv)

    def split(values: str) -> list[str]:
        return [x.strip() for x in values.split(",") if x.strip()]

    if args.role == "member" and not args.member_id:
        parser.error("--member-id is required for a member token")
    print(
        issue_token(
            _read_secret(args.secret_file),
            args.role,
            regions=split(args.regions),
            communities=split(args.communities),
            member_id=args.member_id,
            organization_id=args.organization_id,
            ttl=timedelta(hours=args.hours),
        )
    )


if __name__ == "__main__":
    main()
