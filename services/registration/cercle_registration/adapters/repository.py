"""Repositories: the only place that writes SQL against the registration tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, exists, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, joinedload

from cercle_shared.db.keyset import Keyset
from cercle_shared.errors import InvalidInput

from ..domain.model import Community, Member, MemberImport, Membership, MembershipRole, Organization
from ..domain.sign_in import Attempt, Managed, RefreshState, RefreshToken, SignInCode

T = TypeVar("T", bound=str)


def json_list_contains(db: Session, column, value: str) -> ColumnElement[bool]:
    """`value` is an element of the JSON list in `column` (PostgreSQL or SQLite)."""
    if db.get_bind().dialect.name == "postgresql":
        return column.cast(JSONB).contains([value])
    elements = func.json_each(column).table_valued("value")
    return exists(select(elements.c.value).where(elements.c.value == value))


def keyset(entity, sort: str, allowed: Iterable[str]) -> Keyset:
    """`sort` is a field name, `-` first for descending order."""
    name = sort.removeprefix("-")
    if name not in allowed:
        raise InvalidInput(f"sort by one of {', '.join(allowed)} (prefix - for descending)", field="sort")
    return Keyset(getattr(entity, name), entity.id, descending=sort.startswith("-"))


BATCH = 500
"""Values per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters."""


def batches(values: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    pending = sorted(values)
    for start in range(0, len(pending), size):
        yield pending[start : start + size]


@dataclass(frozen=True)
class MemberQuery:
    regions: frozenset[str] | None = None  # only members of these regions
    communities: frozenset[str] | None = None  # only current members of these communities
    organization_id: str | None = None
    expertise: str | None = None
    sort: str = "display_name"


MEMBER_SORTS = ("display_name", "registered_at")


class OrganizationRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, organization: Organization) -> None:
        self._db.add(organization)

    def get(self, organization_id: str) -> Organization | None:
        return self._db.get(Organization, organization_id)

    def delete(self, organization: Organization) -> None:
        self._db.delete(organization)

    def existing(self, ids: Iterable[str | None]) -> set[str]:
        """Which of these organizations exist."""
        found: set[str] = set()
        for batch in batches({i for i in ids if i}):
            found.update(self._db.scalars(select(Organization.id).where(Organization.id.in_(batch))))
        return found

    def in_use(self, organization_id: str) -> bool:
        return bool(self._db.scalar(select(exists().where(Member.organization_id == organization_id))))

    def names(self, ids: Iterable[str | None]) -> dict[str, str]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        rows = self._db.execute(select(Organization.id, Organization.name).where(Organization.id.in_(wanted)))
        return dict(rows.tuples().all())

    def page(
        self, *, region: str | None, sector: str | None, sort: str, cursor: str | None, limit: int
    ) -> tuple[Sequence[Organization], str | None]:
        stmt = select(Organization)
        if region:
            stmt = stmt.where(Organization.region == region)
        if sector:
            stmt = stmt.where(func.lower(Organization.sector) == sector.lower())
        return keyset(Organization, sort, ("name", "created_at")).page(self._db, stmt, cursor=cursor, limit=limit)


class MemberRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, member: Member) -> None:
        self._db.add(member)

    def get(self, member_id: str) -> Member | None:
        # The consent history in the same SELECT: its own selectin load would be a second round trip per read.
        return self._db.get(Member, member_id, options=[joinedload(Member.consent_history)])  # type: ignore[arg-type]

    def get_many(self, ids: Iterable[str]) -> Sequence[Member]:
        found: list[Member] = []
        for batch in batches(set(ids)):
            found.extend(self._db.scalars(select(Member).where(Member.id.in_(batch))))
        return found

    def emails_taken(self, emails: Iterable[str]) -> set[str]:
        """Which of these (normalized) emails a member already has."""
        taken: set[str] = set()
        with self._db.no_autoflush:
            for batch in batches(set(emails)):
                taken.update(self._db.scalars(select(Member.email).where(Member.email.in_(batch))))
        return taken

    def by_email(self, email: str) -> Member | None:
        with self._db.no_autoflush:  # a pending change of this very email must not hit the unique index first
            return self._db.scalars(select(Member).where(Member.email == email)).first()

    def delete(self, member: Member) -> None:
        self._db.delete(member)

    def _select(self, query: MemberQuery):
        stmt = select(Member)
        if query.regions is not None:
            stmt = stmt.where(Member.region.in_(query.regions))
        if query.communities is not None:
            current = select(Membership.member_id).where(
                Membership.community_id.in_(query.communities), Membership.left_at.is_(None)
            )
            stmt = stmt.where(Member.id.in_(current))
        if query.organization_id:
            stmt = stmt.where(Member.organization_id == query.organization_id)
        if query.expertise:
            stmt = stmt.where(json_list_contains(self._db, Member.expertise, query.expertise.strip().lower()))
        return stmt

    def page(self, query: MemberQuery, *, cursor: str | None, limit: int) -> tuple[Sequence[Member], str | None]:
        return keyset(Member, query.sort, MEMBER_SORTS).page(self._db, self._select(query), cursor=cursor, limit=limit)

    def all(self, query: MemberQuery) -> Sequence[Member]:
        return self._db.scalars(self._select(query).order_by(Member.display_name, Member.id)).all()

    def directory_page(
        self, community_id: str, *, expertise: str | None, cursor: str | None, limit: int
    ) -> tuple[Sequence[Member], str | None]:
        """Current members of the community who consented to appear in its directory."""
        stmt = self._select(MemberQuery(communities=frozenset({community_id}), expertise=expertise)).where(
            Member.consents["directory"].as_boolean().is_(True)
        )
        return keyset(Member, "display_name", MEMBER_SORTS).page(self._db, stmt, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class CommunityQuery:
    region: str | None = None
    status: str | None = None
    kind: str | None = None
    domain: str | None = None
    ids: frozenset[str] | None = None
    sort: str = "name_fr"


class CommunityRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, community: Community) -> None:
        self._db.add(community)

    def get(self, community_id: str) -> Community | None:
        return self._db.get(Community, community_id)

    def get_many(self, ids: Iterable[str]) -> dict[str, Community]:
        found: dict[str, Community] = {}
        for batch in batches(set(ids)):
            found.update((c.id, c) for c in self._db.scalars(select(Community).where(Community.id.in_(batch))))
        return found

    def page(self, query: CommunityQuery, *, cursor: str | None, limit: int) -> tuple[Sequence[Community], str | None]:
        stmt = select(Community)
        if query.region:
            stmt = stmt.where(json_list_contains(self._db, Community.regions, query.region))
        for name in ("status", "kind", "domain"):
            if getattr(query, name):
                stmt = stmt.where(getattr(Community, name) == getattr(query, name))
        if query.ids is not None:
            stmt = stmt.where(Community.id.in_(query.ids))
        ks = keyset(Community, query.sort, ("name_fr", "name_en", "created_at"))
        return ks.page(self._db, stmt, cursor=cursor, limit=limit)


class MembershipRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, membership: Membership) -> None:
        self._db.add(membership)

    def current(self, community_id: str, member_id: str) -> Membership | None:
        return self._db.scalars(
            select(Membership).where(
                Membership.community_id == community_id,
                Membership.member_id == member_id,
                Membership.left_at.is_(None),
            )
        ).first()

    def ever_joined(self, community_id: str, member_id: str) -> bool:
        return bool(
            self._db.scalar(
                select(exists().where(Membership.community_id == community_id, Membership.member_id == member_id))
            )
        )

    def is_current_member(self, community_id: str, member_id: str | None) -> bool:
        return member_id is not None and self.current(community_id, member_id) is not None

    def current_communities_of(self, member_id: str) -> set[str]:
        return set(
            self._db.scalars(
                select(Membership.community_id).where(Membership.member_id == member_id, Membership.left_at.is_(None))
            )
        )

    def history_of(self, member_id: str) -> Sequence[Membership]:
        return self._db.scalars(
            select(Membership).where(Membership.member_id == member_id).order_by(Membership.joined_at, Membership.id)
        ).all()

    def current_roles(self, community_id: str, member_ids: Iterable[str]) -> dict[str, str]:
        rows = self._db.execute(
            select(Membership.member_id, Membership.role).where(
                Membership.community_id == community_id,
                Membership.member_id.in_(set(member_ids)),
                Membership.left_at.is_(None),
            )
        )
        return dict(rows.tuples().all())

    def facilitators(self, community_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = set(community_ids)
        out: dict[str, list[str]] = {c: [] for c in wanted}
        if not wanted:
            return out
        rows = self._db.execute(
            select(Membership.community_id, Membership.member_id)
            .where(
                Membership.community_id.in_(wanted),
                Membership.role == MembershipRole.FACILITATOR,
                Membership.left_at.is_(None),
            )
            .order_by(Membership.joined_at)
        )
        for community_id, member_id in rows:
            out[community_id].append(member_id)
        return out

    def page(
        self,
        *,
        community_id: str | None = None,
        member_id: str | None = None,
        active: bool | None = None,
        role: str | None = None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Membership], str | None]:
        stmt = select(Membership)
        if community_id:
            stmt = stmt.where(Membership.community_id == community_id)
        if member_id:
            stmt = stmt.where(Membership.member_id == member_id)
        if active is not None:
            stmt = stmt.where(Membership.left_at.is_(None) if active else Membership.left_at.is_not(None))
        if role:
            stmt = stmt.where(Membership.role == role)
        return keyset(Membership, "joined_at", ("joined_at",)).page(self._db, stmt, cursor=cursor, limit=limit)

    def managed_by(self, member_id: str) -> list[Managed]:
        """The member's current memberships with a role beyond participant, and their communities' regions."""
        rows = self._db.execute(
            select(Membership.community_id, Membership.role, Community.regions, Community.status)
            .join(Community, Community.id == Membership.community_id)
            .where(
                Membership.member_id == member_id,
                Membership.left_at.is_(None),
                Membership.role != MembershipRole.PARTICIPANT,
            )
        )
        return [Managed(c, MembershipRole(r), tuple(regions or ()), s) for c, r, regions, s in rows.tuples()]

    def delete_all_of(self, member_id: str) -> int:
        """Mark every membership of the member, past ones included, for deletion at the next flush or commit: a
        statement run here would write outside the unit of work's error translation (a busy database, a lost race)
        and flush what is pending with it."""
        with self._db.no_autoflush:
            found = self._db.scalars(select(Membership).where(Membership.member_id == member_id)).all()
        for membership in found:
            self._db.delete(membership)
        return len(found)


class MemberImportRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, record: MemberImport) -> None:
        self._db.add(record)

    def get(self, import_id: str) -> MemberImport | None:
        return self._db.get(MemberImport, import_id)

    def delete(self, record: MemberImport) -> None:
        self._db.delete(record)

    def progressed_before(self, moment: datetime) -> Sequence[MemberImport]:
        return self._db.scalars(
            select(MemberImport).where(MemberImport.progressed_at < moment).order_by(MemberImport.started_at)
        ).all()


class SignInRepository:
    """One-time codes, refresh tokens (looked up by digest) and the attempts counted against the limits."""

    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, item: SignInCode | RefreshToken | Attempt) -> None:
        self._db.add(item)

    def code(self, code_hash: str) -> SignInCode | None:
        return self._db.scalars(select(SignInCode).where(SignInCode.code_hash == code_hash)).first()

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self._db.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).first()

    def family(self, family_id: str) -> Sequence[RefreshToken]:
        return self._db.scalars(
            select(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.state != RefreshState.REVOKED)
        ).all()

    def delete_all_of(self, member_id: str) -> int:
        """Mark every code and refresh token of the member for deletion (erasure), as memberships do."""
        with self._db.no_autoflush:
            found: list[SignInCode | RefreshToken] = [
                *self._db.scalars(select(SignInCode).where(SignInCode.member_id == member_id)),
                *self._db.scalars(select(RefreshToken).where(RefreshToken.member_id == member_id)),
            ]
        for item in found:
            self._db.delete(item)
        return len(found)

    def serialize(self, key_hash: str) -> None:
        """Count and record attempts of one key one transaction at a time (PostgreSQL; SQLite has one writer)."""
        if self._db.get_bind().dialect.name == "postgresql":
            self._db.execute(text("select pg_advisory_xact_lock(:k)"), {"k": int(key_hash[:15], 16)})

    def attempts_since(self, kind: str, key_hash: str, since: datetime) -> tuple[int, datetime | None]:
        """How many attempts of this key in the window, and the oldest of them."""
        count, oldest = self._db.execute(
            select(func.count(), func.min(Attempt.at)).where(
                Attempt.kind == kind, Attempt.key_hash == key_hash, Attempt.at > since
            )
        ).one()
        return int(count), oldest

    def purge(self, *, attempts_before: datetime, expired_before: datetime) -> int:
        """Forget attempts out of every window, and codes and refresh tokens expired long enough."""
        with self._db.no_autoflush:
            found: list[object] = [
                *self._db.scalars(select(Attempt).where(Attempt.at <= attempts_before).limit(BATCH)),
                *self._db.scalars(select(SignInCode).where(SignInCode.expires_at <= expired_before).limit(BATCH)),
                *self._db.scalars(select(RefreshToken).where(RefreshToken.expires_at <= expired_before).limit(BATCH)),
            ]
        for item in found:
            self._db.delete(item)
        return len(found)
