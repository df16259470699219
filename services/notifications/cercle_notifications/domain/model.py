"""Contacts, sessions, preferences and deliveries: the rules, with no framework in sight.

Every root the service loads by its id is an Aggregate; Delivery and Preferences record what happens to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cercle_shared.domain import Aggregate
from cercle_shared.errors import InvalidInput

from . import events

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


class EmailKind(StrEnum):
    """Which email: one template set per kind (templates/<language>/<kind>.*.j2)."""

    REGISTRATION_CONFIRMED = "session_registration_confirmed"
    REGISTRATION_WAITLISTED = "session_registration_waitlisted"
    REGISTRATION_PROMOTED = "session_registration_promoted"
    REGISTRATION_CANCELLED = "session_registration_cancelled"
    SESSION_RESCHEDULED = "session_rescheduled"
    SESSION_CANCELLED = "session_cancelled"
    SIGN_IN_LINK = "sign_in_link"
    ANNOUNCEMENT_SESSION_SCHEDULED = "announcement_session_scheduled"
    ANNOUNCEMENT_CALL_FOR_THEMES = "announcement_call_for_themes"
    ANNOUNCEMENT_VOTE_OPENED = "announcement_vote_opened"
    ANNOUNCEMENT_VOTE_CLOSING = "announcement_vote_closing"
    ANNOUNCEMENT_THEMES_RETAINED = "announcement_themes_retained"
    WEEKLY_DIGEST = "weekly_digest"
    # timed messages about a session (service_layer/reminders.py)
    SESSION_REMINDER = "session_reminder"
    FACILITATOR_BRIEF = "facilitator_brief"
    # on insights' behalf (service_layer/insights_messages.py)
    SURVEY_INVITATION = "survey_invitation"
    SURVEY_REMINDER = "survey_reminder"
    ACTION_PLAN_NUDGE = "action_plan_nudge"
    COMMUNITY_HEALTH_ALERT = "community_health_alert"


class Category(StrEnum):
    """What a member can stop in one click (List-Unsubscribe). Transactional messages (her own registration, the
    sign-in link she asked for) belong to no category: they are sent whatever she chose here."""

    REMINDERS = "reminders"
    ANNOUNCEMENTS = "announcements"
    DIGEST = "digest"
    SURVEYS = "surveys"
    ACTION_PLANS = "action_plans"
    COORDINATION = "coordination"


# The category of every non-transactional kind; a kind absent from here is transactional.
CATEGORY_OF: dict[str, Category] = {
    EmailKind.ANNOUNCEMENT_SESSION_SCHEDULED: Category.ANNOUNCEMENTS,
    EmailKind.ANNOUNCEMENT_CALL_FOR_THEMES: Category.ANNOUNCEMENTS,
    EmailKind.ANNOUNCEMENT_VOTE_OPENED: Category.ANNOUNCEMENTS,
    EmailKind.ANNOUNCEMENT_VOTE_CLOSING: Category.ANNOUNCEMENTS,
    EmailKind.ANNOUNCEMENT_THEMES_RETAINED: Category.ANNOUNCEMENTS,
    EmailKind.WEEKLY_DIGEST: Category.DIGEST,
    EmailKind.SESSION_REMINDER: Category.REMINDERS,
    EmailKind.FACILITATOR_BRIEF: Category.REMINDERS,
    EmailKind.SURVEY_INVITATION: Category.SURVEYS,
    EmailKind.SURVEY_REMINDER: Category.SURVEYS,
    EmailKind.ACTION_PLAN_NUDGE: Category.ACTION_PLANS,
    EmailKind.COMMUNITY_HEALTH_ALERT: Category.COORDINATION,
}


def category_of(kind: str) -> Category | None:
    """None: transactional (sent whatever the categories she stopped)."""
    return CATEGORY_OF.get(kind)


# Transactional kinds she asked for herself: sent whatever her opt-outs (consent still applies).
ALWAYS_SENT = frozenset({EmailKind.SIGN_IN_LINK})
# Values in Delivery.details that are secrets (a sign-in link and code): dropped once the delivery is settled.
SECRET_DETAILS = ("link", "code")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_DIGEST_DAY = "monday"


class DeliveryStatus(StrEnum):
    """Where a delivery is in its life. Final: sent, skipped, failed, expired."""

    WAITING_CONTACT = "waiting_contact"
    WAITING_SESSION = "waiting_session"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    EXPIRED = "expired"


UNSENT = (
    DeliveryStatus.WAITING_CONTACT,
    DeliveryStatus.WAITING_SESSION,
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
)
WAITING = (DeliveryStatus.WAITING_CONTACT, DeliveryStatus.WAITING_SESSION)
CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)  # sending: its sender's lease may have run out


class SkipReason(StrEnum):
    """Why a delivery was skipped."""

    NO_EMAIL_CONSENT = "no_email_consent"
    OPTED_OUT = "opted_out"
    CONTACT_REMOVED = "contact_removed"
    MEMBER_ERASED = "member_erased"
    SESSION_CANCELLED = "session_cancelled"
    TOO_LATE = "too_late"  # a timed message whose moment passed before it could go (see Delivery.details["not_after"])


class RegistrationStatus(StrEnum):
    """A registration as the sessions service last announced it."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


