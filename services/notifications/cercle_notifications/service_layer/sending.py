"""Sending: one round turns due deliveries into emails, one at a time, outside any consumer transaction.

The "send-emails" job (entrypoints/jobs.py) runs `DeliverySender.send_due` every few seconds.
Each delivery goes through two short transactions around the SMTP conversation:
1. claim it (status `sending`, attempts + 1, a lease) after checking consent and preferences;
2. record the outcome (`sent`, or `pending` again with back-off, or `failed`); the Delivery records
   EmailDeliveryRecorded, which the unit of work publishes in that same transaction.
A sender that dies between the two leaves a `sending` row whose lease runs out: it is sent again,
with the same Message-ID (derived from the delivery id), so that mail clients can tell it is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from cercle_shared.text import one_line

from ..adapters.smtp import Attachment, PermanentFailure, build_message, message_id_for
from ..adapters.templates import EmailTemplates
from ..domain import model
from ..domain.model import DeliveryStatus
from ..domain.when import format_span
from .unit_of_work import NotificationsUnitOfWork
from .unsubscribe import UnsubscribeLinks

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Raises PermanentFailure when retrying cannot help; any other exception is worth a retry."""


@dataclass(frozen=True)
class SendingPolicy:
    mail_from: str
    max_attempts: int = 6
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0
    wait_timeout: float = 48 * 3600.0
    batch_size: int = 20
    lease: float = 60.0

    @property
    def retry(self) -> model.RetryPolicy:
        return model.RetryPolicy(self.max_attempts, self.backoff_initial, self.backoff_max)


@dataclass(frozen=True)
class Claimed:
    """A delivery this sender may now send: its message, built and addressed."""

    message: EmailMessage
    recipient: str


def email_context(
    delivery: model.Delivery,
    contact: model.Contact,
    session: model.ScheduledSession,
    community: model.Community | None,
    language: str,
) -> dict[str, Any]:
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
    # Names, titles and places are single-line by nature: whatever was stored, they are written on one line.
    return {
        "display_name": one_line(contact.display_name),
        "session_title": one_line(session.title),
        "community_name": one_line(community.name(language)) if community else None,
        "when": format_span(session.starts_at, session.ends_at, session.timezone, language),
        "previous_when": previous_when,
        "mode": session.mode,
        "location": one_line(session.location) if session.location else None,
        "position": details.get("position"),
        "reason": details.get("reason"),
    }


@dataclass(frozen=True)
class Draft:
    """What an email is made from, for a kind whose email needs more than `email_context` (a Composer)."""

    uow: NotificationsUnitOfWork
    delivery: model.Delivery
    contact: model.Contact
    session: model.ScheduledSession | None
    community: model.Community | None
    language: str
    at: datetime
    mail_from: str


@dataclass(frozen=True)
class Composed:
    context: dict[str, Any]
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


Composer = Callable[[Draft], Composed]


def compose_default(draft: Draft) -> Composed:
    if draft.session is None:
        raise ValueError(f"a {draft.delivery.kind} email is about a session, and it has none")
    return Composed(email_context(draft.delivery, draft.contact, draft.session, draft.community, draft.language))


