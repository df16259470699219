from __future__ import annotations

from cercle_shared.uow import PublishingUnitOfWork

from ..adapters.partner_repository import PartnerRepositories
from ..adapters.repository import (
    CommunityRepository,
    ContactRepository,
    DeliveryRepository,
    ErasedMembers,
    MembershipRepository,
    NewsRepository,
    PreferencesRepository,
    RegistrationRepository,
    SessionRepository,
)
from ..adapters.timed_repository import CommunityRemindersRepository, TimedMessageRepository
from . import integration_events


class NotificationsUnitOfWork(PublishingUnitOfWork):
    translate = staticmethod(integration_events.translate)

    contacts: ContactRepository
    sessions: SessionRepository
    communities: CommunityRepository
    registrations: RegistrationRepository
    preferences: PreferencesRepository
    deliveries: DeliveryRepository
    erased_members: ErasedMembers
    memberships: MembershipRepository
    news: NewsRepository
    timed: TimedMessageRepository
    community_reminders: CommunityRemindersRepository
    partners: PartnerRepositories

    def _open(self) -> None:
        self.contacts = ContactRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.communities = CommunityRepository(self.db)
        self.registrations = RegistrationRepository(self.db)
        self.preferences = PreferencesRepository(self.db)
        self.deliveries = DeliveryRepository(self.db)
        self.erased_members = ErasedMembers(self.db)
        self.memberships = MembershipRepository(self.db)
        self.news = NewsRepository(self.db)
        self.timed = TimedMessageRepository(self.db)
        self.community_reminders = CommunityRemindersRepository(self.db)
        self.partners = PartnerRepositories(self.db)
