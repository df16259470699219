from cercle_shared.uow import UnitOfWork

from ..adapters.repository import (
    CommunityRepository,
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


class SessionsUnitOfWork(UnitOfWork):
    communities: CommunityRepository
    memberships: MembershipRepository
    erasures: ErasureRepository
    sessions: SessionRepository
    cycles: CycleRepository
    themes: ThemeRepository
    votes: VoteRepository
    summaries: SummaryRepository
    resources: ResourceRepository
    feeds: FeedRepository

    def _open(self) -> None:
        self.communities = CommunityRepository(self.session)
        self.memberships = MembershipRepository(self.session)
        self.erasures = ErasureRepository(self.session)
        self.sessions = SessionRepository(self.session)
        self.cycles = CycleRepository(self.session)
        self.themes = ThemeRepository(self.session)
        self.votes = VoteRepository(self.session)
        self.summaries = SummaryRepository(self.session)
        self.resources = ResourceRepository(self.session)
        self.feeds = FeedRepository(self.session)

    def __exit__(self, *exc) -> None:
        # Handlers return domain objects that the HTTP layer reads after the transaction ended:
        # detach them first, so that the closing rollback does not expire them.
        self.session.expunge_all()
        super().__exit__(*exc)