class DeliverySender:
    """What a sending round needs: units of work, templates, a mailer, the policy and a clock."""

    def __init__(
        self,
        uow: Callable[[], NotificationsUnitOfWork],
        templates: EmailTemplates,
        mailer: Mailer,
        policy: SendingPolicy,
        clock: Callable[[], datetime] = model.now,
        composers: Mapping[str, Composer] | None = None,
        unsubscribe: UnsubscribeLinks | None = None,
    ) -> None:
        self._uow = uow
        self._templates = templates
        self._mailer = mailer
        self._policy = policy
        self._clock = clock
        self._composers = dict(composers or {})  # per kind; others: compose_default
        self._unsubscribe = unsubscribe  # signs the one-click link of every non-transactional email

    def send_due(self) -> int:
        """One round: expire deliveries that waited too long, then try every due one. Returns how many were due."""
        self.expire_waiting()
        with self._uow() as uow:
            due = uow.deliveries.due_ids(self._clock(), self._policy.batch_size)
        for delivery_id in due:
            try:
                self.deliver(delivery_id)
            except Exception as exc:  # one bad delivery must not hold up the others
                log.exception("sender: delivery %s could not be processed", delivery_id)
                self._count_as_broken(delivery_id, repr(exc))
        return len(due)

    def expire_waiting(self) -> int:
        at = self._clock()
        with self._uow() as uow:
            stale = uow.deliveries.waiting_since_before(at - timedelta(seconds=self._policy.wait_timeout))
            for delivery in stale:
                delivery.expire(at)
            uow.commit()
            return len(stale)

    def deliver(self, delivery_id: str) -> DeliveryStatus | None:
        """Try to send one delivery; returns its status afterwards (None if it was not ours to send)."""
        claimed = self.claim(delivery_id)
        if not isinstance(claimed, Claimed):
            return claimed
        retry = self._policy.retry
        try:
            self._mailer.send(claimed.message)
        except PermanentFailure as exc:
            error = str(exc)
            return self._settle(
                delivery_id, lambda d, at: d.mark_attempt_failed(error, permanent=True, retry=retry, at=at)
            )
        except Exception as exc:
            log.warning(
                "sender: delivery %s attempt failed: %s", delivery_id, type(exc).__name__
            )  # may quote the address
            error = repr(exc)
            return self._settle(
                delivery_id, lambda d, at: d.mark_attempt_failed(error, permanent=False, retry=retry, at=at)
            )
        return self._settle(delivery_id, lambda d, at: d.mark_sent(claimed.recipient, at))

    def claim(self, delivery_id: str) -> Claimed | DeliveryStatus | None:
        """Claim a due delivery and build its email; or settle it (waiting, skipped) when it cannot be sent now."""
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True, skip_locked=True)  # another sender has it: skip
            if delivery is None or not delivery.is_due(at):
                return None
            if delivery.past_its_moment(at):  # a timed message that came too late (a reminder after the start)
                delivery.skip(model.SkipReason.TOO_LATE, at)
                uow.commit()
                return delivery.status
            contact = uow.contacts.get(delivery.member_id) if delivery.member_id else None
            session = uow.sessions.get(delivery.session_id) if delivery.session_id else None
            if contact is None or (delivery.session_id is not None and session is None):
                # The replica went away (or never came): wait for it again, within the expiry bound.
                delivery.reconsider(
                    contact_known=contact is not None,
                    session_known=delivery.session_id is None or session is not None,
                    at=at,
                )
                uow.commit()
                return delivery.status
            decision = model.decide(delivery.kind, contact, uow.preferences.get(contact.member_id), session)
            if decision.reason is not None:  # not to be sent
                delivery.skip(decision.reason, at, decision.language)
                uow.commit()
                return delivery.status
            community = uow.communities.get(session.community_id) if session is not None else None
            message_id = message_id_for(delivery.id, self._policy.mail_from)
            try:
                compose = self._composers.get(delivery.kind, compose_default)
                draft = Draft(uow, delivery, contact, session, community, decision.language, at, self._policy.mail_from)
                composed = compose(draft)
                category = model.category_of(delivery.kind)
                links = self._unsubscribe if category is not None and delivery.member_id else None
                rendered = self._templates.render(
                    delivery.kind,
                    decision.language,
                    composed.context,
                    unsubscribe_url=links.url(contact.member_id, category) if links and category else None,
                )
                message = build_message(
                    rendered=rendered,
                    mail_from=self._policy.mail_from,
                    to_address=contact.email,
                    to_name=contact.display_name,
                    language=decision.language,
                    message_id=message_id,
                    date=at,
                    attachments=composed.attachments,
                    headers=links.headers(contact.member_id, category) if links and category else None,
                )
            except Exception as exc:  # pure work on stored values: what fails now fails at every retry
                log.warning("sender: delivery %s cannot be built: %s", delivery_id, type(exc).__name__)
                delivery.give_up(f"the email cannot be built: {type(exc).__name__}: {exc}", at)
                uow.commit()
                return delivery.status
            delivery.start_attempt(
                language=decision.language, message_id=message_id, at=at, lease=timedelta(seconds=self._policy.lease)
            )
            uow.commit()
            return Claimed(message, contact.email)

    def _count_as_broken(self, delivery_id: str, error: str) -> None:
        self._settle(delivery_id, lambda d, at: d.mark_broken(error, retry=self._policy.retry, at=at))

    def _settle(self, delivery_id: str, outcome: Callable[[model.Delivery, datetime], None]) -> DeliveryStatus | None:
        """Apply an attempt's outcome to the delivery, locked, in a transaction of its own."""
        at = self._clock()
        with self._uow() as uow:
            delivery = uow.deliveries.get(delivery_id, lock=True)
            if delivery is None:
                return None
            uow.correlation_id = delivery.source_event_id  # an outcome follows from the event that owed the email
            outcome(delivery, at)
            uow.commit()
            return delivery.status
