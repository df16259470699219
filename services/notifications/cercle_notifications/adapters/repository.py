from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cercle_shared.db.keyset import Keyset
from cercle_shared.privacy import ErasureLedger

from ..domain.model import (
    ACTIVE_REGISTRATION,
    PENDING,
    SENDING,
    UNSENT,
    WAITING,
    Community,
    Contact,
    Delivery,
    Preferences,
    Registration,
    ScheduledSession,
)
from .orm import erased_members


class Replicas:
    """What this service keeps of other services' data: contacts, sessions, community names."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def contact(self, member_id: str) -> Contact | None:
        return self._s.get(Contact, member_id)

    def session(self, session_id: str) -> ScheduledSession | None:
        return self._s.get(ScheduledSession, session_id)

    def community(self, community_id: str) -> Community | None:
        return self._s.get(Community, community_id)

    def registration(self, registration_id: str) -> Registration | None:
        return self._s.get(Registration, registration_id)

    def active_registrations(self, session_id: str) -> Sequence[Registration]:
        return self._s.scalars(
            select(Registration)
            .where(Registration.session_id == session_id, Registration.status.in_(ACTIVE_REGISTRATION))
            .order_by(Registration.registration_id)
        ).all()

    def registrations_of_member(self, member_id: str) -> Sequence[Registration]:
        return self._s.scalars(select(Registration).where(Registration.member_id == member_id)).all()

    def add(self, replica: Contact | ScheduledSession | Community | Registration) -> None:
        self._s.add(replica)

    def delete(self, replica: Contact | Registration) -> None:
        self._s.delete(replica)


class PreferencesRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, member_id: str) -> Preferences | None:
        return self._s.get(Preferences, member_id)

    def add(self, preferences: Preferences) -> None:
        self._s.add(preferences)

    def delete(self, preferences: Preferences) -> None:
        self._s.delete(preferences)


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, delivery: Delivery) -> None:
        self._s.add(delivery)

    def get(self, delivery_id: str, *, lock: bool = False, skip_locked: bool = False) -> Delivery | None:
        """lock: SELECT ... FOR UPDATE (PostgreSQL), so that an erasure and the sender never overwrite each other."""
        if not lock:
            return self._s.get(Delivery, delivery_id)
        return self._s.get(Delivery, delivery_id, with_for_update={"skip_locked": skip_locked})

    def by_source(self, source_event_id: str, kind: str, member_id: str) -> Delivery | None:
        return self._s.scalars(
            select(Delivery).where(
                Delivery.source_event_id == source_event_id, Delivery.kind == kind, Delivery.member_id == member_id
            )
        ).first()

    def of_member(self, member_id: str, *, lock: bool = False) -> Sequence[Delivery]:
        stmt = select(Delivery).where(Delivery.member_id == member_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self._s.scalars(stmt).all()

    def unsent_of_member(self, member_id: str) -> Sequence[Delivery]:
        return self._s.scalars(
            select(Delivery).where(Delivery.member_id == member_id, Delivery.status.in_(UNSENT))
        ).all()

    def waiting(self, *, member_id: str | None = None, session_id: str | None = None) -> Sequence[Delivery]:
        stmt = select(Delivery).where(Delivery.status.in_(WAITING))
        if member_id is not None:
            stmt = stmt.where(Delivery.member_id == member_id)
        if session_id is not None:
            stmt = stmt.where(Delivery.session_id == session_id)
        return self._s.scalars(stmt).all()

    def waiting_since_before(self, cutoff: datetime) -> Sequence[Delivery]:
        return self._s.scalars(select(Delivery).where(Delivery.status.in_(WAITING), Delivery.created_at < cutoff)).all()

    def due_ids(self, at: datetime, limit: int) -> list[str]:
        """Pending deliveries whose time has come, and claimed ones whose sender's lease ran out."""
        return list(
            self._s.scalars(
                select(Delivery.id)
                .where(
                    or_(Delivery.status == PENDING, Delivery.status == SENDING),
                    Delivery.next_attempt_at <= at,
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
            ).all()
        )

    def page(
        self,
        *,
        member_id: str | None,
        status: str | None,
        kind: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Delivery], str | None]:
        stmt = select(Delivery)
        if member_id is not None:
            stmt = stmt.where(Delivery.member_id == member_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status)
        if kind is not None:
            stmt = stmt.where(Delivery.kind == kind)
        return Keyset(Delivery.created_at, Delivery.id, descending=True).page(self._s, stmt, cursor=cursor, limit=limit)


def erasures(session: Session) -> ErasureLedger:
    """Digests of erased members, so that their late events are dropped rather than stored."""
    return ErasureLedger(session, erased_members)
