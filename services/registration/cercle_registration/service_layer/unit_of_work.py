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
