from cercle_shared.errors import CercleError, Conflict
from cercle_shared.uow import UnitOfWork

from ..adapters.repository import (
    CommunityRepository,
    MemberRepository,
    MembershipRepository,
    OrganizationRepository,
)


class RegistrationUnitOfWork(UnitOfWork):
    organizations: OrganizationRepository
    members: MemberRepository
    communities: CommunityRepository
    memberships: MembershipRepository

    def _open(self) -> None:
        self.organizations = OrganizationRepository(self.session)
        self.members = MemberRepository(self.session)
        self.communities = CommunityRepository(self.session)
        self.memberships = MembershipRepository(self.session)

    def _integrity_conflict(self, cause: str) -> CercleError:
        if "email" in cause:
            return Conflict("a member with this email already exists", field="email")
        if "ux_memberships_current" in cause or "memberships.community_id, memberships.member_id" in cause:
            return Conflict("this member already belongs to this community", field="member_id")
        return super()._integrity_conflict(cause)
