"""Partner organizations' subscriptions: what an operator granted them, their webhook endpoints, the messages owed
to each endpoint and every attempt to deliver them. Plain Python: no framework in sight.

- A Grant says what an organization may see: event types (exact, or prefixes such as `org.cercle.sessions.`),
  and optionally regions and/or communities. A partner never sees more, whatever its endpoints' filters say.
- An Endpoint is where to POST, with its own filters inside the grant, and its signing secrets (stored encrypted
  by the adapters; the domain only holds the opaque sealed values).
- A Message is one event owed to one endpoint: its id is the event's (the `webhook-id`), stable across retries,
  replays and recovers. An Attempt is one HTTP try.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from cercle_shared.domain import Aggregate
from cercle_shared.errors import InvalidInput

PING_TYPE = "org.cercle.webhook.ping.v1"
SECRET_OVERLAP = timedelta(hours=24)  # a rotated secret still signs for this long
FAILURE_EMAIL_EVERY = timedelta(days=1)
DISABLE_AFTER_FAILING = timedelta(days=5)
# Svix's schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_RETRY_AFTER = timedelta(hours=24)


def new_id() -> str:
    return str(uuid.uuid4())


class MessageStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by one instance until claimed_until
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt of the schedule failed, or the endpoint is gone
    CANCELLED = "cancelled"  # the grant no longer covers it, or the endpoint was disabled or deleted


FINAL = (MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.CANCELLED)


class AttemptOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"  # the SSRF guard refused the address: no packet was sent


def type_matches(pattern: str, event_type: str) -> bool:
    """`org.x.y.v1` matches itself; `org.x.*` and `org.x.` match every type under `org.x.`."""
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    if pattern.endswith("."):
        return event_type.startswith(pattern)
    return event_type == pattern


@dataclass(frozen=True)
class Scope:
    """Where an event belongs: the regions it concerns (empty: none known) and its community, if any."""

    regions: frozenset[str] = frozenset()
    community_id: str | None = None


def _within(regions: Sequence[str], communities: Sequence[str], scope: Scope) -> bool:
    """No region and no community listed: everywhere. Otherwise the event must be in one of them."""
    if not regions and not communities:
        return True
    if scope.regions.intersection(regions):
        return True
    return scope.community_id is not None and scope.community_id in communities


@dataclass(eq=False)
class Grant(Aggregate):
    """What an operator allows an organization to see."""

    organization_id: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    contact_email: str | None
    created_at: datetime
    updated_at: datetime

    def allows_type(self, event_type: str) -> bool:
        return any(type_matches(p, event_type) for p in self.event_types)

    def allows(self, event_type: str, scope: Scope) -> bool:
        return self.allows_type(event_type) and _within(self.regions, self.communities, scope)

    def change(
        self,
        *,
        event_types: list[str],
        regions: list[str],
        communities: list[str],
        contact_email: str | None,
        at: datetime,
    ) -> None:
        self.event_types, self.regions, self.communities = event_types, regions, communities
        self.contact_email, self.updated_at = contact_email, at

    def check_filters(self, event_types: Iterable[str], regions: Iterable[str], communities: Iterable[str]) -> None:
        """An endpoint's filters must stay inside the grant."""
        if self.regions or self.communities:
            extra_regions = sorted(set(regions) - set(self.regions))
            if extra_regions:
                raise InvalidInput(f"regions {extra_regions} are outside your grant", field="regions")
            extra_communities = sorted(set(communities) - set(self.communities))
            if extra_communities:
                raise InvalidInput(f"communities {extra_communities} are outside your grant", field="communities")


@dataclass(eq=False)
class Endpoint(Aggregate):
    """A partner's webhook endpoint."""

    id: str
    organization_id: str
    url: str
    description: str
    event_types: list[str]
    regions: list[str]
    communities: list[str]
    enabled: bool
    sealed_secret: str
    created_at: datetime
    updated_at: datetime
    previous_sealed_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    last_failure_email_at: datetime | None = None

    def matches(self, event_type: str, scope: Scope) -> bool:
        return (
            self.enabled
            and any(type_matches(p, event_type) for p in self.event_types)
            and _within(self.regions, self.communities, scope)
        )

    def sealed_secrets(self, at: datetime) -> list[str]:
        """The secrets that sign now: the current one, and the previous one during its overlap."""
        secrets = [self.sealed_secret]
        if self.previous_sealed_secret and self.previous_secret_expires_at and at < self.previous_secret_expires_at:
            secrets.append(self.previous_sealed_secret)
        return secrets

    def rotate(self, sealed_secret: str, at: datetime) -> None:
        self.previous_sealed_secret = self.sealed_secret
        self.previous_secret_expires_at = at + SECRET_OVERLAP
        self.sealed_secret = sealed_secret
        self.updated_at = at

    def enable(self, at: datetime) -> None:
        self.enabled, self.disabled_reason, self.failing_since, self.updated_at = True, None, None, at

    def disable(self, reason: str, at: datetime) -> None:
        self.enabled, self.disabled_reason, self.updated_at = False, reason, at

    def succeeded(self) -> None:
        self.failing_since = None

    def failed(self, at: datetime) -> bool:
        """Note a failed attempt; True when the endpoint has now failed for 5 days straight and is disabled."""
        if self.failing_since is None:
            self.failing_since = at
        if self.enabled and at - self.failing_since >= DISABLE_AFTER_FAILING:
            self.disable("failing for 5 days", at)
            return True
        return False

    def may_email_failure(self, at: datetime) -> bool:
        """At most one failure email a day per endpoint."""
        if self.last_failure_email_at is not None and at - self.last_failure_email_at < FAILURE_EMAIL_EVERY:
            return False
        self.last_failure_email_at = at
        return True


