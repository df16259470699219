"""Repositories: the only place that speaks SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session as Db

from cercle_shared.db.keyset import Keyset
from cercle_shared.privacy import ErasureLedger

from ..domain.library import CalendarFeed, FeedKind, Resource, Summary
from ..domain.model import (
    Community,
    MemberContact,
    Membership,
    Registration,
    RegistrationStatus,
    Session,
    SessionStatus,
)
from ..domain.program import CycleStatus, ProgramCycle, Theme, Vote
from . import orm

T = TypeVar("T")
Page = tuple[Sequence[T], str | None]
"""One page of rows and the cursor of the next one (None: the last page)."""


def json_list_contains(db: Db, column: Any, value: str) -> ColumnElement[bool]:
    """`value` is an element of the JSON list in `column` (PostgreSQL or SQLite)."""
    if db.get_bind().dialect.name == "postgresql":
        return column.cast(JSONB).contains([value])  # type: ignore[no-any-return]
    elements = func.json_each(column).table_valued("value")
    return exists(select(elements.c.value).where(elements.c.value == value))


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

    def page_of_community(self, community_id: str, *, drafts: bool, cursor: str | None, limit: int) -> Page[Session]:
        """In start order; drafts only if asked."""
        stmt = select(Session).where(Session.community_id == community_id)
        if not drafts:
            stmt = stmt.where(Session.status != SessionStatus.DRAFT)
        return Keyset(Session.starts_at, Session.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def of_cycle(self, cycle_id: str) -> list[Session]:
        return list(self._db.scalars(select(Session).where(Session.cycle_id == cycle_id)))

    def registered(self, member_id: str) -> list[Session]:
        """Sessions where the member holds an active registration."""
        return list(self._db.scalars(self._registered(member_id).order_by(Session.starts_at)))

    def page_registered(self, member_id: str, *, cursor: str | None, limit: int) -> Page[Session]:
        stmt = self._registered(member_id)
        return Keyset(Session.starts_at, Session.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def ahead_for(self, member_id: str, after: datetime, *, community_id: str | None = None) -> list[str]:
        """Ids of the sessions starting after `after` where the member holds an active registration."""
        stmt = self._registered(member_id).where(Session.starts_at > after)
        if community_id is not None:
            stmt = stmt.where(Session.community_id == community_id)
        return list(self._db.scalars(stmt.with_only_columns(Session.id).order_by(Session.starts_at, Session.id)))

    def ids_with_member(self, member_id: str) -> list[str]:
        """Sessions where the member registered (in any status) or co-facilitates."""
        registered = select(Registration.session_id).where(Registration.member_id == member_id)
        stmt = select(Session.id).where(
            Session.id.in_(registered) | json_list_contains(self._db, orm.sessions.c.co_facilitators, member_id)
        )
        return list(self._db.scalars(stmt.order_by(Session.id)))

    def ids_co_facilitated(self, member_id: str, community_id: str, after: datetime) -> list[str]:
        """The community's sessions starting after `after` that the member co-facilitates."""
        stmt = select(Session.id).where(
            Session.community_id == community_id,
            Session.starts_at > after,
            json_list_contains(self._db, orm.sessions.c.co_facilitators, member_id),
        )
        return list(self._db.scalars(stmt.order_by(Session.id)))

    def registrations_page(
        self, session_id: str, *, member_id: str | None = None, cursor: str | None, limit: int
    ) -> Page[Registration]:
        """A session's registrations in arrival order (one member's only, if `member_id`)."""
        stmt = select(Registration).where(Registration.session_id == session_id)
        if member_id is not None:
            stmt = stmt.where(Registration.member_id == member_id)
        return Keyset(Registration.arrival, Registration.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def community_registrations_page(self, community_id: str, *, cursor: str | None, limit: int) -> Page[Registration]:
        """Every registration to the community's sessions, in the order they were made."""
        ids = select(Session.id).where(Session.community_id == community_id)
        stmt = select(Registration).where(Registration.session_id.in_(ids))
        keyset = Keyset(Registration.registered_at, Registration.id)
        return keyset.page(self._db, stmt, cursor=cursor, limit=limit)

    def by_ids(self, ids: Iterable[str]) -> dict[str, Session]:
        wanted = set(ids)
        if not wanted:
            return {}
        return {s.id: s for s in self._db.scalars(select(Session).where(Session.id.in_(wanted)))}

    def community_roster(self, community_id: str) -> list[tuple[Session, Registration]]:
        """Every registration to the community's sessions, session by session (in start order), in arrival order."""
        rows = self._db.execute(
            select(Session, Registration)
            .join(Registration, Registration.session_id == Session.id)
            .where(Session.community_id == community_id)
            .order_by(Session.starts_at, Session.id, Registration.arrival)
        )
        return [(s, r) for s, r in rows.tuples()]

    @staticmethod
    def _registered(member_id: str) -> Select[tuple[Session]]:
        ids = select(Registration.session_id).where(
            Registration.member_id == member_id, Registration.status != RegistrationStatus.CANCELLED
        )
        return select(Session).where(Session.id.in_(ids))


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

    def page_of_community(self, community_id: str, *, cursor: str | None, limit: int) -> Page[ProgramCycle]:
        stmt = select(ProgramCycle).where(ProgramCycle.community_id == community_id)
        keyset = Keyset(ProgramCycle.starts_on, ProgramCycle.id)
        return keyset.page(self._db, stmt, cursor=cursor, limit=limit)

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

    def page_of_cycle(self, cycle_id: str, *, cursor: str | None, limit: int) -> Page[Theme]:
        stmt = select(Theme).where(Theme.cycle_id == cycle_id)
        return Keyset(Theme.proposed_at, Theme.id).page(self._db, stmt, cursor=cursor, limit=limit)

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

    def latest(self, session_id: str) -> Summary | None:
        return self._db.scalars(
            select(Summary).where(Summary.session_id == session_id).order_by(Summary.version.desc()).limit(1)
        ).first()

    def page_of_session(self, session_id: str, *, cursor: str | None, limit: int) -> Page[Summary]:
        """Oldest version first."""
        stmt = select(Summary).where(Summary.session_id == session_id)
        return Keyset(Summary.version, Summary.id).page(self._db, stmt, cursor=cursor, limit=limit)

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
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Resource]:
        """Every word must start a token of the resource (prefix match on normalized tokens); newest first."""
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
        if tag:
            stmt = stmt.where(json_list_contains(self._db, orm.resources.c.tags, tag))
        keyset = Keyset(Resource.shared_at, Resource.id, descending=True)
        return keyset.page(self._db, stmt, cursor=cursor, limit=limit)

    def forget_sharer(self, member_id: str) -> None:
        self._db.execute(update(orm.resources).where(orm.resources.c.shared_by == member_id).values(shared_by=None))


class FeedRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, feed: CalendarFeed) -> None:
        self._db.add(feed)

    def get(self, feed_id: str) -> CalendarFeed | None:
        return self._db.get(CalendarFeed, feed_id)

    def by_token_hash(self, token_hash: str) -> CalendarFeed | None:
        return self._db.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash)).first()

    def page_of_community(self, community_id: str, *, cursor: str | None, limit: int) -> Page[CalendarFeed]:
        stmt = select(CalendarFeed).where(
            CalendarFeed.kind == FeedKind.COMMUNITY, CalendarFeed.community_id == community_id
        )
        return Keyset(CalendarFeed.created_at, CalendarFeed.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def page_of_member(self, member_id: str, *, cursor: str | None, limit: int) -> Page[CalendarFeed]:
        stmt = select(CalendarFeed).where(CalendarFeed.member_id == member_id)
        return Keyset(CalendarFeed.created_at, CalendarFeed.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def page_of_owner(self, subject: str, *, cursor: str | None, limit: int) -> Page[CalendarFeed]:
        """Feeds issued to a staff token (no member id), by its subject."""
        stmt = select(CalendarFeed).where(CalendarFeed.owner_subject == subject, CalendarFeed.member_id.is_(None))
        return Keyset(CalendarFeed.created_at, CalendarFeed.id).page(self._db, stmt, cursor=cursor, limit=limit)

    def delete_community_feeds_of(self, member_id: str, community_id: str) -> None:
        self._db.execute(
            orm.calendar_feeds.delete().where(
                orm.calendar_feeds.c.member_id == member_id,
                orm.calendar_feeds.c.community_id == community_id,
                orm.calendar_feeds.c.kind == FeedKind.COMMUNITY,
            )
        )

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


class ContactRepository:
    """The replica of registration's contacts: display names, and whether the member may be named to peers."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, contact: MemberContact) -> None:
        self._db.add(contact)

    def get(self, member_id: str) -> MemberContact | None:
        return self._db.get(MemberContact, member_id)

    def delete(self, contact: MemberContact) -> None:
        self._db.delete(contact)

    def names(self, member_ids: Iterable[str], *, listed_only: bool = False) -> dict[str, str]:
        wanted = {m for m in member_ids if m}
        if not wanted:
            return {}
        stmt = select(MemberContact.member_id, MemberContact.display_name).where(MemberContact.member_id.in_(wanted))
        if listed_only:
            stmt = stmt.where(MemberContact.listed)
        return dict(self._db.execute(stmt).tuples().all())
