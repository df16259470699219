"""Who may do what on Kafka: every principal and its grants, defined once and derived from the contracts.

- A service WRITEs the topics of the events it publishes (the catalog's `org.cercle.<service>.` types) and its own
  dead-letter topic; it READs the topics its consumer subscribes to (`SUBSCRIBED`, kept equal to each service's
  `entrypoints/consumers.subscriptions()` by a unit test) and uses its own consumer group only.
- The topics with names and emails (member-contacts, sign-in links) are read only by whom `SUBSCRIBED` names.
- A partner READs the partner-visible topics only, with consumer groups under `partner.<org>.`.
- The admin principal (a super user of the broker) is used only by the topics step and `cercle-ops`.

Plain data, no Kafka client: cercle-ops turns it into the broker's ACLs and a test runs it on a real broker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .base import Visibility
from .catalog import CATALOG
from .topics import ALL_TOPICS, SERVICES, dead_letter_topic

ADMIN_USER = "cercle-admin"
PARTNER_USER_PREFIX = "partner-"
PARTNER_GROUP_PREFIX = "partner."

# What each service's consumer subscribes to, topic by topic (the test compares it with subscriptions()).
SUBSCRIBED: dict[str, frozenset[str]] = {
    "registration": frozenset(),
    "sessions": frozenset(
        {
            "cercle.registration.communities",
            "cercle.registration.member-contacts",
            "cercle.registration.members",
            "cercle.registration.memberships",
        }
    ),
    # Emails members (contacts, sign-in links) and relays every partner-visible event to partners (webhooks, feed).
    "notifications": frozenset(
        {
            "cercle.registration.communities",
            "cercle.registration.member-contacts",
            "cercle.registration.members",
            "cercle.registration.memberships",
            "cercle.registration.organizations",
            "cercle.registration.sign-in-links",
            "cercle.insights.community-health",
            "cercle.insights.member-messages",
            "cercle.sessions.ballots",
            "cercle.sessions.program",
            "cercle.sessions.registrations",
            "cercle.sessions.sessions",
        }
    ),
    "insights": frozenset(
        {
            "cercle.registration.communities",
            "cercle.registration.members",
            "cercle.registration.memberships",
            "cercle.registration.organizations",
            "cercle.sessions.program",
            "cercle.sessions.registrations",
            "cercle.sessions.sessions",
        }
    ),
}

# Topics that carry names, emails, secrets or who did what (the contracts' personal_data): never a partner's, and
# read only by the services SUBSCRIBED names (a unit test lists them).
RESTRICTED_TOPICS = frozenset(t.name for t in ALL_TOPICS if t.personal_data)


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"


class Resource(StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"


class Pattern(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


@dataclass(frozen=True, order=True)
class Grant:
    """ALLOW `operation` on a resource to a principal (from any host)."""

    principal: str  # "User:<name>"
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL


def principal(user: str) -> str:
    return f"User:{user}"


def service_user(service: str) -> str:
    return f"cercle-{service}"


def consumer_group(service: str) -> str:
    """The group a service consumes with by default (CERCLE_CONSUMER_GROUP)."""
    return f"cercle-{service}"


def published_topics(service: str) -> frozenset[str]:
    """The topics of the events `service` publishes, from the catalog."""
    prefix = f"org.cercle.{service}."
    return frozenset(spec.topic.name for spec in CATALOG if spec.type.startswith(prefix))


def written_topics(service: str) -> frozenset[str]:
    return published_topics(service) | {dead_letter_topic(service).name}


def read_topics(service: str) -> frozenset[str]:
    return SUBSCRIBED[service]


def partner_topics() -> frozenset[str]:
    return frozenset(t.name for t in ALL_TOPICS if t.visibility is Visibility.PARTNER)


def service_grants(service: str, group: str | None = None) -> list[Grant]:
    user = principal(service_user(service))
    grants = [Grant(user, Resource.TOPIC, name, Operation.WRITE) for name in written_topics(service)]
    grants += [Grant(user, Resource.TOPIC, name, Operation.READ) for name in read_topics(service)]
    if read_topics(service):
        grants.append(Grant(user, Resource.GROUP, group or consumer_group(service), Operation.READ))
    return sorted(grants)


def all_service_grants(groups: dict[str, str] | None = None) -> list[Grant]:
    """Every service's grants; `groups` overrides a service's consumer group (a deployment's CERCLE_CONSUMER_GROUP)."""
    groups = groups or {}
    return [grant for service in SERVICES for grant in service_grants(service, groups.get(service))]


_ORG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def partner_user(org: str) -> str:
    """The principal's user name of a partner organization (lower-case letters, digits, '-' and '_')."""
    if not _ORG.fullmatch(org):
        raise ValueError(f"organization {org!r}: use 1-63 lower-case letters, digits, '-' or '_'")
    return f"{PARTNER_USER_PREFIX}{org}"


def partner_grants(org: str) -> list[Grant]:
    user = principal(partner_user(org))
    grants = [Grant(user, Resource.TOPIC, name, Operation.READ) for name in partner_topics()]
    grants.append(Grant(user, Resource.GROUP, f"{PARTNER_GROUP_PREFIX}{org}.", Operation.READ, Pattern.PREFIXED))
    return sorted(grants)
