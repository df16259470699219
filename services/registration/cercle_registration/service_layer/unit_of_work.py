"""One transaction of the registration database; the events its aggregates recorded reach the outbox at commit."""

from __future__ import annotations

from cercle_shared.errors import CercleError, Conflict
from cercle_shared.uow import PublishingUnitOfWork

from ..adapters.repository import (
    CommunityRepository,
    MemberImportRepository,
    MemberRepository,
    MembershipRepository,
    OrganizationRepository,
    SignInRepository,
)
from . import integration_events


class RegistrationUnitOfWork(PublishingUnitOfWork):
    translate = staticmethod(integration_events.translate)

    organizations: OrganizationRepository
    members: MemberRepository
    communities: CommunityRepository
    memberships: MembershipRepository
    imports: MemberImportRepository
    sign_in: SignInRepository

    def _open(self) -> None:
        self.organizations = OrganizationRepository(self.db)
        self.members = MemberRepository(self.db)
        self.communities = CommunityRepository(self.db)
        self.memberships = MembershipRepository(self.db)
        self.imports = MemberImportRepository(self.db)
        self.sign_in = SignInRepository(self.db)

    def _integrity_conflict(self, cause: str) -> CercleError:
        if "email" in cause:
            return Conflict("a member with this email already exists", field="email")
        if "ux_memberships_current" in cause or "memberships.community_id, memberships.member_id" in cause:
            return Conflict("this member already belongs to this community", field="member_id")
        return super()._integrity_conflict(cause)
