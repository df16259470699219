"""Sign-in without passwords: ask for a link by email, trade its one-time code for tokens, refresh, sign out, and
the same tokens for an ID token of the organization's identity provider (OpenID Connect)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cercle_shared.auth import issue_token
from cercle_shared.errors import InvalidInput, StaleVersion, TooManyRequests

from ..adapters.oidc import OidcError, OidcVerifier
from ..domain import model
from ..domain.model import ConsentPurpose
from ..domain.sign_in import (
    Attempt,
    InvalidGrant,
    RefreshToken,
    SignInCode,
    Standing,
    digest,
    keyed_digest,
    retry_after,
    standing,
)
from .unit_of_work import RegistrationUnitOfWork

LINK_EMAIL = "link-email"
LINK_ADDRESS = "link-address"
TOKEN_ADDRESS = "token-address"


@dataclass(frozen=True)
class Policy:
    """Lifetimes and limits, from the settings."""

    jwt_secret: str
    link_base: str
    code_ttl: timedelta = timedelta(minutes=15)
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    window: timedelta = timedelta(minutes=15)
    links_per_email: int = 5
    links_per_address: int = 30
    tokens_per_address: int = 60


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class RequestLink:
    email: str  # normalized
    client: str


@dataclass(frozen=True)
class RedeemCode:
    code: str
    client: str


@dataclass(frozen=True)
class RefreshTokens:
    refresh_token: str
    client: str


@dataclass(frozen=True)
class SignOut:
    refresh_token: str
    client: str


@dataclass(frozen=True)
class ExchangeIdToken:
    id_token: str
    client: str


def count_link_request(cmd: RequestLink, uow: RegistrationUnitOfWork, policy: Policy, at: datetime) -> None:
    """Count the request against the limits per email and per client address, or refuse it (429). The same work
    whether or not the address is a member's: nothing here looks at members."""
    with uow:
        _throttle(
            uow,
            policy,
            at,
            (LINK_EMAIL, cmd.email, policy.links_per_email),
            (LINK_ADDRESS, cmd.client, policy.links_per_address),
        )
        uow.commit()


def issue_link(cmd: RequestLink, uow: RegistrationUnitOfWork, policy: Policy, at: datetime) -> None:
    """Make a one-time code when the email belongs to a member who consented to processing, and publish the link
    for notifications to email. Run once the answer is sent, so that its time tells the caller nothing."""
    with uow:
        member = uow.members.by_email(cmd.email)
        if member is not None and member.consents.get(ConsentPurpose.PROCESSING):
            code, _ = SignInCode.issue(
                member_id=member.id, language=member.language, link_base=policy.link_base, ttl=policy.code_ttl, at=at
            )
            uow.sign_in.add(code)
            uow.commit()


def redeem_code(cmd: RedeemCode, uow: RegistrationUnitOfWork, policy: Policy, clock: model.Clock) -> Tokens:
    """A valid code, once: an access token and the first refresh token of a new family."""
    at = clock()
    _count(uow, policy, at, cmd.client)
    try:
        with uow:
            code = uow.sign_in.code(digest(cmd.code))
            if code is None:
                raise InvalidGrant("this sign-in code is unknown, used or expired; ask for a new link", field="code")
            member_id = _member_who_may_sign_in(uow, code.member_id, "code")
            held = _standing(uow, member_id)  # every read before the first change: nothing flushes early
            code.redeem(at)
            refresh, raw = RefreshToken.start_family(member_id, ttl=policy.refresh_ttl, at=at)
            uow.sign_in.add(refresh)
            tokens = _tokens(policy, held, member_id, raw)
            uow.commit()
    except StaleVersion:  # another request redeemed it first
        raise InvalidGrant("this sign-in code is unknown, used or expired; ask for a new link", field="code") from None
    return tokens


def refresh(cmd: RefreshTokens, uow: RegistrationUnitOfWork, policy: Policy, clock: model.Clock) -> Tokens:
    """Rotate: the presented token is spent and its successor returned. A spent token presented again (a copy,
    or a second request racing the first) revokes its whole family."""
    at = clock()
    _count(uow, policy, at, cmd.client)
    token_hash = digest(cmd.refresh_token)
    try:
        with uow:
            token = uow.sign_in.refresh_token(token_hash)
            if token is None:
                raise InvalidGrant("this refresh token is unknown, used, expired or revoked", field="refresh_token")
            if token.reused:
                family_id = token.family_id
            else:
                member_id = _member_who_may_sign_in(uow, token.member_id, "refresh_token")
                held = _standing(uow, member_id)
                successor, raw = token.rotate(ttl=policy.refresh_ttl, at=at)
                uow.sign_in.add(successor)
                tokens = _tokens(policy, held, member_id, raw)
                uow.commit()
                return tokens
    except StaleVersion:
        family_id = _family_of(uow, token_hash)
    _revoke_family(uow, family_id, at)
    raise InvalidGrant(
        "this refresh token was already used: every token of this sign-in is revoked", field="refresh_token"
    )


