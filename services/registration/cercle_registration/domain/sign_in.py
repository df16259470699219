"""Sign-in without passwords: one-time codes sent by email, rotating refresh tokens, and the throttle of attempts.

Secrets are random (`secrets`, 256 bits) and only their SHA-256 digest is stored: a copy of the database lets nobody
sign in. A slow password hash would add nothing for secrets of this strength.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cercle_shared.domain import Aggregate
from cercle_shared.errors import CercleError
from cercle_shared.principal import Role

from . import events
from .model import CommunityStatus, MembershipRole, new_id

SECRET_BYTES = 32  # 256 bits, above the 128 the issue asks for


class InvalidGrant(CercleError):
    """A code or token that is unknown, used, expired or revoked: one answer for all, naming the field."""

    status = 400
    title = "Invalid grant"


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def keyed_digest(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def link_to(base: str, code: str) -> str:
    """The link carries the code at the end of the configured base (`...?code=` by default)."""
    return f"{base}{code}"


@dataclass(eq=False)
class SignInCode(Aggregate):
    """A one-time code: valid until `expires_at`, usable once."""

    id: str
    member_id: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    version: int = 1

    @classmethod
    def issue(
        cls, *, member_id: str, language: str, link_base: str, ttl: timedelta, at: datetime
    ) -> tuple[SignInCode, str]:
        """A new code and its raw value (kept nowhere but in the event that carries it to the email)."""
        raw = new_secret()
        code = cls(id=new_id(), member_id=member_id, code_hash=digest(raw), created_at=at, expires_at=at + ttl)
        code.record(
            events.SignInLinkRequested(
                member_id=member_id,
                link=link_to(link_base, raw),
                code=raw,
                language=language,
                expires_at=code.expires_at,
                requested_at=at,
            )
        )
        return code, raw

    def redeem(self, at: datetime) -> None:
        if self.used_at is not None or at >= self.expires_at:
            raise InvalidGrant("this sign-in code is unknown, used or expired; ask for a new link", field="code")
        self.used_at = at


class RefreshState(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"
    REVOKED = "revoked"


@dataclass(eq=False)
class RefreshToken(Aggregate):
    """One refresh token of a family (the tokens descended from one sign-in). Using it once rotates it: it gives
    way to a new token of the same family. Presenting a rotated token again means it was copied: the whole family
    is revoked, the thief's copy and the member's alike."""

    id: str
    family_id: str
    member_id: str
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    state: RefreshState = RefreshState.ACTIVE
    ended_at: datetime | None = None
    version: int = 1

    @classmethod
    def start_family(cls, member_id: str, *, ttl: timedelta, at: datetime) -> tuple[RefreshToken, str]:
        return cls._new(new_id(), member_id, ttl=ttl, at=at)

    @classmethod
    def _new(cls, family_id: str, member_id: str, *, ttl: timedelta, at: datetime) -> tuple[RefreshToken, str]:
        raw = new_secret()
        token = cls(
            id=new_id(),
            family_id=family_id,
            member_id=member_id,
            token_hash=digest(raw),
            issued_at=at,
            expires_at=at + ttl,
        )
        return token, raw

    @property
    def reused(self) -> bool:
        return self.state is RefreshState.ROTATED

    def rotate(self, *, ttl: timedelta, at: datetime) -> tuple[RefreshToken, str]:
        """The next token of the family; this one is spent. The family keeps its first expiry: rotating does not
        extend a sign-in beyond its 30 days."""
        if self.state is not RefreshState.ACTIVE or at >= self.expires_at:
            raise InvalidGrant("this refresh token is unknown, used, expired or revoked", field="refresh_token")
        self.state = RefreshState.ROTATED
        self.ended_at = at
        successor, raw = self._new(self.family_id, self.member_id, ttl=ttl, at=at)
        successor.expires_at = min(successor.expires_at, self.expires_at)
        return successor, raw

    def revoke(self, at: datetime) -> None:
        if self.state is not RefreshState.REVOKED:
            self.state = RefreshState.REVOKED
            self.ended_at = self.ended_at or at


@dataclass(frozen=True)
class Standing:
    """What a member manages, from her current memberships: one role in the token (the highest) with its scopes."""

    role: Role
    regions: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Managed:
    community_id: str
    role: MembershipRole
    regions: tuple[str, ...]
    status: CommunityStatus


def standing(memberships: Iterable[Managed]) -> Standing:
    """Coordinator when she coordinates a community placed in regions (scope: those regions), else facilitator when
    she facilitates or coordinates one (scope: those communities), else member. A coordinator's token lists her
    facilitated and province-wide coordinated communities too. Closed communities give no role."""
    regions: set[str] = set()
    communities: set[str] = set()
    for m in memberships:
        if m.status is CommunityStatus.CLOSED or m.role is MembershipRole.PARTICIPANT:
            continue
        communities.add(m.community_id)
        if m.role is MembershipRole.COORDINATOR:
            regions.update(m.regions)
    if regions:
        return Standing(Role.COORDINATOR, frozenset(regions), frozenset(communities))
    if communities:
        return Standing(Role.FACILITATOR, communities=frozenset(communities))
    return Standing(Role.MEMBER)


@dataclass(eq=False)
class Attempt:
    """One request counted against a throttle: which limit (`kind`), whose (`key_hash`: a digest, never the email or
    the address itself), when."""

    kind: str
    key_hash: str
    at: datetime
    id: int | None = None


def retry_after(oldest: datetime, window: timedelta, at: datetime) -> int:
    """Seconds until the oldest counted attempt leaves the window (at least 1)."""
    return max(1, int((oldest + window - at).total_seconds() + 0.999))
