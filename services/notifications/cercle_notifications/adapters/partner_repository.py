"""Repositories of partner subscriptions: the only place that queries their tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from cercle_shared.db.keyset import Keyset

from ..domain.partners import (
    Attempt,
    AttemptOutcome,
    CommunityRegions,
    Endpoint,
    Grant,
    Message,
    MessageStatus,
    PartnerEvent,
    PartnerNotice,
)


def _messages_keyset() -> Keyset:  # built on use: the classes are mapped at start-up
    return Keyset(Message.created_at, Message.id, descending=True)  # type: ignore[arg-type]


def _attempts_keyset() -> Keyset:
    return Keyset(Attempt.attempted_at, Attempt.id)  # type: ignore[arg-type]


class PartnerRepositories:
    """Grants, endpoints, events, messages, attempts and notices of partner organizations."""

    def __init__(self, db: Session) -> None:
        self._db = db

    def add(self, aggregate: object) -> None:
        self._db.add(aggregate)

    def delete(self, aggregate: object) -> None:
        self._db.delete(aggregate)

    def flush(self) -> None:
        self._db.flush()

    # --- grants and endpoints ---------------------------------------------------------------------------------

    def grant(self, organization_id: str) -> Grant | None:
        return self._db.get(Grant, organization_id)

    def grants(self) -> Sequence[Grant]:
        return self._db.scalars(select(Grant).order_by(Grant.organization_id)).all()

    def endpoint(self, endpoint_id: str, *, lock: bool = False) -> Endpoint | None:
        if lock:
            return self._db.get(Endpoint, endpoint_id, with_for_update=True, populate_existing=True)
        return self._db.get(Endpoint, endpoint_id)

    def endpoints_of(self, organization_id: str) -> Sequence[Endpoint]:
        return self._db.scalars(
            select(Endpoint)
            .where(Endpoint.organization_id == organization_id)
            .order_by(Endpoint.created_at, Endpoint.id)  # type: ignore[arg-type]
        ).all()

    def enabled_endpoints(self) -> Sequence[Endpoint]:
        return self._db.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))).all()  # type: ignore[attr-defined]

    # --- the event store (pull feed) --------------------------------------------------------------------------

    def event(self, event_id: str) -> PartnerEvent | None:
        return self._db.scalars(select(PartnerEvent).where(PartnerEvent.event_id == event_id)).first()

    def events_after(self, seq: int, limit: int, event_types: Sequence[str] | None = None) -> Sequence[PartnerEvent]:
        stmt = select(PartnerEvent).where(PartnerEvent.seq > seq)  # type: ignore[operator]
        if event_types is not None:
            stmt = stmt.where(PartnerEvent.event_type.in_(event_types))  # type: ignore[attr-defined]
        return self._db.scalars(stmt.order_by(PartnerEvent.seq).limit(limit)).all()  # type: ignore[arg-type]

    def community_regions(self, community_id: str) -> CommunityRegions | None:
        return self._db.get(CommunityRegions, community_id)

    # --- messages and attempts --------------------------------------------------------------------------------

    def message(self, message_id: str, *, lock: bool = False) -> Message | None:
        if lock:
            return self._db.get(Message, message_id, with_for_update=True, populate_existing=True)
        return self._db.get(Message, message_id)

    def message_for(self, endpoint_id: str, event_id: str) -> Message | None:
        return self._db.scalars(
            select(Message).where(Message.endpoint_id == endpoint_id, Message.event_id == event_id)
        ).first()

    def _due(self, at: datetime) -> ColumnElement[bool]:
        """Pending messages whose time has come, and claimed ones whose sender's lease ran out (it died)."""
        return or_(
            (Message.status == MessageStatus.PENDING) & (Message.next_attempt_at <= at),  # type: ignore[operator]
            (Message.status == MessageStatus.SENDING) & (Message.claimed_until <= at),  # type: ignore[operator]
        )

    def due_endpoints(self, at: datetime, limit: int) -> list[str]:
        """Endpoints with a message due (no lock: each is then claimed on its own)."""
        return list(self._db.scalars(select(Message.endpoint_id).where(self._due(at)).distinct().limit(limit)).all())

    def claim_due(self, at: datetime, endpoint_id: str, limit: int) -> Sequence[Message]:
        """Due messages of one endpoint, locked with FOR UPDATE SKIP LOCKED (PostgreSQL): two instances never take
        the same one."""
        stmt = (
            select(Message)
            .where(Message.endpoint_id == endpoint_id, self._due(at))
            .order_by(Message.next_attempt_at, Message.id)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self._db.scalars(stmt).all()

    def unfinished_of_endpoint(self, endpoint_id: str) -> Sequence[Message]:
        return self._db.scalars(
            select(Message).where(
                Message.endpoint_id == endpoint_id,
                Message.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)),  # type: ignore[attr-defined]
            )
        ).all()

    def unfinished_of_organization(self, organization_id: str) -> Sequence[Message]:
        return self._db.scalars(
            select(Message).where(
                Message.organization_id == organization_id,
                Message.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)),  # type: ignore[attr-defined]
            )
        ).all()

    def messages_since(self, endpoint_id: str, since: datetime) -> Sequence[Message]:
        return self._db.scalars(
            select(Message)
            .where(Message.endpoint_id == endpoint_id, Message.created_at >= since)  # type: ignore[operator]
            .order_by(Message.created_at, Message.id)  # type: ignore[arg-type]
        ).all()

    def messages_page(
        self,
        endpoint_id: str,
        *,
        status: MessageStatus | None,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Message], str | None]:
        stmt: Select[tuple[Message]] = select(Message).where(Message.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(Message.status == status)
        if since is not None:
            stmt = stmt.where(Message.created_at >= since)  # type: ignore[operator]
        if until is not None:
            stmt = stmt.where(Message.created_at < until)  # type: ignore[operator]
        return _messages_keyset().page(self._db, stmt, cursor=cursor, limit=limit)

    def attempts_page(self, message_id: str, *, cursor: str | None, limit: int) -> tuple[Sequence[Attempt], str | None]:
        stmt: Select[tuple[Attempt]] = select(Attempt).where(Attempt.message_id == message_id)
        return _attempts_keyset().page(self._db, stmt, cursor=cursor, limit=limit)

    def attempts_of(self, message_id: str) -> Sequence[Attempt]:
        return self._db.scalars(
            select(Attempt).where(Attempt.message_id == message_id).order_by(Attempt.attempted_at, Attempt.id)  # type: ignore[arg-type]
        ).all()

    def counts(self, endpoint_id: str) -> dict[str, int]:
        rows = self._db.execute(
            select(Message.status, func.count()).where(Message.endpoint_id == endpoint_id).group_by(Message.status)
        ).all()
        return {str(status): int(count) for status, count in rows}

    def latencies(self, endpoint_id: str, limit: int = 1000) -> list[float]:
        """Latencies (ms) of the endpoint's latest successful attempts."""
        return [
            float(v)
            for v in self._db.scalars(
                select(Attempt.latency_ms)
                .where(Attempt.endpoint_id == endpoint_id, Attempt.outcome == AttemptOutcome.SUCCESS)
                .order_by(Attempt.attempted_at.desc())  # type: ignore[attr-defined]
                .limit(limit)
            ).all()
            if v is not None
        ]

    def last_success(self, endpoint_id: str) -> datetime | None:
        value: datetime | None = self._db.scalar(
            select(func.max(Attempt.attempted_at)).where(
                Attempt.endpoint_id == endpoint_id, Attempt.outcome == AttemptOutcome.SUCCESS
            )
        )
        return value

    # --- notices ----------------------------------------------------------------------------------------------

    def unsent_notices(self, limit: int) -> Sequence[PartnerNotice]:
        return self._db.scalars(
            select(PartnerNotice)
            .where(PartnerNotice.sent_at.is_(None), PartnerNotice.attempts < 10)  # type: ignore[union-attr,operator]
            .order_by(PartnerNotice.created_at)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
