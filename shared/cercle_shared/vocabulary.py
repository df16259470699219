"""Words every service's domain shares because they travel in the events: the values of a community's kind and
status, and of a member's role in it. No framework here: domains import it."""

from __future__ import annotations

from enum import StrEnum


class CommunityKind(StrEnum):
    COMMUNITY_OF_PRACTICE = "community_of_practice"
    CO_DEVELOPMENT_GROUP = "co_development_group"
    COMMUNITY_OF_INTEREST = "community_of_interest"


class CommunityStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class MembershipRole(StrEnum):
    PARTICIPANT = "participant"
    FACILITATOR = "facilitator"
    COORDINATOR = "coordinator"
