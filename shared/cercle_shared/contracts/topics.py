"""Every Kafka topic Cercle uses, with its partitions, retention and compaction: the one place to look.

Topics are per bounded context and keyed by aggregate id, so that the events of one
aggregate keep their order. Domain topics are kept forever: they are small (a community
meets 5-10 times a year) and every service rebuilds its replicas from them.
"""

from __future__ import annotations

from .base import TopicSpec, Visibility

HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1

MEMBERS = TopicSpec(
    "cercle.registration.members",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Member lifecycle without contact data (ids, region, organization, consents). Key: member_id.",
)
MEMBER_CONTACTS = TopicSpec(
    "cercle.registration.member-contacts",
    partitions=3,
    visibility=Visibility.INTERNAL,
    compacted=True,
    personal_data=True,
    # Erasure is final within a stated bound (README, privacy): a segment rolls within the hour, and the cleaner
    # must compact it within 12 h, so an erased member's older values are gone in at most 13 h; the tombstone
    # itself (a key, no personal data) stays one more day so that a consumer down meanwhile still sees it.
    extra_config={
        "segment.ms": str(HOUR_MS),
        "max.compaction.lag.ms": str(12 * HOUR_MS),
        "min.compaction.lag.ms": "0",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": str(DAY_MS),
    },
    description="Latest contact data per member (email, name, language, consents); a tombstone on erasure. "
    "Internal: never relayed to partners. Key: member_id.",
)
ORGANIZATIONS = TopicSpec(
    "cercle.registration.organizations",
    partitions=1,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Organizations (employers and partners). Key: organization_id.",
)
COMMUNITIES = TopicSpec(
    "cercle.registration.communities",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Communities of practice and their status. Key: community_id.",
)
MEMBERSHIPS = TopicSpec(
    "cercle.registration.memberships",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Who joined or left which community, with which role. Key: community_id.",
)
PROGRAM = TopicSpec(
    "cercle.sessions.program",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Program cycles, theme proposals, votes (no voter identity) and retained themes. Key: community_id.",
)
SESSIONS = TopicSpec(
    "cercle.sessions.sessions",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Sessions scheduled, rescheduled, cancelled, held; summaries and resources. Key: session_id.",
)
SESSION_REGISTRATIONS = TopicSpec(
    "cercle.sessions.registrations",
    partitions=3,
    visibility=Visibility.PARTNER,
    retention_ms=FOREVER,
    description="Registrations to sessions: confirmed, waitlisted, promoted, cancelled, attendance. Key: session_id, "
    "so that a session's seats and waitlist stay in order.",
)
SIGN_IN_LINKS = TopicSpec(
    "cercle.registration.sign-in-links",
    partitions=3,
    visibility=Visibility.INTERNAL,
    # A link is valid 15 minutes: keep the record just long enough for a notifications instance that was down to
    # catch up, then let it go (it carries a secret).
    retention_ms=HOUR_MS,
    personal_data=True,
    description="One-time sign-in links to email to a member (a secret). Internal: never relayed to partners. "
    "Key: member_id.",
)
BALLOTS = TopicSpec(
    "cercle.sessions.ballots",
    partitions=3,
    visibility=Visibility.INTERNAL,
    retention_ms=30 * DAY_MS,
    personal_data=True,
    description="Who took part in a program cycle's vote (never for what), so that only members who have not voted "
    "are reminded before it closes. Internal: never relayed to partners. Key: member_id.",
)
DELIVERIES = TopicSpec(
    "cercle.notifications.deliveries",
    partitions=3,
    visibility=Visibility.INTERNAL,
    retention_ms=30 * DAY_MS,
    description="Outcome of each email delivery attempt. Internal. Key: member_id.",
)

INSIGHTS_MEMBER_MESSAGES = TopicSpec(
    "cercle.insights.member-messages",
    partitions=3,
    visibility=Visibility.INTERNAL,
    retention_ms=30 * DAY_MS,
    personal_data=True,
    description="Survey invitations (their answer links carry a secret) and action-plan nudges that notifications "
    "emails to a member. Internal: never relayed to partners. Key: member_id.",
)
COMMUNITY_HEALTH = TopicSpec(
    "cercle.insights.community-health",
    partitions=3,
    visibility=Visibility.INTERNAL,
    retention_ms=FOREVER,
    description="Changes of a community's health state (decline pattern raised or cleared), aggregates only. "
    "Key: community_id.",
)

DOMAIN_TOPICS: tuple[TopicSpec, ...] = (
    MEMBERS,
    MEMBER_CONTACTS,
    ORGANIZATIONS,
    COMMUNITIES,
    MEMBERSHIPS,
    PROGRAM,
    SESSIONS,
    SESSION_REGISTRATIONS,
    SIGN_IN_LINKS,
    BALLOTS,
    DELIVERIES,
    INSIGHTS_MEMBER_MESSAGES,
    COMMUNITY_HEALTH,
)

SERVICES = ("registration", "sessions", "notifications", "insights")


def dead_letter_topic(consumer: str) -> TopicSpec:
    """Where a consumer parks a message it could not process after its bounded retries."""
    return TopicSpec(
        f"cercle.deadletter.{consumer}",
        partitions=1,
        visibility=Visibility.INTERNAL,
        retention_ms=30 * DAY_MS,
        description=f"Messages the {consumer} consumer gave up on, with the error in headers.",
    )


ALL_TOPICS: tuple[TopicSpec, ...] = DOMAIN_TOPICS + tuple(dead_letter_topic(s) for s in SERVICES)


def by_name(name: str) -> TopicSpec:
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(name)
