"""Repositories: the only place that queries the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from cercle_shared.db.keyset import Keyset
from cercle_shared.privacy import ErasureLedger

from ..domain.model import (
    ACTIVE_REGISTRATION,
    CLAIMABLE,
    UNSENT,
    WAITING,
    Community,
    Contact,
    Delivery,
    DeliveryStatus,
    EmailKind,
    Membership,
    MembershipRole,
    Preferences,
    Registration,
    ScheduledSession,
)
from .orm import erased_members, news_items

T = TypeVar("T")


class _Repository(Generic[T]):
    """get / add / delete of one aggregate by its id."""

    model: type[T]

    def __init__(self, db: Session) -> None:
        self._db = db

    def get(self, key: str) -> T | None:
        return self._db.get(self.model, key)

    def add(self, aggregate: T) -> None:
        self._db.add(aggregate)

    def delete(self, aggregate: T) -> None:
        self._db.delete(aggregate)


class ContactRepository(_Repository[Contact]):
    """Replicas of members' contact data."""

    model = Contact


class SessionRepository(_Repository[ScheduledSession]):
    """Replicas of sessions."""

    model = ScheduledSession

    def upcoming_of_community(self, community_id: str, after: datetime) -> Sequence[ScheduledSession]:
        return self._db.scalars(
            select(ScheduledSession).where(
                ScheduledSession.community_id == community_id,
                ScheduledSession.starts_at > after,
                ScheduledSession.cancelled.is_(False),
            )
        ).all()


class CommunityRepository(_Repository[Community]):
    """Replicas of community names."""

    model = Community

    def all(self) -> Sequence[Community]:
        return self._db.scalars(select(Community).order_by(Community.community_id)).all()


class RegistrationRepository(_Repository[Registration]):
    """Replicas of registrations: who hears about a session's changes."""

    model = Registration

    def active_of_session(self, session_id: str) -> Sequence[Registration]:
        return self._db.scalars(
            select(Registration)
            .where(Registration.session_id == session_id, Registration.status.in_(ACTIVE_REGISTRATION))
            .order_by(Registration.registration_id)
        ).all()

    def of_member(self, member_id: str) -> Sequence[Registration]:
        return self._db.scalars(select(Registration).where(Registration.member_id == member_id)).all()

    def of_session(self, session_id: str) -> Sequence[Registration]:
        return self._db.scalars(
            select(Registration).where(Registration.session_id == session_id).order_by(Registration.registration_id)
        ).all()


class MembershipRepository(_Repository[Membership]):
    """Replicas of memberships: who belongs to a community, who facilitates it."""

    model = Membership

    def of_community(self, community_id: str, role: MembershipRole | None = None) -> Sequence[Membership]:
        stmt = select(Membership).where(Membership.community_id == community_id)
        if role is not None:
            stmt = stmt.where(Membership.role == role)
        return self._db.scalars(stmt.order_by(Membership.membership_id)).all()

    def of_member(self, member_id: str) -> Sequence[Membership]:
        return self._db.scalars(select(Membership).where(Membership.member_id == member_id)).all()

    def communities_by_member(self) -> dict[str, list[str]]:
        """Every member with at least one membership, and her communities (the weekly digest's readers)."""
        found: dict[str, list[str]] = {}
        rows = self._db.execute(
            select(Membership.member_id, Membership.community_id).order_by(Membership.member_id)
        ).all()
        for member_id, community_id in rows:
            found.setdefault(member_id, []).append(community_id)
        return found


class PreferencesRepository(_Repository[Preferences]):
    model = Preferences

    def get_for_update(self, member_id: str) -> Preferences | None:
        """SELECT ... FOR UPDATE (PostgreSQL): concurrent writers with one ETag check the version one at a time, so
        a change that would be a no-op on the version it read cannot pass for a win over a newer one."""
        return self._db.get(Preferences, member_id, with_for_update=True, populate_existing=True)

    def replaced(self, preferences: Preferences) -> None:
        """A PUT replaces the preferences: it makes a new version even when the values are the ones stored, so
        that two writers holding one ETag can never both be told they won."""
        if inspect(preferences).persistent:
            flag_modified(preferences, "updated_at")