# Members with an active registration hear about changes to the session.
ACTIVE_REGISTRATION = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Contact(Aggregate):
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
class ScheduledSession(Aggregate):
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
    sequence: int = 0  # iCalendar SEQUENCE, as the sessions service numbers it (raised on reschedule and cancel)

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

    def update(
        self,
        *,
        community_id: str,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        timezone: str,
        mode: str,
        location: str | None,
    ) -> None:
        self.community_id, self.title = community_id, title
        self.starts_at, self.ends_at, self.timezone = starts_at, ends_at, timezone
        self.mode, self.location = mode, location

    def cancel(self) -> None:
        if not self.cancelled:
            self.sequence += 1  # as the sessions service does: the cancellation is a new version of the event
        self.cancelled = True


@dataclass(eq=False)
class Registration(Aggregate):
    """Who is registered to which session, so that they can be told when the session changes."""

    registration_id: str
    session_id: str
    member_id: str
    status: RegistrationStatus

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_REGISTRATION


@dataclass(eq=False)
class Community(Aggregate):
    community_id: str
    name_fr: str
    name_en: str
    regions: list[str] = field(default_factory=list)  # whose coordinators manage it

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_fr

    def rename(self, name_fr: str, name_en: str) -> None:
        self.name_fr, self.name_en = name_fr, name_en


class MembershipRole(StrEnum):
    PARTICIPANT = "participant"
    FACILITATOR = "facilitator"
    COORDINATOR = "coordinator"


@dataclass(eq=False)
class Membership(Aggregate):
    """The replica of a member's membership of a community (registration's memberships topic): who belongs, and
    who facilitates."""

    membership_id: str
    community_id: str
    member_id: str
    role: MembershipRole
    updated_at: datetime


@dataclass(eq=False)
class Preferences(Aggregate):
    """What a member chose: a language for emails (overriding their profile's) and the kinds they do not want."""

    member_id: str
    language: str | None = None
    opt_out: list[str] = field(default_factory=list)
    updated_at: datetime = field(default_factory=now)
    version: int = 1
    # Categories she stopped (one-click unsubscribe or her preferences): every category is on until she does.
    stopped: list[str] = field(default_factory=list)
    digest_day: str = DEFAULT_DIGEST_DAY

    def change(
        self,
        *,
        language: str | None,
        opt_out: list[str],
        at: datetime | None = None,
        categories: dict[str, bool] | None = None,
        digest_day: str | None = None,
    ) -> None:
        """Replace language and opt-outs; `categories` (only those named change) and `digest_day`: None keeps them."""
        if language is not None and language not in LANGUAGES:
            raise InvalidInput(f"language must be one of {LANGUAGES}", field="language")
        known = [str(kind) for kind in EmailKind]
        unknown = sorted(set(opt_out) - set(known))
        if unknown:
            raise InvalidInput(f"unknown kinds {unknown}; known: {known}", field="opt_out")
        unknown = sorted(set(categories or {}) - {str(c) for c in Category})
        if unknown:
            raise InvalidInput(f"unknown categories {unknown}", field="categories")
        if digest_day is not None and digest_day not in WEEKDAYS:
            raise InvalidInput(f"digest_day must be one of {WEEKDAYS}", field="digest_day")
        self.language = language
        self.opt_out = sorted({str(kind) for kind in opt_out})
        stopped = set(self.stopped)
        for category, wanted in (categories or {}).items():
            (stopped.discard if wanted else stopped.add)(str(category))
        self.stopped = sorted(stopped)
        self.digest_day = digest_day or self.digest_day
        self.updated_at = at or now()
        self.record(events.PreferencesChanged(self.member_id, self.language, tuple(self.opt_out)))

    def wants(self, category: str) -> bool:
        return category not in self.stopped

    def stop(self, category: Category, at: datetime) -> bool:
        """One-click unsubscribe: stop exactly this category. False when it was already stopped."""
        if category in self.stopped:
            return False
        self.stopped = sorted({*self.stopped, str(category)})
        self.updated_at = at
        self.record(events.PreferencesChanged(self.member_id, self.language, tuple(self.opt_out)))
        return True


