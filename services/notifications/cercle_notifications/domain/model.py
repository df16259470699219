"""Contacts, sessions, preferences and deliveries: the rules, with no framework in sight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cercle_shared.errors import InvalidInput

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

CONFIRMED = "session_registration_confirmed"
WAITLISTED = "session_registration_waitlisted"
PROMOTED = "session_registration_promoted"
REGISTRATION_CANCELLED = "session_registration_cancelled"
RESCHEDULED = "session_rescheduled"
SESSION_CANCELLED = "session_cancelled"
KINDS = (CONFIRMED, WAITLISTED, PROMOTED, REGISTRATION_CANCELLED, RESCHEDULED, SESSION_CANCELLED)

# Delivery statuses. Final: sent, skipped, failed, expired.
WAITING_CONTACT = "waiting_contact"
WAITING_SESSION = "waiting_session"
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"
EXPIRED = "expired"
STATUSES = (WAITING_CONTACT, WAITING_SESSION, PENDING, SENDING, SENT, SKIPPED, FAILED, EXPIRED)
UNSENT = (WAITING_CONTACT, WAITING_SESSION, PENDING, SENDING)
WAITING = (WAITING_CONTACT, WAITING_SESSION)

# Why a delivery was skipped.
NO_EMAIL_CONSENT = "no_email_consent"
OPTED_OUT = "opted_out"
CONTACT_REMOVED = "contact_removed"
MEMBER_ERASED = "member_erased"
SESSION_WAS_CANCELLED = "session_cancelled"

# Registration replica statuses; members with an active registration hear about changes to the session.
REGISTERED, WAITLIST, CANCELLED = "confirmed", "waitlisted", "cancelled"
ACTIVE_REGISTRATION = (REGISTERED, WAITLIST)


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Contact:
    """The replica of a member's contact data (from registration's internal contacts topic)."""

    member_id: str
    email: str
    display_name: str
    language: str
    consents: dict[str, bool]
    updated_at: datetime

    def accepts_email(self) -> bool:
        # Law 25: no recorded consent means no consent.
        return bool(self.consents.get("email", False))

    def replace_with(self, newer: Contact) -> bool:
        """Take the newer data; an older update arriving late changes nothing."""
        if newer.updated_at < self.updated_at:
            return False
        self.email, self.display_name = newer.email, newer.display_name
        self.language, self.consents, self.updated_at = newer.language, dict(newer.consents), newer.updated_at
        return True


@dataclass(eq=False)
class ScheduledSession:
    """The replica of a session, as much as an email needs."""

    session_id: str
    community_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    location: str | None
    cancelled: bool = False

    def differs_for_attendees(
        self, *, starts_at: datetime, ends_at: datetime, timezone: str, mode: str, location: str | None
    ) -> bool:
        """Whether a change matters to the people coming (a new capacity does not)."""
        return (self.starts_at, self.ends_at, self.timezone, self.mode, self.location) != (
            starts_at,
            ends_at,
            timezone,
            mode,
            location,
        )


@dataclass(eq=False)
class Registration:
    """Who is registered to which session, so that they can be told when the session changes."""

    registration_id: str
    session_id: str
    member_id: str
    status: str


@dataclass(eq=False)
class Community:
    community_id: str
    name_fr: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_fr


@dataclass(eq=False)
class Preferences:
    """What a member chose: a language for emails (overriding their profile's) and the kinds they do not want."""

    member_id: str
    language: str | None = None
    opt_out: list[str] = field(default_factory=list)
    updated_at: datetime = field(default_factory=now)
    version: int = 1

    def change(self, *, language: str | None, opt_out: list[str]) -> None:
        if language is not None and language not in LANGUAGES:
            raise InvalidInput(f"language must be one of {LANGUAGES}", field="language")
        unknown = sorted(set(opt_out) - set(KINDS))
        if unknown:
            raise InvalidInput(f"unknown kinds {unknown}; known: {list(KINDS)}", field="opt_out")
        self.language = language
        self.opt_out = sorted(set(opt_out))
        self.updated_at = now()


@dataclass(frozen=True)
class Decision:
    send: bool
    language: str
    reason: str | None = None


def decide(
    kind: str, contact: Contact, preferences: Preferences | None, session: ScheduledSession | None = None
) -> Decision:
    """Whether to send, and in which language: consent first, then the member's opt-outs.

    Once a session is cancelled, only the cancellation itself is still worth sending about it.
    """
    language = (preferences.language if preferences else None) or contact.language
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    if session is not None and session.cancelled and kind != SESSION_CANCELLED:
        return Decision(False, language, SESSION_WAS_CANCELLED)
    if not contact.accepts_email():
        return Decision(False, language, NO_EMAIL_CONSENT)
    if preferences is not None and kind in preferences.opt_out:
        return Decision(False, language, OPTED_OUT)
    return Decision(True, language)


def retry_delay(attempts: int, initial: float, maximum: float) -> timedelta:
    """Exponential back-off after the n-th failed attempt (n >= 1)."""
    return timedelta(seconds=min(maximum, initial * 2 ** (attempts - 1)))


@dataclass(eq=False)
class Delivery:
    """One email owed to a member because of one event; its life from waiting to sent (or not)."""

    id: str
    source_event_id: str
    kind: str
    member_id: str | None
    session_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    details: dict = field(default_factory=dict)
    reason: str | None = None
    language: str | None = None
    recipient: str | None = None
    message_id: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    anonymized: bool = False

    @classmethod
    def record(
        cls,
        *,
        source_event_id: str,
        kind: str,
        member_id: str,
        session_id: str,
        details: dict,
        contact_known: bool,
        session_known: bool,
        at: datetime | None = None,
    ) -> Delivery:
        at = at or now()
        delivery = cls(
            id=new_id(),
            source_event_id=source_event_id,
            kind=kind,
            member_id=member_id,
            session_id=session_id,
            status=PENDING,
            created_at=at,
            updated_at=at,
            details=dict(details),
            next_attempt_at=at,
        )
        delivery.reconsider(contact_known=contact_known, session_known=session_known, at=at)
        return delivery

    @property
    def final(self) -> bool:
        return self.status not in UNSENT

    def reconsider(self, *, contact_known: bool, session_known: bool, at: datetime | None = None) -> None:
        """A waiting (or pending) delivery moves on once what it needs is known."""
        if self.status not in UNSENT:
            return
        status = WAITING_CONTACT if not contact_known else WAITING_SESSION if not session_known else PENDING
        if status != self.status:
            self.status = status
            self.next_attempt_at = at or now()
            self.updated_at = at or now()

    def expire(self, at: datetime) -> None:
        self.status, self.next_attempt_at, self.updated_at = EXPIRED, None, at

    def skip(self, reason: str, at: datetime, language: str | None = None) -> None:
        self.status, self.reason, self.next_attempt_at, self.updated_at = SKIPPED, reason, None, at
        self.language = language or self.language

    def start_attempt(self, *, language: str, message_id: str, at: datetime, lease: timedelta) -> None:
        """Claimed for sending; if the sender dies mid-way the lease runs out and the delivery is due again."""
        self.status, self.language, self.message_id = SENDING, language, message_id
        self.attempts += 1
        self.next_attempt_at = at + lease
        self.updated_at = at

    def mark_sent(self, recipient: str, at: datetime) -> None:
        self.status, self.sent_at, self.next_attempt_at, self.updated_at = SENT, at, None, at
        self.reason, self.last_error = None, None
        if not self.anonymized:
            self.recipient = recipient

    def mark_attempt_failed(
        self, error: str, *, permanent: bool, max_attempts: int, retry_in: timedelta, at: datetime
    ) -> None:
        self.last_error = error[:2000]
        self.updated_at = at
        if permanent or self.attempts >= max_attempts:
            self.status, self.next_attempt_at = FAILED, None
        else:
            self.status, self.next_attempt_at = PENDING, at + retry_in

    def anonymize(self, at: datetime) -> None:
        """Erasure: keep what happened (kind, status, counts), lose whom it was for."""
        if not self.final:
            self.skip(MEMBER_ERASED, at)
        self.member_id = None
        self.recipient = None
        self.anonymized = True
        self.updated_at = at
