"""SQL of community health and of the figures by organization, region, theme and year."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, extract, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cercle_shared.privacy import erasure_key

from ..domain.health import Attended, Facts, HealthChanged, HealthWatch, Meeting, Span
from ..domain.model import Community, CommunitySession, Membership, SessionStatus
from . import orm
from .health_orm import (
    health_alerts,
    member_profiles,
    organizations,
    session_attendees,
    session_themes,
    theme_votes,
    themes,
)
from .orm import community_regions

# Enough ids per IN (...) to stay far from SQLite's bound on parameters.
CHUNK = 500


@dataclass(frozen=True)
class AlertRow:
    alert_id: str
    community_id: str
    status: str
    signals: list[str]
    score: float
    month: date
    alerted_at: datetime


@dataclass(frozen=True)
class ThemeRow:
    id: str
    community_id: str
    cycle_id: str | None
    title: str | None
    proposed_at: datetime | None
    merged_into_id: str | None
    retained: bool
    rank: int | None
    votes: int | None


class HealthRecords:
    def __init__(self, db: Session) -> None:
        self._db = db

    # -- projections, written by the reactions --------------------------------------------------------------------

    def save_profile(
        self, member_id: str, organization_id: str | None, region: str | None, registered_at: datetime | None
    ) -> None:
        found = self._db.execute(
            select(member_profiles.c.registered_at).where(member_profiles.c.member_id == member_id)
        ).first()
        values = {"organization_id": organization_id, "region": region}
        if found is None:
            self._db.execute(insert(member_profiles).values(member_id=member_id, registered_at=registered_at, **values))
        else:
            if registered_at is not None:
                values["registered_at"] = registered_at  # type: ignore[assignment]
            self._db.execute(update(member_profiles).where(member_profiles.c.member_id == member_id).values(**values))

    def forget_member(self, member_id: str) -> None:
        """Erasure: the employer and region go with the profile; attendance stays, counted, with no member."""
        self._db.execute(delete(member_profiles).where(member_profiles.c.member_id == member_id))
        self._db.execute(
            update(session_attendees).where(session_attendees.c.member_id == member_id).values(member_id=None)
        )

    def save_organization(self, organization_id: str, name: str, region: str | None) -> None:
        if self._exists(organizations.c.id, organization_id):
            self._db.execute(
                update(organizations).where(organizations.c.id == organization_id).values(name=name, region=region)
            )
        else:
            self._db.execute(insert(organizations).values(id=organization_id, name=name, region=region))

    def delete_organization(self, organization_id: str, at: datetime) -> None:
        if not self._exists(organizations.c.id, organization_id):
            self._db.execute(insert(organizations).values(id=organization_id))
        self._db.execute(update(organizations).where(organizations.c.id == organization_id).values(deleted_at=at))

    def _theme(self, theme_id: str, community_id: str) -> None:
        if not self._exists(themes.c.id, theme_id):
            self._db.execute(insert(themes).values(id=theme_id, community_id=community_id, retained=False))

    def theme_proposed(
        self, theme_id: str, community_id: str, cycle_id: str, title: str, proposed_at: datetime
    ) -> None:
        self._theme(theme_id, community_id)
        self._db.execute(
            update(themes)
            .where(themes.c.id == theme_id)
            .values(community_id=community_id, cycle_id=cycle_id, title=title, proposed_at=proposed_at)
        )

    def theme_merged(self, theme_id: str, into_theme_id: str, community_id: str, cycle_id: str) -> None:
        self._theme(theme_id, community_id)
        self._theme(into_theme_id, community_id)
        self._db.execute(
            update(themes).where(themes.c.id == theme_id).values(merged_into_id=into_theme_id, cycle_id=cycle_id)
        )

    def themes_retained(self, community_id: str, cycle_id: str, retained: Iterable[tuple[str, str, int, int]]) -> None:
        """(theme_id, title, votes, rank) of each retained theme; the cycle's others are not retained."""
        self._db.execute(
            update(themes)
            .where(themes.c.community_id == community_id, themes.c.cycle_id == cycle_id)
            .values(retained=False, rank=None)
        )
        for theme_id, title, votes, rank in retained:
            self._theme(theme_id, community_id)
            self._db.execute(
                update(themes)
                .where(themes.c.id == theme_id)
                .values(
                    cycle_id=cycle_id, retained=True, rank=rank, votes=votes, title=func.coalesce(themes.c.title, title)
                )
            )

    def vote_cast(self, vote_id: str, theme_id: str, community_id: str, cycle_id: str, cast_at: datetime) -> None:
        """One row per vote, in one statement (votes are most of the program topic): a vote told twice is one."""
        values = {
            "vote_id": vote_id,
            "theme_id": theme_id,
            "community_id": community_id,
            "cycle_id": cycle_id,
            "cast_at": cast_at,
        }
        dialect = self._db.get_bind().dialect.name
        if dialect == "postgresql":
            self._db.execute(pg_insert(theme_votes).values(**values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            self._db.execute(sqlite_insert(theme_votes).values(**values).on_conflict_do_nothing())
        elif not self._exists(theme_votes.c.vote_id, vote_id):
            self._db.execute(insert(theme_votes).values(**values))

    def erased_among(self, member_ids: Collection[str]) -> set[str]:
        """Those of `member_ids` who were erased, in one query (the ledger keeps digests, not ids)."""
        keys = {erasure_key(m): m for m in member_ids}
        if not keys:
            return set()
        t = orm.erased_members
        return {keys[k] for k in self._db.scalars(select(t.c.key).where(t.c.key.in_(list(keys))))}

    def session_theme(self, session_id: str, community_id: str, theme_id: str | None) -> None:
        """A later event without a theme does not undo the theme an earlier one named."""
        found = self._db.execute(
            select(session_themes.c.theme_id).where(session_themes.c.session_id == session_id)
        ).first()
        if found is None:
            self._db.execute(
                insert(session_themes).values(session_id=session_id, community_id=community_id, theme_id=theme_id)
            )
        elif theme_id is not None:
            self._db.execute(
                update(session_themes).where(session_themes.c.session_id == session_id).values(theme_id=theme_id)
            )

    def set_attendees(self, session_id: str, community_id: str, member_ids: Collection[str]) -> None:
        """Recorded or corrected: the latest list replaces the earlier one."""
        self._db.execute(delete(session_attendees).where(session_attendees.c.session_id == session_id))
        if member_ids:
            self._db.execute(
                insert(session_attendees),
                [{"session_id": session_id, "community_id": community_id, "member_id": m} for m in member_ids],
            )

    def _exists(self, column, value: str) -> bool:  # type: ignore[no-untyped-def]
        return self._db.execute(select(column).where(column == value)).first() is not None

    # -- the facts behind the monthly series ------------------------------------------------------------------------

    def facts(self, communities: Sequence[Community], *, attended: bool = True, votes: bool = True) -> dict[str, Facts]:
        """Each community's facts, in a handful of grouped queries per chunk of communities.

        `attended=False` leaves out who attended (only the series' first-timers need it, and it is the costliest
        query): for the score, the signals and the figures by year. `votes=False` leaves out the votes (most of the
        rows) for a caller that counts them by year in SQL (`votes_by_year`).
        """
        out: dict[str, Facts] = {}
        for start in range(0, len(communities), CHUNK):
            chunk = communities[start : start + CHUNK]
            out.update(self._facts(chunk, attended, votes))
        return out

    def votes_by_year(self, community_ids: Sequence[str]) -> dict[str, dict[int, int]]:
        """Votes cast per community and calendar year (UTC), counted by the database."""
        v = theme_votes.c
        cast_at = v.cast_at
        if self._db.get_bind().dialect.name == "postgresql":
            cast_at = func.timezone("UTC", v.cast_at)  # the year of the UTC day, whatever the session's time zone
        year = extract("year", cast_at)
        out: dict[str, dict[int, int]] = defaultdict(dict)
        for start in range(0, len(community_ids), CHUNK):
            ids = list(community_ids[start : start + CHUNK])
            for community_id, y, count in self._db.execute(
                select(v.community_id, year, func.count()).where(v.community_id.in_(ids)).group_by(v.community_id, year)
            ):
                out[community_id][int(y)] = int(count)
        return dict(out)

    def _facts(self, communities: Sequence[Community], with_attended: bool, with_votes: bool) -> dict[str, Facts]:
        ids = [c.id for c in communities]
        spans: dict[str, list[Span]] = defaultdict(list)
        m = Membership
        for community_id, membership_id, member_id, joined_at, left_at in self._db.execute(
            select(m.community_id, m.id, m.member_id, m.joined_at, m.left_at).where(
                m.community_id.in_(ids), m.joined_at.is_not(None)
            )
        ):
            spans[community_id].append(Span(member_id or membership_id, joined_at, left_at))
        meetings: dict[str, list[Meeting]] = defaultdict(list)
        s = CommunitySession
        for community_id, starts_at, present, absent in self._db.execute(
            select(s.community_id, s.starts_at, s.present, s.absent).where(
                s.community_id.in_(ids),
                s.starts_at.is_not(None),
                or_(s.status == SessionStatus.HELD, s.present.is_not(None)),
                or_(s.status.is_(None), s.status != SessionStatus.CANCELLED),
            )
        ):
            meetings[community_id].append(Meeting(starts_at, present, absent))
        attended: dict[str, list[Attended]] = defaultdict(list)
        a = session_attendees.c
        # Only each member's first session matters (first-timers): the database keeps the rest.
        first_sessions = (
            select(a.community_id, a.member_id, func.min(s.starts_at))
            .join(s, s.id == a.session_id)
            .where(a.community_id.in_(ids), a.member_id.is_not(None), s.starts_at.is_not(None))
            .group_by(a.community_id, a.member_id)
        )
        for community_id, member_id, starts_at in self._db.execute(first_sessions) if with_attended else ():
            attended[community_id].append(Attended(member_id, starts_at))
        proposals: dict[str, list[datetime]] = defaultdict(list)
        for community_id, proposed_at in self._db.execute(
            select(themes.c.community_id, themes.c.proposed_at).where(
                themes.c.community_id.in_(ids), themes.c.proposed_at.is_not(None)
            )
        ):
            proposals[community_id].append(proposed_at)
        votes: dict[str, list[datetime]] = defaultdict(list)
        cast = select(theme_votes.c.community_id, theme_votes.c.cast_at).where(theme_votes.c.community_id.in_(ids))
        for community_id, cast_at in self._db.execute(cast) if with_votes else ():
            votes[community_id].append(cast_at)
        return {
            c.id: Facts(
                created_at=c.created_at,
                spans=spans.get(c.id, []),
                meetings=meetings.get(c.id, []),
                attended=attended.get(c.id, []),
                proposals=proposals.get(c.id, []),
                votes=votes.get(c.id, []),
            )
            for c in communities
        }

    def assessable(self, among: Collection[str] | None = None) -> Sequence[Community]:
        """Described communities that are active (paused and closed ones are not assessed)."""
        stmt = select(Community).where(Community.name_fr.is_not(None), Community.status == "active")
        if among is not None:
            stmt = stmt.where(Community.id.in_(list(among)))
        return self._db.scalars(stmt.order_by(Community.id)).all()

    def in_region(self, region: str) -> Sequence[Community]:
        in_region = select(community_regions.c.community_id).where(community_regions.c.region == region)
        return self._db.scalars(
            select(Community).where(Community.name_fr.is_not(None), Community.id.in_(in_region)).order_by(Community.id)
        ).all()

    # -- alert state (owned) ---------------------------------------------------------------------------------------

    def watch(self, community_id: str) -> HealthWatch:
        found = self._db.get(HealthWatch, community_id)
        if found is None:
            found = HealthWatch(community_id=community_id)
            self._db.add(found)
        return found

    def watches(self, community_ids: Collection[str]) -> dict[str, HealthWatch]:
        found = self._db.scalars(select(HealthWatch).where(HealthWatch.community_id.in_(list(community_ids)))).all()
        return {w.community_id: w for w in found}

    def add_alert(self, change: HealthChanged) -> None:
        self._db.execute(
            insert(health_alerts).values(
                alert_id=change.alert_id,
                community_id=change.community_id,
                status=change.status,
                signals=list(change.signals),
                score=change.score,
                month=change.month,
                alerted_at=change.at,
            )
        )

    def alerts(self, community_id: str, limit: int = 100) -> list[AlertRow]:
        rows = self._db.execute(
            select(health_alerts)
            .where(health_alerts.c.community_id == community_id)
            .order_by(health_alerts.c.alerted_at.desc(), health_alerts.c.alert_id)
            .limit(limit)
        ).all()
        return [
            AlertRow(r.alert_id, r.community_id, r.status, list(r.signals), r.score, r.month, r.alerted_at)
            for r in rows
        ]

    # -- read by the breakdowns -------------------------------------------------------------------------------------

    def organization(self, organization_id: str) -> tuple[str | None, str | None, datetime | None] | None:
        row = self._db.execute(
            select(organizations.c.name, organizations.c.region, organizations.c.deleted_at).where(
                organizations.c.id == organization_id
            )
        ).first()
        return None if row is None else (row.name, row.region, row.deleted_at)

    def members_of_organization(self, organization_id: str) -> list[str]:
        return list(
            self._db.scalars(
                select(member_profiles.c.member_id).where(member_profiles.c.organization_id == organization_id)
            )
        )

    def memberships_of_members(self, member_ids: Collection[str]) -> list[Membership]:
        out: list[Membership] = []
        ids = list(member_ids)
        for start in range(0, len(ids), CHUNK):
            out.extend(
                self._db.scalars(
                    select(Membership).where(
                        Membership.member_id.in_(ids[start : start + CHUNK]), Membership.joined_at.is_not(None)
                    )
                )
            )
        return out

    def attendance_of_members(self, member_ids: Collection[str]) -> list[tuple[str, str, datetime]]:
        """(member_id, community_id, session start) of each session they were present at."""
        out: list[tuple[str, str, datetime]] = []
        ids = list(member_ids)
        a, s = session_attendees.c, CommunitySession
        for start in range(0, len(ids), CHUNK):
            out.extend(
                (m, c, t)
                for m, c, t in self._db.execute(
                    select(a.member_id, a.community_id, s.starts_at)
                    .join(s, s.id == a.session_id)
                    .where(a.member_id.in_(ids[start : start + CHUNK]), s.starts_at.is_not(None))
                )
            )
        return out

    def theme(self, theme_id: str) -> ThemeRow | None:
        row = self._db.execute(select(themes).where(themes.c.id == theme_id)).first()
        if row is None:
            return None
        return ThemeRow(
            row.id,
            row.community_id,
            row.cycle_id,
            row.title,
            row.proposed_at,
            row.merged_into_id,
            row.retained,
            row.rank,
            row.votes,
        )

    def merged_into(self, theme_id: str) -> list[str]:
        return list(self._db.scalars(select(themes.c.id).where(themes.c.merged_into_id == theme_id)))

    def votes_for(self, theme_ids: Collection[str]) -> int:
        return int(
            self._db.scalar(select(func.count()).select_from(theme_votes).where(theme_votes.c.theme_id.in_(theme_ids)))
            or 0
        )

    def sessions_of_theme(self, theme_id: str) -> list[CommunitySession]:
        ids = select(session_themes.c.session_id).where(session_themes.c.theme_id == theme_id)
        return list(self._db.scalars(select(CommunitySession).where(CommunitySession.id.in_(ids))))

    def attendees_of_sessions(self, session_ids: Collection[str]) -> list[str | None]:
        return list(
            self._db.scalars(
                select(session_attendees.c.member_id).where(session_attendees.c.session_id.in_(session_ids))
            )
        )

    def community(self, community_id: str) -> Community | None:
        return self._db.get(Community, community_id)