@dataclass(frozen=True)
class Decision:
    send: bool
    language: str
    reason: SkipReason | None = None


def decide(
    kind: str, contact: Contact, preferences: Preferences | None, session: ScheduledSession | None = None
) -> Decision:
    """Whether to send, and in which language: consent first, then the member's opt-outs.

    Once a session is cancelled, only the cancellation itself is still worth sending about it.
    """
    language = (preferences.language if preferences else None) or contact.language
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    if session is not None and session.cancelled and kind != EmailKind.SESSION_CANCELLED:
        return Decision(False, language, SkipReason.SESSION_CANCELLED)
    if not contact.accepts_email():
        return Decision(False, language, SkipReason.NO_EMAIL_CONSENT)
    if kind in ALWAYS_SENT:  # she asked for it herself: no opt-out applies
        return Decision(True, language)
    if preferences is not None and kind in preferences.opt_out:
        return Decision(False, language, SkipReason.OPTED_OUT)
    category = category_of(kind)
    if preferences is not None and category is not None and not preferences.wants(category):
        return Decision(False, language, SkipReason.OPTED_OUT)
    return Decision(True, language)


def retry_delay(attempts: int, initial: float, maximum: float) -> timedelta:
    """Exponential back-off after the n-th failed attempt (n >= 1)."""
    return timedelta(seconds=min(maximum, initial * 2 ** (attempts - 1)))


@dataclass(frozen=True)
class RetryPolicy:
    """How often an email is tried, and how long to wait between tries."""

    max_attempts: int = 6
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        return retry_delay(attempts, self.backoff_initial, self.backoff_max)


