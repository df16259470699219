"""Repositories: the only place that speaks SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from cercle_shared.privacy import ErasureLedger

from ..domain.library import CalendarFeed, FeedKind, Resource, Summary
from ..domain.model import Community, Membership, Registration, RegistrationStatus, Session
from ..domain.program import CycleStatus, ProgramCycle, Theme, Vote
from . import orm

T = TypeVar("T")


def lock_row(db: Db, entity: type[T], row_id: str) -> T | None:
    """Read one row, locked until commit: concurrent writers of the same aggregate go one at a time.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite ignores FOR UPDATE, so a no-op UPDATE first takes its
    database write lock (waiting for the busy timeout) before anything is read.
    """
    key: Any = entity.id  # type: ignore[attr-defined]
    if db.get_bind().dialect.name == "sqlite":
        db.execute(update(entity).where(key == row_id).values(id=key).execution_options(synchronize_session=False))
    return db.scalars(
        select(entity).where(key == row_id).with_for_update().execution_options(populate_existing=True)
    ).first()


class CommunityRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, community: Community) -> None:
        self._db.add(community)

    def get(self, community_id: str) -> Community | None:
        return self._db.get(Community, community_id)

    def all(self) -> list[Community]:
        return list(self._db.scalars(select(Community)))


class MembershipRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, membership: Membership) -> None:
        self._db.add(membership)

    def get(self, membership_id: str) -> Membership | None:
        return self._db.get(Membership, membership_id)

    def current(self, community_id: str, member_id: str) -> Membership | None:
        return self._db.scalars(
            select(Membership).where(
                Membership.community_id == community_id, Membership.member_id == member_id, Membership.active
            )
        ).first()

    def of_member(self, member_id: str) -> list[Membership]:
        return list(self._db.scalars(select(Membership).where(Membership.member_id == member_id)))

    def delete(self, membership: Membership) -> None:
        self._db.delete(membership)


class ErasureRepository(ErasureLedger):
    def __init__(self, db: Db) -> None:
        super().__init__(db, orm.erased_members)


class SessionRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, session: Session) -> None:
        self._db.add(session)

    def get(self, session_id: str) -> Session | None:
        return self._db.get(Session, session_id)

    def get_for_update(self, session_id: str) -> Session | None:
        """The session row locked until commit (PostgreSQL): seats are counted and taken one request at a time."""
        return lock_row(self._db, Session, session_id)

    def of_community(self, community_id: str) -> list[Session]:
        return list(
            self._db.scalars(select(Session).where(Session.community_id == community_id).order_by(Session.starts_at))
        )

    def registered(self, member_id: str) -> list[Session]:
        """Sessions where the member holds an active registration."""
        ids = select(Registration.session_id).where(
            Registration.member_id == member_id, Registration.status != RegistrationStatus.CANCELLED
        )
        return list(self._db.scalars(select(Session).where(Session.id.in_(ids)).order_by(Session.starts_at)))

    def with_member(self, member_id: str) -> list[Session]:
        ids = select(Registration.session_id).where(Registration.member_id == member_id)
        return list(self._db.scalars(select(Session).where(Session.id.in_(ids))))


class CycleRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, cycle: ProgramCycle) -> None:
        self._db.add(cycle)

    def get(self, cycle_id: str, *, lock: bool = False) -> ProgramCycle | None:
        if not lock:
            return self._db.get(ProgramCycle, cycle_id)
        return lock_row(self._db, ProgramCycle, cycle_id)

    def of_community(self, community_id: str) -> list[ProgramCycle]:
        return list(
            self._db.scalars(
                select(ProgramCycle).where(ProgramCycle.community_id == community_id).order_by(ProgramCycle.starts_on)
            )
        )

    def due_for_closing(self, at: datetime) -> list[str]:
        return list(
            self._db.scalars(
                select(ProgramCycle.id).where(
                    ProgramCycle.status == CycleStatus.OPEN, ProgramCycle.voting_closes_at <= at
                )
            )
        )


class ThemeRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, theme: Theme) -> None:
        self._db.add(theme)

    def get(self, theme_id: str) -> Theme | None:
        return self._db.get(Theme, theme_id)

    def of_cycle(self, cycle_id: str) -> list[Theme]:
        return list(self._db.scalars(select(Theme).where(Theme.cycle_id == cycle_id).order_by(Theme.proposed_at)))

    def forget_proposer(self, member_id: str) -> None:
        self._db.execute(update(orm.themes).where(orm.themes.c.proposer_id == member_id).values(proposer_id=None))


class VoteRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, vote: Vote) -> None:
        self._db.add(vote)

    def of_cycle(self, cycle_id: str) -> list[Vote]:
        return list(self._db.scalars(select(Vote).where(Vote.cycle_id == cycle_id)))

    def of_voter(self, cycle_id: str, member_id: str) -> list[Vote]:
        return list(self._db.scalars(select(Vote).where(Vote.cycle_id == cycle_id, Vote.member_id == member_id)))

    def reassign_voter(self, member_id: str, marker: str) -> None:
        """Every vote of the member now counts under `marker`."""
        self._db.execute(update(orm.votes).where(orm.votes.c.member_id == member_id).values(member_id=marker))


class SummaryRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, summary: Summary) -> None:
        self._db.add(summary)

    def versions(self, session_id: str) -> list[Summary]:
        return list(self._db.scalars(select(Summary).where(Summary.session_id == session_id).order_by(Summary.version)))

    def forget_author(self, member_id: str) -> None:
        self._db.execute(
            update(orm.summaries).where(orm.summaries.c.published_by == member_id).values(published_by="erased")
        )


class ResourceRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, resource: Resource) -> None:
        self._db.add(resource)

    def search(
        self,
        community_ids: list[str],
        words: list[str],
        *,
        kind: str | None = None,
        language: str | None = None,
        tag: str | None = None,
        session_id: str | None = None,
        theme_id: str | None = None,
        limit: int = 50,
    ) -> list[Resource]:
        """Every word must start a token of the resource (prefix match on normalized tokens)."""
        if not community_ids:
            return []
        stmt = select(Resource).where(Resource.community_id.in_(community_ids))
        for word in words:
            stmt = stmt.where(Resource.search_text.contains(" " + word, autoescape=True))
        if kind:
            stmt = stmt.where(Resource.kind == kind)
        if language:
            stmt = stmt.where(Resource.language == language)
        if session_id:
            stmt = stmt.where(Resource.session_id == session_id)
        if theme_id:
            stmt = stmt.where(Resource.theme_id == theme_id)
        rows = self._db.scalars(stmt.order_by(Resource.shared_at.desc(), Resource.id)).all()
        if tag:
            rows = [r for r in rows if tag in r.tags]
        return list(rows[:limit])

    def forget_sharer(self, member_id: str) -> None:
        self._db.execute(update(orm.resources).where(orm.resources.c.shared_by == member_id).values(shared_by=None))


class FeedRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, feed: CalendarFeed) -> None:
        self._db.add(feed)

    def by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        return self._db.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash)).first()

    def find(
        self, kind: FeedKind, *, community_id: str | None = None, member_id: str | None = None
    ) -> list[CalendarFeed]:
        return list(
            self._db.scalars(
                select(CalendarFeed).where(
                    CalendarFeed.kind == kind,
                    CalendarFeed.community_id == community_id,
                    CalendarFeed.member_id == member_id if member_id else CalendarFeed.member_id.is_(None),
                )
            )
        )

    def delete(self, feed: CalendarFeed) -> None:
        self._db.delete(feed)

    def delete_of_member(self, member_id: str) -> None:
        self._db.execute(orm.calendar_feeds.delete().where(orm.calendar_feeds.c.member_id == member_id))
