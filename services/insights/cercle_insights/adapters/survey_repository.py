"""Surveys' repository: the only place with the SQL of surveys, invitations, answers and their projections."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cercle_shared.db.keyset import Keyset

from ..domain.model import Membership
from ..domain.surveys import Answer, Invitation, Survey, SurveyKind
from .orm import community_regions
from .survey_orm import survey_attendance, survey_consents, survey_invitations


@dataclass(frozen=True)
class HeldSession:
    session_id: str
    community_id: str
    theme_id: str | None
    starts_at: datetime | None
    recorded_at: datetime | None
    present_member_ids: list[str]


class SurveyRepository:
    def __init__(self, db: Session) -> None:
        self._db = db

    # -- surveys -----------------------------------------------------------------------------------------------

    def get(self, survey_id: str, *, lock: bool = False) -> Survey | None:
        # FOR NO KEY UPDATE: an answer being inserted (its foreign key takes KEY SHARE on the survey) never waits on
        # the job that holds the survey, which would then wait on the answer's invitation: a deadlock.
        return self._db.get(Survey, survey_id, with_for_update={"key_share": True} if lock else None)

    def add(self, survey: Survey) -> None:
        self._db.add(survey)

    def open_at(self, at: datetime) -> Sequence[Survey]:
        return self._db.scalars(select(Survey).where(_is_open(at))).all()

    def with_due_messages(self, open_surveys: Sequence[Survey], at: datetime) -> set[str]:
        """Those of `open_surveys` with an unanswered invitation of a consenting member whose next message is due at
        `at` (the invitation itself, or a reminder whose day has come: as `Invitation.due_round`), in one query per
        schedule of reminders (most surveys share one)."""
        schedules: dict[tuple[int, ...], list[str]] = defaultdict(list)
        for survey in open_surveys:
            schedules[tuple(survey.reminder_days)].append(survey.id)
        i, c = survey_invitations.c, survey_consents.c
        found: set[str] = set()
        for days, survey_ids in schedules.items():
            due = [i.rounds_sent == 0] + [
                and_(i.rounds_sent == n, i.issued_at <= at - timedelta(days=d)) for n, d in enumerate(days, start=1)
            ]
            for chunk in _chunks(survey_ids):
                found.update(
                    self._db.scalars(
                        select(i.survey_id)
                        .distinct()
                        .join(survey_consents, c.member_id == i.member_id)
                        .where(i.survey_id.in_(chunk), i.answered.is_(False), c.granted.is_(True), or_(*due))
                    )
                )
        return found

    def with_newcomers(self, at: datetime) -> set[str]:
        """Open surveys that ask somebody who consented and is not invited yet (as the job's targets: the members
        present at a feedback survey's session; the current members of an annual survey's community, or of its
        region's communities), in three queries for every open survey."""
        return self._feedback_with_newcomers(at) | self._annual_with_newcomers(at)

    def _feedback_with_newcomers(self, at: datetime) -> set[str]:
        feedback = and_(_is_open(at), Survey.kind == SurveyKind.SESSION_FEEDBACK, Survey.session_id.is_not(None))
        a, i = survey_attendance.c, survey_invitations.c
        present = {
            survey_id: set(members or [])
            for survey_id, members in self._db.execute(
                select(Survey.id, a.present_member_ids)
                .join(survey_attendance, a.session_id == Survey.session_id)
                .where(feedback)
            )
        }
        if not any(present.values()):
            return set()
        invited: dict[str, set[str]] = defaultdict(set)
        for survey_id, member_id in self._db.execute(
            select(i.survey_id, i.member_id).where(i.survey_id.in_(select(Survey.id).where(feedback)))
        ):
            invited[survey_id].add(member_id)
        consenting = self.consenting(set().union(*present.values()))
        return {survey_id for survey_id, members in present.items() if (members & consenting) - invited[survey_id]}

    def _annual_with_newcomers(self, at: datetime) -> set[str]:
        i, c, cr = survey_invitations.c, survey_consents.c, community_regions.c
        asks = or_(
            and_(Survey.community_id.is_not(None), Membership.community_id == Survey.community_id),
            and_(
                Survey.community_id.is_(None),
                Survey.region.is_not(None),
                Membership.community_id.in_(select(cr.community_id).where(cr.region == Survey.region)),
            ),
        )
        return set(
            self._db.scalars(
                select(Survey.id)
                .distinct()
                .join(Membership, asks)
                .join(survey_consents, c.member_id == Membership.member_id)
                .where(
                    _is_open(at),
                    or_(Survey.kind != SurveyKind.SESSION_FEEDBACK, Survey.session_id.is_(None)),
                    Membership.joined_at.is_not(None),
                    Membership.left_at.is_(None),
                    c.granted.is_(True),
                    ~exists().where(i.survey_id == Survey.id, i.member_id == Membership.member_id),
                )
            )
        )

    def page(
        self,
        *,
        regions: Collection[str] | None,
        community_id: str | None,
        region: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[Sequence[Survey], str | None]:
        """Surveys newest first; `regions` limits them to those of communities or regions among them."""
        stmt = select(Survey)
        if regions is not None:
            in_scope = select(community_regions.c.community_id).where(community_regions.c.region.in_(regions))
            stmt = stmt.where((Survey.region.in_(regions)) | (Survey.community_id.in_(in_scope)))
        if community_id is not None:
            stmt = stmt.where(Survey.community_id == community_id)
        if region is not None:
            stmt = stmt.where(Survey.region == region)
        return Keyset(Survey.opens_at, Survey.id, descending=True).page(self._db, stmt, cursor=cursor, limit=limit)

    # -- invitations (participation) ---------------------------------------------------------------------------

    def invitation(self, invitation_id: str, *, lock: bool = False) -> Invitation | None:
        return self._db.get(Invitation, invitation_id, with_for_update=lock)

    def invitation_of(self, survey_id: str, member_id: str, *, lock: bool = False) -> Invitation | None:
        stmt = select(Invitation).where(Invitation.survey_id == survey_id, Invitation.member_id == member_id)
        if lock:
            stmt = stmt.with_for_update()
        return self._db.scalars(stmt).first()

    def add_invitation(self, invitation: Invitation) -> None:
        self._db.add(invitation)

    def invitations_to(self, survey_id: str, *, lock: bool = False) -> Sequence[Invitation]:
        stmt = select(Invitation).where(Invitation.survey_id == survey_id)
        if lock:
            stmt = stmt.with_for_update()
        return self._db.scalars(stmt).all()

    def invitations_of_member(self, member_id: str) -> Sequence[tuple[Invitation, Survey]]:
        rows = self._db.execute(
            select(Invitation, Survey)
            .join(Survey, Survey.id == Invitation.survey_id)
            .where(Invitation.member_id == member_id)
            .order_by(Survey.closes_at.desc(), Survey.id)
        ).all()
        return [(invitation, survey) for invitation, survey in rows]

    def participation(self, survey_id: str) -> tuple[int, int]:
        """(invited, answered): counts only."""
        invited, answered = self._db.execute(
            select(func.count(), func.coalesce(func.sum(case((Invitation.answered.is_(True), 1), else_=0)), 0)).where(
                Invitation.survey_id == survey_id
            )
        ).one()
        return int(invited), int(answered or 0)

    def forget_member(self, member_id: str) -> None:
        """Erasure: she was never asked (her answers, which never named her, stay)."""
        self._db.execute(delete(survey_invitations).where(survey_invitations.c.member_id == member_id))
        self._db.execute(delete(survey_consents).where(survey_consents.c.member_id == member_id))
        for session_id, present in self._db.execute(
            select(survey_attendance.c.session_id, survey_attendance.c.present_member_ids)
        ).all():
            if member_id in (present or []):
                self._db.execute(
                    update(survey_attendance)
                    .where(survey_attendance.c.session_id == session_id)
                    .values(present_member_ids=[m for m in present if m != member_id])
                )

    # -- answers -----------------------------------------------------------------------------------------------

    def add_answer(self, answer: Answer) -> None:
        self._db.add(answer)

    def answers(
        self,
        *,
        survey_ids: Collection[str] | None = None,
        community_ids: Collection[str] | None = None,
        year: int | None = None,
        theme_id: str | None = None,
        session_id: str | None = None,
        kind: str | None = None,
    ) -> Sequence[Answer]:
        stmt = select(Answer)
        if survey_ids is not None:
            stmt = stmt.where(Answer.survey_id.in_(survey_ids))
        if community_ids is not None:
            stmt = stmt.where(Answer.community_id.in_(community_ids))
        if year is not None:
            stmt = stmt.where(Answer.year == year)
        if theme_id is not None:
            stmt = stmt.where(Answer.theme_id == theme_id)
        if session_id is not None:
            stmt = stmt.where(Answer.session_id == session_id)
        if kind is not None:
            stmt = stmt.where(Answer.kind == kind)
        return self._db.scalars(stmt.order_by(Answer.id)).all()  # random ids: an order that says nothing

    def regions_of(self, community_ids: Collection[str]) -> dict[str, list[str]]:
        regions: dict[str, list[str]] = {}
        for community_id, region in self._db.execute(
            select(community_regions.c.community_id, community_regions.c.region)
            .where(community_regions.c.community_id.in_(community_ids))
            .order_by(community_regions.c.region)
        ):
            regions.setdefault(community_id, []).append(region)
        return regions

    def communities_in(self, regions: Collection[str]) -> list[str]:
        return list(
            self._db.scalars(
                select(community_regions.c.community_id).where(community_regions.c.region.in_(regions)).distinct()
            )
        )

    # -- consents (projection) ---------------------------------------------------------------------------------

    def set_consent(self, member_id: str, granted: bool, at: datetime) -> None:
        """The latest change wins (events of one member share a partition, but a replay may bring older ones)."""
        current = self._db.execute(
            select(survey_consents.c.changed_at).where(survey_consents.c.member_id == member_id)
        ).scalar_one_or_none()
        if current is None:
            self._db.execute(insert(survey_consents).values(member_id=member_id, granted=granted, changed_at=at))
        elif at >= current:
            self._db.execute(
                update(survey_consents)
                .where(survey_consents.c.member_id == member_id)
                .values(granted=granted, changed_at=at)
            )

    def consenting(self, member_ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(member_ids):  # the job asks about every member of every open survey at once
            found.update(
                self._db.scalars(
                    select(survey_consents.c.member_id).where(
                        survey_consents.c.member_id.in_(chunk), survey_consents.c.granted.is_(True)
                    )
                )
            )
        return found

    # -- who is surveyed (projections) -------------------------------------------------------------------------

    def active_members(self, community_ids: Collection[str]) -> list[tuple[str, str]]:
        """(member_id, community_id) of current members, each member once (her first community by id)."""
        rows = self._db.execute(
            select(Membership.member_id, Membership.community_id)
            .where(
                Membership.community_id.in_(list(community_ids)),
                Membership.member_id.is_not(None),
                Membership.joined_at.is_not(None),
                Membership.left_at.is_(None),
            )
            .order_by(Membership.member_id, Membership.community_id)
        ).all()
        seen: dict[str, str] = {}
        for member_id, community_id in rows:
            seen.setdefault(member_id, community_id)
        return sorted(seen.items())

    def note_held(self, session_id: str, community_id: str, theme_id: str | None, starts_at: datetime) -> None:
        values = {"theme_id": theme_id, "held": True, "starts_at": starts_at}
        if not self._update_attendance(session_id, values):
            self._db.execute(
                insert(survey_attendance).values(
                    session_id=session_id, community_id=community_id, present_member_ids=[], **values
                )
            )

    def note_present(self, session_id: str, community_id: str, member_ids: list[str], at: datetime) -> None:
        values = {"present_member_ids": member_ids, "recorded_at": at}
        if not self._update_attendance(session_id, values):
            self._db.execute(
                insert(survey_attendance).values(session_id=session_id, community_id=community_id, held=False, **values)
            )

    def _update_attendance(self, session_id: str, values: dict[str, object]) -> bool:
        result = self._db.execute(
            update(survey_attendance).where(survey_attendance.c.session_id == session_id).values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def held_sessions_without_survey(self, *, after: datetime, until: datetime) -> list[HeldSession]:
        """Held sessions with members marked present whose feedback survey does not exist yet, held (or, without a
        start time, recorded) in (`after`, `until`]: older ones are never asked, and stay out of the job's way."""
        a = survey_attendance.c
        rows = self._db.execute(
            select(a.session_id, a.community_id, a.theme_id, a.starts_at, a.recorded_at, a.present_member_ids).where(
                a.held.is_(True),
                a.recorded_at.is_not(None),
                or_(
                    and_(a.starts_at.is_not(None), a.starts_at > after, a.starts_at <= until),
                    and_(a.starts_at.is_(None), a.recorded_at > after, a.recorded_at <= until),
                ),
                a.session_id.not_in(select(Survey.session_id).where(Survey.session_id.is_not(None))),
            )
        ).all()
        return [HeldSession(*row[:5], present_member_ids=list(row[5] or [])) for row in rows]

    def present_at(self, session_id: str) -> list[str]:
        found = self._db.execute(
            select(survey_attendance.c.present_member_ids).where(survey_attendance.c.session_id == session_id)
        ).scalar_one_or_none()
        return list(found or [])


def _is_open(at: datetime) -> ColumnElement[bool]:
    return and_(Survey.opens_at <= at, Survey.closes_at > at, Survey.closed_at.is_(None))


def _chunks(values: Collection[str], size: int = 1000) -> list[list[str]]:
    """Bounded IN lists: SQLite and PostgreSQL cap the parameters of one statement."""
    ordered = sorted(values)
    return [ordered[n : n + size] for n in range(0, len(ordered), size)]