def sign_out(cmd: SignOut, uow: RegistrationUnitOfWork, policy: Policy, clock: model.Clock) -> None:
    """Revoke the token's whole family (this sign-in on every device that shares it). An unknown token: nothing."""
    at = clock()
    _count(uow, policy, at, cmd.client)
    family_id = _family_of(uow, digest(cmd.refresh_token))
    if family_id is not None:
        _revoke_family(uow, family_id, at)


def exchange_id_token(
    cmd: ExchangeIdToken, uow: RegistrationUnitOfWork, policy: Policy, verifier: OidcVerifier, clock: model.Clock
) -> Tokens:
    """The member whose email the issuer verified signs in as with a link."""
    at = clock()
    _count(uow, policy, at, cmd.client)
    try:
        verified = verifier.verify(cmd.id_token)
        email = model.normalize_email(verified.email)
    except (OidcError, InvalidInput) as exc:
        detail = exc.detail if isinstance(exc, InvalidInput) else str(exc)
        raise InvalidGrant(f"this ID token is not accepted: {detail}", field="id_token") from None
    with uow:
        member = uow.members.by_email(email)
        if member is None or not member.consents.get(ConsentPurpose.PROCESSING):
            raise InvalidGrant("no member with this verified email may sign in", field="id_token")
        held = _standing(uow, member.id)
        refresh_token, raw = RefreshToken.start_family(member.id, ttl=policy.refresh_ttl, at=at)
        uow.sign_in.add(refresh_token)
        tokens = _tokens(policy, held, member.id, raw)
        uow.commit()
    return tokens


def purge(uow: RegistrationUnitOfWork, window: timedelta, clock: model.Clock) -> int:
    """Delete attempts out of the window and codes and refresh tokens expired for a day (kept that long so that a
    late reuse still reads as such)."""
    at = clock()
    total = 0
    while True:  # in batches, each its own short transaction
        with uow:
            count = uow.sign_in.purge(attempts_before=at - window, expired_before=at - timedelta(days=1))
            uow.commit()
        total += count
        if count == 0:
            return total


def _member_who_may_sign_in(uow: RegistrationUnitOfWork, member_id: str, field: str) -> str:
    member = uow.members.get(member_id)
    if member is None or not member.consents.get(ConsentPurpose.PROCESSING):
        raise InvalidGrant("this member may no longer sign in", field=field)
    return member.id


def _standing(uow: RegistrationUnitOfWork, member_id: str) -> Standing:
    """Her role and scopes as her memberships stand now: they follow at every refresh."""
    return standing(uow.memberships.managed_by(member_id))


def _tokens(policy: Policy, held: Standing, member_id: str, refresh_token: str) -> Tokens:
    access = issue_token(
        policy.jwt_secret,
        held.role,
        regions=held.regions,
        communities=held.communities,
        member_id=member_id,
        ttl=policy.access_ttl,
    )
    return Tokens(access, refresh_token, int(policy.access_ttl.total_seconds()))


def _family_of(uow: RegistrationUnitOfWork, token_hash: str) -> str | None:
    with uow:
        token = uow.sign_in.refresh_token(token_hash)
        return token.family_id if token is not None else None


def _revoke_family(uow: RegistrationUnitOfWork, family_id: str | None, at: datetime) -> None:
    """Revoke every token of the family; a rotation racing this one is retried over, never left standing."""
    if family_id is None:
        return
    for _ in range(5):
        try:
            with uow:
                for token in uow.sign_in.family(family_id):
                    token.revoke(at)
                uow.commit()
            return
        except StaleVersion:
            continue
    raise StaleVersion("this sign-in changed while being revoked; try again", field="refresh_token")


def _throttle(uow: RegistrationUnitOfWork, policy: Policy, at: datetime, *limits: tuple[str, str, int]) -> None:
    """Count this request against each limit (inside the caller's transaction), or refuse it with 429 and count
    nothing: a refused request does not push the window further."""
    # Keyed with the server's secret: the rows cannot be matched against a list of addresses.
    keys = [(kind, keyed_digest(policy.jwt_secret, f"{kind}:{value}"), limit) for kind, value, limit in limits]
    for _, key_hash, _ in keys:
        uow.sign_in.serialize(key_hash)
    for kind, key_hash, limit in keys:
        count, oldest = uow.sign_in.attempts_since(kind, key_hash, at - policy.window)
        if count >= limit:
            seconds = retry_after(oldest or at, policy.window, at)
            field = "email" if kind == LINK_EMAIL else None
            raise TooManyRequests(
                f"too many sign-in requests; try again in {seconds} s", retry_after=seconds, field=field
            )
    for kind, key_hash, _ in keys:
        uow.sign_in.add(Attempt(kind=kind, key_hash=key_hash, at=at))


def _count(uow: RegistrationUnitOfWork, policy: Policy, at: datetime, client: str) -> None:
    """The per-address limit of the token endpoints, committed on its own: a failed attempt counts too."""
    with uow:
        _throttle(uow, policy, at, (TOKEN_ADDRESS, client, policy.tokens_per_address))
        uow.commit()
