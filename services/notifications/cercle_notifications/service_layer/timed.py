"""The timed-message scheduler: plan an email for a moment, move it, cancel it; hand due ones to the sending
pipeline, exactly once.

Planning (from reactions or use cases, inside their unit of work):

    timed.plan(uow, TimedKey(member_id, subject="session:…", kind=EmailKind.SESSION_REMINDER, offset="P1D"),
               due_at=…, not_after=session.starts_at, payload={…}, session_id=session.session_id, at=now)
    timed.cancel(uow, subject, kind=EmailKind.SESSION_REMINDER)       # every planned one of that subject and kind

Planning a key again moves its one row (an event delivered twice changes nothing). A due message becomes a
Delivery (source `timed:<id>:<generation>`, kind = the message's kind, details = its payload and not_after), which
the send-emails job sends like any other: consent, preferences, retries, Message-ID, delivery outcomes. The
"hand-over-timed-messages" job (entrypoints/jobs.py) runs `hand_over_due`: one transaction claims a batch of due
rows (FOR UPDATE SKIP LOCKED on PostgreSQL), turns each into its delivery (or skips it: too late, not wanted) and
commits both, so a crash before the commit hands nothing over and one after it hands over once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import model
from ..domain.model import EmailKind
from ..domain.timed import TimedKey, TimedMessage, TimedSkipReason, TimedStatus
from .unit_of_work import NotificationsUnitOfWork

log = logging.getLogger(__name__)

__all__ = ["TimedKey", "TimedMessage", "TimedStatus", "cancel", "hand_over_due", "plan", "planned", "replan"]


def plan(
    uow: NotificationsUnitOfWork,
    key: TimedKey,
    *,
    due_at: datetime,
    not_after: datetime | None = None,
    payload: dict[str, Any] | None = None,
    session_id: str | None = None,
    at: datetime | None = None,
) -> TimedMessage:
    """Plan the message of `key` for `due_at` (or move it there). `not_after`: past that moment it is skipped, not
    sent. `payload`: what its email needs beyond the replicas (JSON values), available to its composer in
    `Delivery.details`. `session_id`: the session it is about, if any (then the session's replica must exist and
    a cancelled session silences it). Does not commit."""
    at = at or model.now()
    payload = dict(payload or {})
    existing = uow.timed.by_key(key, lock=True)
    if existing is None:
        message = TimedMessage.plan(
            key, due_at=due_at, not_after=not_after, payload=payload, session_id=session_id, at=at
        )
        uow.timed.add(message)
        return message
    existing.session_id = session_id
    existing.replan(due_at=due_at, not_after=not_after, payload=payload, at=at)
    return existing


def replan(
    uow: NotificationsUnitOfWork,
    key: TimedKey,
    *,
    due_at: datetime,
    not_after: datetime | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimedMessage | None:
    """Move an existing message (keeping its payload unless one is given); None when none was planned."""
    existing = uow.timed.by_key(key, lock=True)
    if existing is None:
        return None
    existing.replan(
        due_at=due_at,
        not_after=not_after,
        payload=existing.payload if payload is None else payload,
        at=at or model.now(),
    )
    return existing


def cancel(
    uow: NotificationsUnitOfWork,
    subject: str,
    *,
    kind: str | None = None,
    member_id: str | None = None,
    why: str | None = None,
    at: datetime | None = None,
) -> int:
    """Cancel every still-planned message of `subject` (of one kind, of one member). Returns how many."""
    at = at or model.now()
    return sum(
        message.cancel(at, why)
        for message in uow.timed.of_subject(subject, kind=kind, member_id=member_id, status=TimedStatus.PLANNED)
    )


def planned(
    uow: NotificationsUnitOfWork, subject: str, *, kind: str | None = None, member_id: str | None = None
) -> Sequence[TimedMessage]:
    return uow.timed.of_subject(subject, kind=kind, member_id=member_id, status=TimedStatus.PLANNED)


# --- the job ---------------------------------------------------------------------------------------------------


def wanted(preferences: model.Preferences | None, kind: str) -> bool:
    """Whether the member's preferences let this kind of timed message through (consent is checked at sending).

    Her per-kind opt-outs, and the category of the kind (reminders, announcements, digest) she may have stopped."""
    if preferences is None:
        return True
    category = model.category_of(kind)
    return kind not in preferences.opt_out and (category is None or preferences.wants(category))


@dataclass(frozen=True)
class HandOver:
    handed_over: int = 0
    skipped: int = 0

    @property
    def due(self) -> int:
        return self.handed_over + self.skipped


def hand_over_due(uow: NotificationsUnitOfWork, at: datetime, limit: int) -> HandOver:
    """One batch: claim due messages, hand each to the sending pipeline as a delivery, or skip it; one commit."""
    handed, skipped = 0, 0
    with uow:
        for message in uow.timed.claim_due(at, limit):
            reason = _why_not(uow, message, at)
            if reason is not None:
                message.skip(reason, at)
                skipped += 1
                continue
            delivery = uow.deliveries.by_source(message.source_id, EmailKind(message.kind), message.member_id)
            if delivery is None:
                delivery = model.Delivery.create(
                    source_event_id=message.source_id,
                    kind=EmailKind(message.kind),
                    member_id=message.member_id,
                    session_id=message.session_id,
                    details={
                        **message.payload,
                        "timed_message_id": message.id,
                        "offset": message.offset,
                        "not_after": message.not_after.isoformat() if message.not_after else None,
                    },
                    contact_known=uow.contacts.get(message.member_id) is not None,
                    session_known=message.session_id is None or uow.sessions.get(message.session_id) is not None,
                    at=at,
                )
                uow.deliveries.add(delivery)
            message.hand_over(delivery.id, at)
            handed += 1
        uow.commit()
    return HandOver(handed, skipped)


def _why_not(uow: NotificationsUnitOfWork, message: TimedMessage, at: datetime) -> TimedSkipReason | None:
    if message.kind not in EmailKind.__members__.values():
        return TimedSkipReason.UNKNOWN_KIND
    if message.too_late(at):
        return TimedSkipReason.TOO_LATE
    if message.member_id in uow.erased_members:
        return TimedSkipReason.MEMBER_ERASED
    if not wanted(uow.preferences.get(message.member_id), message.kind):
        return TimedSkipReason.NOT_WANTED
    return None


class TimedDispatcher:
    """The job's work: batches until nothing is due (bounded), each batch in its own transaction."""

    def __init__(
        self,
        uow: Callable[[], NotificationsUnitOfWork],
        clock: Callable[[], datetime] = model.now,
        batch_size: int = 200,
        max_batches: int = 50,
    ) -> None:
        self._uow, self._clock = uow, clock
        self._batch_size, self._max_batches = batch_size, max_batches
        self._checked_database = False

    def run(self) -> HandOver:
        if not self._checked_database:
            self._checked_database = True
            with self._uow() as uow:
                if uow.db.get_bind().dialect.name == "sqlite":
                    log.warning(
                        "timed messages on SQLite: run ONE instance of notifications (SQLite has no FOR UPDATE SKIP "
                        "LOCKED; use PostgreSQL for more)"
                    )
        total = HandOver()
        for _ in range(self._max_batches):
            result = hand_over_due(self._uow(), self._clock(), self._batch_size)
            total = HandOver(total.handed_over + result.handed_over, total.skipped + result.skipped)
            if result.due < self._batch_size:
                break
        return total
