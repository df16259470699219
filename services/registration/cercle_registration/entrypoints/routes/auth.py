"""Sign-in without passwords. Public by nature (a caller without a token comes here to get one): every route is
bounded by rate limits per client address, and per email for links."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from cercle_shared.errors import NotFound

from ...service_layer import sign_in
from .. import schemas
from ..deps import ClockDep, UowDep

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_TOO_MANY = {"description": "Too many requests: retry after the Retry-After header's seconds", "content": _PROBLEM}
_INVALID = {"description": "Invalid input, each field named", "content": _PROBLEM}
_GRANT = {"description": "Invalid grant: unknown, used, expired or revoked (the field is named)", "content": _PROBLEM}
PUBLIC: dict[int | str, dict[str, Any]] = {422: _INVALID, 429: _TOO_MANY}
GRANTS: dict[int | str, dict[str, Any]] = {400: _GRANT, **PUBLIC}


def _policy(request: Request) -> sign_in.Policy:
    return request.app.state.sign_in


def _client(request: Request) -> str:
    # The peer address; behind a reverse proxy every caller shares the proxy's (see docs/sign-in.md).
    return request.client.host if request.client else "unknown"


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"  # tokens must not be cached (RFC 6749 §5.1)


@router.post(
    "/links",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.SignInLinkAccepted,
    responses=PUBLIC,
    summary="Ask for a sign-in link",
)
def request_link(
    body: schemas.SignInLinkCreate, request: Request, background: BackgroundTasks, uow: UowDep, clock: ClockDep
):
    """Email a one-time sign-in link to this address if it belongs to a member; the answer is the same either way."""
    policy, at = _policy(request), clock()
    cmd = sign_in.RequestLink(email=body.email, client=_client(request))
    sign_in.count_link_request(cmd, uow, policy, at)
    # Whether she is a member is looked up after the answer has left: its timing cannot tell.
    background.add_task(sign_in.issue_link, cmd, uow, policy, at)
    return schemas.SignInLinkAccepted(expires_in=int(policy.code_ttl.total_seconds()))


@router.post("/token", response_model=schemas.TokensPublic, responses=GRANTS, summary="Sign in with a code")
def redeem_code(body: schemas.TokenCreate, request: Request, response: Response, uow: UowDep, clock: ClockDep):
    """Trade the link's one-time code for an access token (15 min) and a refresh token (single use)."""
    _no_store(response)
    cmd = sign_in.RedeemCode(code=body.code, client=_client(request))
    return schemas.TokensPublic(**vars(sign_in.redeem_code(cmd, uow, _policy(request), clock)))


@router.post("/refresh", response_model=schemas.TokensPublic, responses=GRANTS, summary="Refresh the tokens")
def refresh(body: schemas.TokenRefresh, request: Request, response: Response, uow: UowDep, clock: ClockDep):
    """Spend a refresh token for new tokens; a spent one presented again revokes the whole sign-in."""
    _no_store(response)
    cmd = sign_in.RefreshTokens(refresh_token=body.refresh_token, client=_client(request))
    return schemas.TokensPublic(**vars(sign_in.refresh(cmd, uow, _policy(request), clock)))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=PUBLIC, summary="Sign out")
def logout(body: schemas.SignOutRequest, request: Request, uow: UowDep, clock: ClockDep):
    """Revoke this sign-in's refresh tokens (access tokens already issued end with their 15 minutes)."""
    sign_in.sign_out(
        sign_in.SignOut(refresh_token=body.refresh_token, client=_client(request)), uow, _policy(request), clock
    )


@router.post(
    "/oidc",
    response_model=schemas.TokensPublic,
    responses={**GRANTS, 404: {"description": "OpenID Connect is not configured", "content": _PROBLEM}},
    summary="Sign in with an identity provider",
)
def exchange_id_token(
    body: schemas.IdTokenExchange, request: Request, response: Response, uow: UowDep, clock: ClockDep
):
    """Trade an ID token of the configured OpenID Connect issuer (verified email) for Cercle tokens."""
    verifier = request.app.state.oidc
    if verifier is None:
        raise NotFound("sign-in through an identity provider is not configured (CERCLE_OIDC_ISSUER)")
    _no_store(response)
    cmd = sign_in.ExchangeIdToken(id_token=body.id_token, client=_client(request))
    return schemas.TokensPublic(**vars(sign_in.exchange_id_token(cmd, uow, _policy(request), verifier, clock)))


_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer"><title>Cercle — connexion / sign-in</title></head>
<body>
<h1>Cercle</h1>
<p lang="fr">Cliquez pour vous connecter. Le lien ne sert qu'une fois, pendant 15 minutes.</p>
<p lang="en">Click to sign in. The link works once, for 15 minutes.</p>
<button id="go">Se connecter / Sign in</button>
<pre id="out"></pre>
<script>
document.getElementById("go").onclick = async () => {
  const answer = await fetch("token", {method: "POST", headers: {"content-type": "application/json"},
                                       body: JSON.stringify({code: "%(code)s"})});
  document.getElementById("out").textContent = JSON.stringify(await answer.json(), null, 2);
};
</script>
</body></html>
"""


@router.get(
    "/callback", response_class=HTMLResponse, responses={422: _INVALID}, summary="The page an emailed link opens"
)
def callback(code: Annotated[str, Query(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]):
    """A small page whose button posts the code to /v1/auth/token. Opening it spends nothing: mail scanners that
    fetch every link cannot use the code up."""
    return HTMLResponse(
        _PAGE % {"code": html.escape(code)},
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"},
    )