class DeliveryRepository(_Repository[Delivery]):
    model = Delivery

    def get(self, key: str, *, lock: bool = False, skip_locked: bool = False) -> Delivery | None:
        """lock: SELECT ... FOR UPDATE (PostgreSQL), so that an erasure and the sender never overwrite each other."""
        if not lock:
            return self._db.get(Delivery, key)
        return self._db.get(Delivery, key, with_for_update={"skip_locked": skip_locked})

    def by_source(self, source_event_id: str, kind: EmailKind, member_id: str) -> Delivery | None:
        return self._db.scalars(
            select(Delivery).where(
                Delivery.source_event_id == source_event_id, Delivery.kind == kind, Delivery.member_id == member_id
            )
        ).first()

    def of_member(self, member_id: str, *, lock: bool = False) -> Sequence[Delivery]:
        stmt = select(Delivery).where(Delivery.member_id == member_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self._db.scalars(stmt).all()

    def unsent_of_member(self, member_id: str) -> Sequence[Delivery]:
        return self._db.scalars(
            select(Delivery).where(Delivery.member_id == member_id, Delivery.status.in_(UNSENT))
        ).all()

    def waiting(self, *, member_id: str | None = None, session_id: str | None = None) -> Sequence[Delivery]:
        stmt = select(Delivery).where(Delivery.status.in_(WAITING))
        if member_id is not None:
            stmt = stmt.where(Delivery.member_id == member_id)
        if session_id is not None:
            stmt = stmt.where(Delivery.session_id == session_id)
        return self._db.scalars(stmt).all()

    def waiting_since_before(self, cutoff: datetime) -> Sequence[Delivery]:
        return self._db.scalars(
            select(Delivery).where(Delivery.status.in_(WAITING), Delivery.created_at < cutoff)
        ).all()

    def due_ids(self, at: datetime, limit: int) -> list[str]:
        """Pending deliveries whose time has come, and claimed ones whose sender's lease ran out."""
        return list(
            self._db.scalars(
                select(Delivery.id)
                .where(Delivery.status.in_(CLAIMABLE), Delivery.next_attempt_at <= at)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
            ).all()
        )

    def page(
        self,
        *,
        member_id: str | None,
        status: DeliveryStatus | None,
        kind: EmailKind | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Delivery], str | None]:
        """Newest first."""
        stmt = select(Delivery)
        if member_id is not None:
            stmt = stmt.where(Delivery.member_id == member_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status)
        if kind is not None:
            stmt = stmt.where(Delivery.kind == kind)
        keyset = Keyset(Delivery.created_at, Delivery.id, descending=True)
        return keyset.page(self._db, stmt, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class NewsItem:
    kind: str  # "summary" or "resource"
    subject_id: str  # the session (summary) or the resource
    community_id: str
    title: str | None
    published_at: datetime


class NewsRepository:
    """What the weekly digest tells: one row per summary (its latest version) and per resource."""

    def __init__(self, db: Session) -> None:
        self._db = db

    def record(self, item: NewsItem) -> None:
        """Insert, or move an existing subject to its newer publication (an edited summary is news again)."""
        key = (news_items.c.kind == item.kind) & (news_items.c.subject_id == item.subject_id)
        current = self._db.execute(select(news_items.c.published_at).where(key)).scalar_one_or_none()
        values = {
            "community_id": item.community_id,
            "title": item.title,
            "published_at": item.published_at,
        }
        if current is None:
            self._db.execute(insert(news_items).values(kind=item.kind, subject_id=item.subject_id, **values))
        elif item.published_at > current:
            self._db.execute(update(news_items).where(key).values(**values))

    def published(self, community_ids: Sequence[str], start: datetime, end: datetime) -> list[NewsItem]:
        """Items of these communities published in [start, end), oldest first."""
        if not community_ids:
            return []
        rows = self._db.execute(
            select(news_items)
            .where(
                news_items.c.community_id.in_(list(community_ids)),
                news_items.c.published_at >= start,
                news_items.c.published_at < end,
            )
            .order_by(news_items.c.published_at, news_items.c.subject_id)
        ).all()
        return [NewsItem(r.kind, r.subject_id, r.community_id, r.title, r.published_at) for r in rows]


class ErasedMembers:
    """Digests of erased members, so that their late events are dropped rather than stored."""

    def __init__(self, db: Session) -> None:
        self._ledger = ErasureLedger(db, erased_members)

    def add(self, member_id: str, at: datetime) -> None:
        self._ledger.record(member_id, at)

    def __contains__(self, member_id: str) -> bool:
        return member_id in self._ledger
