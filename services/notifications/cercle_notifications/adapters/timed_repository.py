"""Timed messages and communities' reminder settings: the queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.timed import CommunityReminders, TimedKey, TimedMessage, TimedStatus


class TimedMessageRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, message: TimedMessage) -> None:
        self._db.add(message)

    def get(self, message_id: str) -> TimedMessage | None:
        return self._db.get(TimedMessage, message_id)

    def delete(self, message: TimedMessage) -> None:
        self._db.delete(message)

    def by_key(self, key: TimedKey, *, lock: bool = False) -> TimedMessage | None:
        stmt = select(TimedMessage).where(
            TimedMessage.member_id == key.member_id,
            TimedMessage.subject == key.subject,
            TimedMessage.kind == key.kind,
            TimedMessage.offset == key.offset,
        )
        if lock:
            stmt = stmt.with_for_update()
        return self._db.scalars(stmt).first()

    def of_subject(
        self,
        subject: str,
        *,
        kind: str | None = None,
        member_id: str | None = None,
        status: TimedStatus | None = None,
    ) -> Sequence[TimedMessage]:
        stmt = select(TimedMessage).where(TimedMessage.subject == subject)
        if kind is not None:
            stmt = stmt.where(TimedMessage.kind == kind)
        if member_id is not None:
            stmt = stmt.where(TimedMessage.member_id == member_id)
        if status is not None:
            stmt = stmt.where(TimedMessage.status == status)
        return self._db.scalars(stmt.order_by(TimedMessage.due_at, TimedMessage.id)).all()

    def of_member(self, member_id: str) -> Sequence[TimedMessage]:
        return self._db.scalars(select(TimedMessage).where(TimedMessage.member_id == member_id)).all()

    def claim_due(self, at: datetime, limit: int) -> Sequence[TimedMessage]:
        """Planned messages whose time has come, locked for this transaction. On PostgreSQL another instance's
        rows are skipped (FOR UPDATE SKIP LOCKED), so two instances never take the same one; SQLite ignores the
        clause and runs one instance (its single writer serializes these transactions anyway)."""
        return self._db.scalars(
            select(TimedMessage)
            .where(TimedMessage.status == TimedStatus.PLANNED, TimedMessage.due_at <= at)
            .order_by(TimedMessage.due_at, TimedMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()


class CommunityRemindersRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    def get(self, community_id: str, *, lock: bool = False) -> CommunityReminders | None:
        return self._db.get(CommunityReminders, community_id, with_for_update=lock or None)

    def add(self, settings: CommunityReminders) -> None:
        self._db.add(settings)
