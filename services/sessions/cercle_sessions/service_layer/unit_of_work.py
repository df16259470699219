"""The sessions unit of work: one transaction, its repositories, and the outbox its aggregates' events go to."""

from __future__ import annotations

from cercle_shared.uow import PublishingUnitOfWork

from ..adapters.repository import (
    CommunityRepository,
    ContactRepository,
    CycleRepository,
    ErasureRepository,
    FeedRepository,
    MembershipRepository,
    ResourceRepository,
    SessionRepository,
    SummaryRepository,
    ThemeRepository,
    VoteRepository,
)
from . import integration_events


class SessionsUnitOfWork(PublishingUnitOfWork):
    translate = staticmethod(integration_events.translate)

    communities: CommunityRepository
    memberships: MembershipRepository
    contacts: ContactRepository
    erasures: ErasureRepository
    sessions: SessionRepository
    cycles: CycleRepository
    themes: ThemeRepository
    votes: VoteRepository
    summaries: SummaryRepository
    resources: ResourceRepository
    feeds: FeedRepository

    def _open(self) -> None:
        self.communities = CommunityRepository(self.db)
        self.memberships = MembershipRepository(self.db)
        self.contacts = ContactRepository(self.db)
        self.erasures = ErasureRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.cycles = CycleRepository(self.db)
        self.themes = ThemeRepository(self.db)
        self.votes = VoteRepository(self.db)
        self.summaries = SummaryRepository(self.db)
        self.resources = ResourceRepository(self.db)
        self.feeds = FeedRepository(self.db)
