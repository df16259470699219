"""The read models' repository: the only place insights writes SQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from cercle_shared.db.keyset import Keyset
from cercle_shared.privacy import ErasureLedger

from ..domain.model import (
    Community,
    CommunitySession,
    CommunityStatus,
    Membership,
    RegistrationStatus,
    SessionRegistration,
    SessionStatus,
)
from . import orm
from .orm import community_regions


@dataclass(frozen=True)
class ListScope:
    """Which communities a caller may list; None means no restriction on that axis."""

    regions: frozenset[str] | None = None
    community_ids: frozenset[str] | None = None
    member_id: str | None = None


@dataclass(frozen=True)
class Headline:
    active_members: int = 0
    sessions: int = 0
    confirmed_registrations: int = 0
    waitlisted_registrations: int = 0


class Replica:
    """The read models, as the reactions write them and the views read them."""

    def __init__(self, db: Session) -> None:
        self._db = db

    # -- written by the reactions ----------------------------------------------------------------

    def community(self, community_id: str) -> Community:
        """The community, or a new placeholder for it."""
        community = self._db.get(Community, community_id)
        if community is None:
            community = Community(id=community_id)
            self._db.add(community)
            self._db.flush()  # before any row that refers to it
        return community

    def set_regions(self, community: Community) -> None:
        self._db.execute(delete(community_regions).where(community_regions.c.community_id == community.id))
        if community.regions:
            self._db.execute(
                insert(community_regions), [{"community_id": community.id, "region": r} for r in community.regions]
            )

    def membership(self, membership_id: str, community_id: str) -> Membership:
        membership = self._db.get(Membership, membership_id)
        if membership is None:
            self.community(community_id)
            membership = Membership(id=membership_id, community_id=community_id)
            self._db.add(membership)
        return membership

    def session(self, session_id: str, community_id: str) -> CommunitySession:
        found = self._db.get(CommunitySession, session_id)
        if found is None:
            self.community(community_id)
            found = CommunitySession(id=session_id, community_id=community_id)
            self._db.add(found)
        return found

    def registration(self, registration_id: str) -> SessionRegistration | None:
        return self._db.get(SessionRegistration, registration_id)

    def add_registration(self, registration: SessionRegistration) -> None:
        self.community(registration.community_id)
        self._db.add(registration)

    def memberships_of(self, member_id: str) -> Sequence[Membership]:
        return self._db.scalars(select(Membership).where(Membership.member_id == member_id)).all()

    def registrations_of(self, member_id: str) -> Sequence[SessionRegistration]:
        return self._db.scalars(select(SessionRegistration).where(SessionRegistration.member_id == member_id)).all()

    def erased_at(self, member_id: str) -> datetime | None:
        return ErasureLedger(self._db, orm.erased_members).erased_at(member_id)

    def record_erasure(self, member_id: str, at: datetime) -> None:
        ErasureLedger(self._db, orm.erased_members).record(member_id, at)

    # -- read by the views -----------------------------------------------------------------------

    def described(self, community_id: str) -> Community | None:
        community = self._db.get(Community, community_id)
        return community if community is not None and community.described else None

    def page(
        self,
        scope: ListScope,
        *,
        region: str | None,
        status: CommunityStatus | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Community], str | None]:
        stmt = select(Community).where(Community.name_fr.is_not(None))
        if scope.regions is not None:
            stmt = stmt.where(Community.id.in_(self._in_regions(scope.regions)))
        if scope.community_ids is not None:
            stmt = stmt.where(Community.id.in_(scope.community_ids))
        if scope.member_id is not None:
            stmt = stmt.where(
                Community.id.in_(
                    select(Membership.community_id).where(
                        Membership.member_id == scope.member_id,
                        Membership.joined_at.is_not(None),
                        Membership.left_at.is_(None),
                    )
                )
            )
        if region is not None:
            stmt = stmt.where(Community.id.in_(self._in_regions({region})))
        if status is not None:
            stmt = stmt.where(Community.status == status)
        keyset = Keyset(Community.name_fr, Community.id)
        return keyset.page(self._db, stmt, cursor=cursor, limit=limit)

    @staticmethod
    def _in_regions(regions: Collection[str]):
        return select(community_regions.c.community_id).where(community_regions.c.region.in_(regions))

    def in_region(self, region: str) -> Sequence[Community]:
        return self._db.scalars(
            select(Community).where(Community.name_fr.is_not(None), Community.id.in_(self._in_regions({region})))
        ).all()

    def belongs(self, community_id: str, member_id: str) -> bool:
        return (
            self._db.scalar(
                select(func.count()).where(
                    Membership.community_id == community_id,
                    Membership.member_id == member_id,
                    Membership.joined_at.is_not(None),
                    Membership.left_at.is_(None),
                )
            )
            > 0
        )

    def memberships_in(self, community_ids: Collection[str]) -> Sequence[Membership]:
        return self._db.scalars(select(Membership).where(Membership.community_id.in_(community_ids))).all()

    def sessions_in(self, community_ids: Collection[str]) -> Sequence[CommunitySession]:
        return self._db.scalars(select(CommunitySession).where(CommunitySession.community_id.in_(community_ids))).all()

    def attendance_in(self, community_ids: Collection[str]) -> list[tuple[datetime, int, int]]:
        """(start, present, absent) of each session with attendance recorded and not cancelled (columns, not rows
        of the session: a region has thousands)."""
        s = CommunitySession
        rows = self._db.execute(
            select(s.starts_at, s.present, s.absent).where(
                s.community_id.in_(list(community_ids)),
                s.present.is_not(None),
                s.starts_at.is_not(None),
                or_(s.status.is_(None), s.status != SessionStatus.CANCELLED),
            )
        )
        return [(starts_at, present, absent or 0) for starts_at, present, absent in rows]

    def registrations_by_status(self, community_ids: Collection[str]) -> Counter[str]:
        rows = self._db.execute(
            select(SessionRegistration.status, func.count())
            .where(SessionRegistration.community_id.in_(community_ids), self._of_live_sessions())
            .group_by(SessionRegistration.status)
        ).all()
        return Counter(dict(rows))

    @staticmethod
    def _of_live_sessions():
        """Registrations of a cancelled session count no more: its seats were never used."""
        cancelled = select(CommunitySession.id).where(CommunitySession.status == SessionStatus.CANCELLED)
        return SessionRegistration.session_id.not_in(cancelled)

    def headlines(self, community_ids: Collection[str]) -> dict[str, Headline]:
        """The list's numbers for a page of communities, in three grouped queries."""
        ids = list(community_ids)
        numbers: dict[str, dict[str, int]] = defaultdict(dict)
        members = self._db.execute(
            select(Membership.community_id, func.count(func.distinct(Membership.member_id)))
            .where(Membership.community_id.in_(ids), Membership.joined_at.is_not(None), Membership.left_at.is_(None))
            .group_by(Membership.community_id)
        )
        for community_id, count in members:
            numbers[community_id]["active_members"] = count
        sessions = self._db.execute(
            select(CommunitySession.community_id, func.count())
            .where(
                CommunitySession.community_id.in_(ids),
                CommunitySession.status.in_((SessionStatus.SCHEDULED, SessionStatus.HELD)),
            )
            .group_by(CommunitySession.community_id)
        )
        for community_id, count in sessions:
            numbers[community_id]["sessions"] = count
        registrations = self._db.execute(
            select(SessionRegistration.community_id, SessionRegistration.status, func.count())
            .where(
                SessionRegistration.community_id.in_(ids),
                SessionRegistration.status.in_((RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)),
                self._of_live_sessions(),
            )
            .group_by(SessionRegistration.community_id, SessionRegistration.status)
        )
        for community_id, status, count in registrations:
            numbers[community_id][f"{status}_registrations"] = count
        return {community_id: Headline(**numbers.get(community_id, {})) for community_id in ids}
