"""Who is calling, and what they may reach. Plain Python: service layers use it to check scopes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    COORDINATOR = "coordinator"
    FACILITATOR = "facilitator"
    MEMBER = "member"
    PARTNER = "partner"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    regions: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)
    member_id: str | None = None
    organization_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def covers_region(self, region: str | None) -> bool:
        if self.is_operator:
            return True
        return self.role is Role.COORDINATOR and region is not None and region in self.regions

    def covers_community(self, community_id: str, regions: Iterable[str] = ()) -> bool:
        """May manage this community: operators, coordinators of one of its regions, its facilitators."""
        if self.is_operator:
            return True
        if self.role is Role.COORDINATOR:
            # A coordinator who also facilitates a community elsewhere (or coordinates a province-wide one) has it
            # listed in her token's communities: one token carries one role.
            return bool(self.regions.intersection(regions)) or community_id in self.communities
        if self.role is Role.FACILITATOR:
            return community_id in self.communities
        return False

    def is_member(self, member_id: str) -> bool:
        return self.member_id is not None and self.member_id == member_id