@dataclass(eq=False)
class Delivery(Aggregate):
    """One email owed to a member because of one event; its life from waiting to sent (or not)."""

    id: str
    source_event_id: str
    kind: EmailKind
    member_id: str | None
    session_id: str | None
    status: DeliveryStatus
    created_at: datetime
    updated_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    reason: SkipReason | None = None
    language: str | None = None
    recipient: str | None = None
    message_id: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    anonymized: bool = False

    @classmethod
    def create(
        cls,
        *,
        source_event_id: str,
        kind: EmailKind,
        member_id: str,
        session_id: str,
        details: dict[str, Any],
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
            status=DeliveryStatus.PENDING,
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

    def is_due(self, at: datetime) -> bool:
        """Claimable now: pending and its time has come, or claimed by a sender whose lease ran out."""
        return self.status in CLAIMABLE and (self.next_attempt_at is None or self.next_attempt_at <= at)

    def past_its_moment(self, at: datetime) -> bool:
        """A timed message carries the moment after which it is pointless (a reminder once the session started)."""
        not_after = self.details.get("not_after")
        return isinstance(not_after, str) and at >= datetime.fromisoformat(not_after)

    def reconsider(self, *, contact_known: bool, session_known: bool, at: datetime | None = None) -> None:
        """A waiting (or pending) delivery moves on once what it needs is known."""
        if self.status not in UNSENT:
            return
        if not contact_known:
            status = DeliveryStatus.WAITING_CONTACT
        elif not session_known:
            status = DeliveryStatus.WAITING_SESSION
        else:
            status = DeliveryStatus.PENDING
        if status != self.status:
            self.status = status
            self.next_attempt_at = at or now()
            self.updated_at = at or now()

    def expire(self, at: datetime) -> None:
        self.status, self.next_attempt_at, self.updated_at = DeliveryStatus.EXPIRED, None, at
        self._forget_secrets()

    def skip(self, reason: SkipReason, at: datetime, language: str | None = None) -> None:
        self.status, self.reason, self.next_attempt_at, self.updated_at = DeliveryStatus.SKIPPED, reason, None, at
        self.language = language or self.language
        self._forget_secrets()

    def _forget_secrets(self) -> None:
        """A settled delivery keeps no secret it was to carry (a sign-in link): it will never be sent again."""
        if any(key in self.details for key in SECRET_DETAILS):
            self.details = {key: value for key, value in self.details.items() if key not in SECRET_DETAILS}

    def start_attempt(self, *, language: str, message_id: str, at: datetime, lease: timedelta) -> None:
        """Claimed for sending; if the sender dies mid-way the lease runs out and the delivery is due again."""
        self.status, self.language, self.message_id = DeliveryStatus.SENDING, language, message_id
        self.attempts += 1
        self.next_attempt_at = at + lease
        self.updated_at = at

    def mark_sent(self, recipient: str, at: datetime) -> None:
        # Settled while the sender talked to the server (the contact erased): the email went, the address is not kept.
        keep_address = self.status == DeliveryStatus.SENDING and not self.anonymized
        self.status, self.sent_at, self.next_attempt_at, self.updated_at = DeliveryStatus.SENT, at, None, at
        self.reason, self.last_error = None, None
        if keep_address:
            self.recipient = recipient
        self._record_outcome(at)

    def give_up(self, reason: str, at: datetime) -> None:
        """Its email cannot be built from what is stored (an address that is not one, a template that fails...):
        no retry would change that, so it fails now, with the reason, and is never tried again."""
        if self.status not in CLAIMABLE:
            return
        self.last_error = reason[:2000]
        self.status, self.next_attempt_at, self.updated_at = DeliveryStatus.FAILED, None, at
        self._record_outcome(at)

    def mark_attempt_failed(self, error: str, *, permanent: bool, retry: RetryPolicy, at: datetime) -> None:
        """The SMTP server refused (or could not be reached) for the attempt this delivery was claimed for."""
        if not self.anonymized:  # a server's answer may quote the address: none is written back after an erasure
            self.last_error = error[:2000]
        if self.status != DeliveryStatus.SENDING:
            return  # erased (or otherwise settled) while the sender talked to the server: keep that outcome
        self._fail_or_retry(permanent=permanent, retry=retry, at=at)

    def mark_broken(self, error: str, *, retry: RetryPolicy, at: datetime) -> None:
        """An unexpected error (not the SMTP server's answer) counts as a failed attempt, so it cannot loop forever."""
        if self.status not in CLAIMABLE:
            return
        if self.status == DeliveryStatus.PENDING:
            self.attempts += 1  # the attempt never got as far as being claimed
        self.last_error = error[:2000]
        self._fail_or_retry(permanent=False, retry=retry, at=at)

    def _fail_or_retry(self, *, permanent: bool, retry: RetryPolicy, at: datetime) -> None:
        self.updated_at = at
        if permanent or self.attempts >= retry.max_attempts:
            self.status, self.next_attempt_at = DeliveryStatus.FAILED, None
            self._record_outcome(at)
        else:
            self.status, self.next_attempt_at = DeliveryStatus.PENDING, at + retry.delay(self.attempts)

    def _record_outcome(self, at: datetime) -> None:
        self._forget_secrets()
        if self.member_id is None:
            return  # erased meanwhile: nothing to say about whom
        self.record(
            events.EmailDeliveryRecorded(
                delivery_id=self.id,
                member_id=self.member_id,
                kind=self.kind,
                language=self.language or DEFAULT_LANGUAGE,
                status=self.status,
                occurred_at=at,
                session_id=self.session_id,
            )
        )

    def forget_contact(self) -> None:
        """The member's contact data is gone: so is every copy of it here (the address an email went to, and an
        error, which may quote the address or the name)."""
        self.recipient = None
        self.last_error = None

    def anonymize(self, at: datetime) -> None:
        """Erasure: keep what happened (kind, status, counts), lose whom it was for."""
        if not self.final:
            self.skip(SkipReason.MEMBER_ERASED, at)
        self.member_id = None
        self.forget_contact()
        self.anonymized = True
        self.updated_at = at