@dataclass(frozen=True)
class RetrySchedule:
    """delays[n]: how long after the n-th try (n from 0: the event's arrival) the next one is made."""

    delays: tuple[float, ...] = DEFAULT_SCHEDULE

    def __post_init__(self) -> None:
        if not self.delays or any(d < 0 or not math.isfinite(d) for d in self.delays):
            raise ValueError("a retry schedule is a non-empty list of delays >= 0")

    @property
    def attempts(self) -> int:
        return len(self.delays)

    def next_after(self, attempts: int, at: datetime, retry_after: float | None = None) -> datetime | None:
        """When to try again after `attempts` tries, or None: the schedule is over. Retry-After waits longer."""
        if attempts >= len(self.delays):
            return None
        delay = timedelta(seconds=self.delays[attempts])
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
        return at + delay


@dataclass(eq=False)
class Message(Aggregate):
    """One event owed to one endpoint; `event_id` is the webhook-id, the same on every try."""

    id: str
    endpoint_id: str
    organization_id: str
    event_id: str
    event_type: str
    status: MessageStatus
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None
    attempts: int = 0
    claim: str | None = None
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None
    last_status_code: int | None = None

    @classmethod
    def owed(cls, endpoint: Endpoint, event_id: str, event_type: str, at: datetime) -> Message:
        return cls(
            id=new_id(),
            endpoint_id=endpoint.id,
            organization_id=endpoint.organization_id,
            event_id=event_id,
            event_type=event_type,
            status=MessageStatus.PENDING,
            created_at=at,
            updated_at=at,
            next_attempt_at=at,
        )

    def take(self, claim: str, until: datetime, at: datetime) -> None:
        """Claimed by one sender: no other sends this attempt before `until`."""
        self.status, self.claim, self.claimed_until, self.updated_at = MessageStatus.SENDING, claim, until, at

    def delivered(self, status_code: int, at: datetime) -> None:
        self.attempts += 1
        self.status, self.delivered_at, self.last_status_code = MessageStatus.DELIVERED, at, status_code
        self.next_attempt_at, self.claim, self.claimed_until, self.updated_at = None, None, None, at

    def not_delivered(
        self, status_code: int | None, at: datetime, schedule: RetrySchedule, *, retry_after: float | None, final: bool
    ) -> bool:
        """Note a failed try; True when the message has now failed for good."""
        self.attempts += 1
        self.last_status_code = status_code
        self.claim, self.claimed_until, self.updated_at = None, None, at
        following = None if final else schedule.next_after(self.attempts, at, retry_after)
        if following is None:
            self.status, self.next_attempt_at = MessageStatus.FAILED, None
            return True
        self.status, self.next_attempt_at = MessageStatus.PENDING, following
        return False

    def cancel(self, at: datetime) -> None:
        self.status, self.next_attempt_at, self.claim, self.claimed_until = MessageStatus.CANCELLED, None, None, None
        self.updated_at = at

    def resend(self, at: datetime) -> None:
        """Replay or recover: try again now, with the same webhook-id, a fresh schedule."""
        self.status, self.next_attempt_at, self.claim, self.claimed_until = MessageStatus.PENDING, at, None, None
        self.attempts, self.updated_at = 0, at


@dataclass(eq=False)
class Attempt(Aggregate):
    """One HTTP try of one message, as the delivery log shows it."""

    id: str
    message_id: str
    endpoint_id: str
    attempted_at: datetime
    outcome: AttemptOutcome
    status_code: int | None = None
    latency_ms: float | None = None
    response_body: str | None = None
    error: str | None = None
    url: str = ""


@dataclass(eq=False)
class PartnerNotice(Aggregate):
    """An email to a partner's contact (failures, a disabled endpoint), sent by the webhooks job."""

    id: str
    organization_id: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(eq=False)
class PartnerEvent(Aggregate):
    """A partner-visible event as stored for the pull feed and for deliveries (the CloudEvent, structured JSON)."""

    event_id: str
    event_type: str
    time: datetime
    regions: list[str]
    community_id: str | None
    body: str
    received_at: datetime
    seq: int | None = field(default=None)

    @property
    def scope(self) -> Scope:
        return Scope(frozenset(self.regions), self.community_id)


@dataclass(eq=False)
class CommunityRegions(Aggregate):
    """Which regions a community serves, so that its events (and its sessions') can be filtered by region."""

    community_id: str
    regions: list[str]
    province_wide: bool
