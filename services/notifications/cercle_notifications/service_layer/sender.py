"""The sender loop: turns due deliveries into emails, one at a time, outside any consumer transaction.

Each delivery goes through two short transactions around the SMTP conversation:
1. claim it (status `sending`, attempts + 1, a lease) after checking consent and preferences;
2. record the outcome (`sent`, or `pending` again with back-off, or `failed`) with its
   EmailDeliveryRecorded event in the outbox.
A sender that dies between the two leaves a `sending` row whose lease runs out: it is sent again,
with the same Message-ID (derived from the delivery id), so that mail clients can tell it is the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from cercle_shared.contracts.notifications import EmailDeliveryRecorded

from ..adapters.smtp import PermanentFailure, build_message, message_id_for
from ..adapters.templates import EmailTemplates
from ..domain import model
from ..domain.when import format_span
from .unit_of_work import NotificationsUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SenderPolicy:
    mail_from: str
    max_attempts: int = 6
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0
    wait_timeout: float = 48 * 3600.0
    batch_size: int = 20
    poll_interval: float = 1.0
    lease: float = 60.0


@dataclass(frozen=True)
class _Claimed:
    message: EmailMessage
    recipient: str


def email_context(
    delivery: model.Delivery,
    contact: model.Contact,
    session: model.ScheduledSession,
    community: model.Community | None,
    language: str,
) -> dict:
    """Every variable a template may use (templates are strict: a missing one is an error)."""
    details = delivery.details
    previous_when = None
    if details.get("previous_starts_at"):
        previous_when = format_span(
            datetime.fromisoformat(details["previous_starts_at"]),
            datetime.fromisoformat(details["previous_ends_at"]),
            details.get("previous_timezone") or session.timezone,
            language,
        )
    return {
        "display_name": contact.display_name,
        "session_title": session.title,
        "community_name": community.name(language) if community else None,
        "when": format_span(session.starts_at, session.ends_at, session.timezone, language),
        "previous_when": previous_when,
        "mode": session.mode,
        "location": session.location,
        "position": details.get("position"),
        "reason": details.get("reason"),
    }


class DeliverySender:
    def __init__(
        self,
        uow_factory: Callable[[], NotificationsUnitOfWork],
        templates: EmailTemplates,
        mailer,
        policy: SenderPolicy,
        clock: Callable[[], datetime] = model.now,
    ) -> None:
        self._uow = uow_factory
        self._templates = templates
        self._mailer = mailer
        self._policy = policy
        self._clock = clock

    async def run(self) -> None:
        """Forever: send what is due, then wait a little. Cancelled at shutdown."""
        while True:
            try:
                handled = await asyncio.to_thread(self.run_once)
            except Exception:  # a database hiccup must not end the loop
                log.exception("sender: pass failed; trying again shortly")
                handled = 0
            if handled < self._policy.batch_size:
                await asyncio.sleep(self._policy.poll_interval)

    def run_once(self) -> int:
        """One pass: expire deliveries that waited too long, then try every due one. Returns how many were due."""
        self.expire_waiting()
        with self._uow() as uow:
            due = uow.deliveries.due_ids(self._clock(), self._policy.batch_size)
        for delivery_id in due:
            try:
                self.deliver(delivery_id)
            except Exception as exc:  # one bad delivery must not hold up the others
                log.exception("sender: delivery %s could not be processed", delivery_id)
                self._record_error(delivery_id, repr(exc))
        return len(due)

    def expire_waiting(self) -> int:
        at = self._clock()
        with self._uow() as uow:
            stale = uow.deliveries.waiting_since_before(at - timedelta(seconds=self._policy.wait_timeout))
            for delivery in stale:
                delivery.expire(at)
            uow.commit()
            return len(stale)

    def deliver(self, delivery_id: str) -> str | None:
        """Try to send one delivery; returns its status afterwards (None if it was not ours to send)."""
        claimed = self._claim(delivery_id)
        if not isinstance(claimed, _Claimed):
            return claimed
        try:
            self._mailer.send(claimed.message)
        except PermanentFailure as exc:
            return self._record_failure(delivery_id, str(exc), permanent=True)
        except Exception as exc:
            log.warning("sender: delivery %s attempt failed: %r", delivery_id, exc)
            return self._record_failure(delivery_id, repr(exc), permanent=False)
        return self._record_sent(delivery_id, claimed.recipient)

    def _claim(self, delivery_id: str) -> _Claimed | str | None:
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True, skip_locked=True)  # another sender has it: skip
            if delivery is None or delivery.status not in (model.PENDING, model.SENDING):
                return None
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > at:
                return None
            contact = uow.replicas.contact(delivery.member_id) if delivery.member_id else None
            session = uow.replicas.session(delivery.session_id) if delivery.session_id else None
            if contact is None or session is None:
                # The replica went away (or never came): wait for it again, within the expiry bound.
                delivery.reconsider(contact_known=contact is not None, session_known=session is not None, at=at)
                uow.commit()
                return delivery.status
            decision = model.decide(delivery.kind, contact, uow.preferences.get(contact.member_id), session)
            if not decision.send:
                delivery.skip(decision.reason or "", at, decision.language)
                uow.commit()
                return delivery.status
            community = uow.replicas.community(session.community_id)
            context = email_context(delivery, contact, session, community, decision.language)
            rendered = self._templates.render(delivery.kind, decision.language, context)
            message_id = message_id_for(delivery.id, self._policy.mail_from)
            message = build_message(
                rendered=rendered,
                mail_from=self._policy.mail_from,
                to_address=contact.email,
                to_name=contact.display_name,
                language=decision.language,
                message_id=message_id,
                date=at,
            )
            delivery.start_attempt(
                language=decision.language,
                message_id=message_id,
                at=at,
                lease=timedelta(seconds=self._policy.lease),
            )
            uow.commit()
            return _Claimed(message, contact.email)

    def _record_sent(self, delivery_id: str, recipient: str) -> str | None:
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True)
            if delivery is None:
                return None
            delivery.mark_sent(recipient, at)
            self._publish_outcome(uow, delivery, at)
            uow.commit()
            return delivery.status

    def _record_failure(self, delivery_id: str, error: str, *, permanent: bool) -> str | None:
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True)
            if delivery is None:
                return None
            if delivery.status != model.SENDING:
                # Erased (or otherwise settled) while we were talking to the server: keep that outcome.
                delivery.last_error = error[:2000]
            else:
                delivery.mark_attempt_failed(
                    error,
                    permanent=permanent,
                    max_attempts=self._policy.max_attempts,
                    retry_in=model.retry_delay(
                        delivery.attempts, self._policy.backoff_initial, self._policy.backoff_max
                    ),
                    at=at,
                )
                if delivery.status == model.FAILED:
                    self._publish_outcome(uow, delivery, at)
            uow.commit()
            return delivery.status

    def _record_error(self, delivery_id: str, error: str) -> None:
        """An unexpected error (not the SMTP server's answer) counts as a failed attempt, so it cannot loop forever."""
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True)
            if delivery is None or delivery.status not in (model.PENDING, model.SENDING):
                return
            if delivery.status == model.PENDING:
                delivery.attempts += 1  # the attempt never got as far as being claimed
            delivery.mark_attempt_failed(
                error,
                permanent=False,
                max_attempts=self._policy.max_attempts,
                retry_in=model.retry_delay(delivery.attempts, self._policy.backoff_initial, self._policy.backoff_max),
                at=at,
            )
            if delivery.status == model.FAILED:
                self._publish_outcome(uow, delivery, at)
            uow.commit()

    @staticmethod
    def _publish_outcome(uow: NotificationsUnitOfWork, delivery: model.Delivery, at: datetime) -> None:
        if delivery.member_id is None:
            return  # erased meanwhile: nothing to say about whom
        uow.publish(
            EmailDeliveryRecorded(
                delivery_id=delivery.id,
                member_id=delivery.member_id,
                kind=delivery.kind,
                language=delivery.language or model.DEFAULT_LANGUAGE,
                status=delivery.status,
                occurred_at=at,
                session_id=delivery.session_id,
            ),
            correlation_id=delivery.source_event_id,
        )
