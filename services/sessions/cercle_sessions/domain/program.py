"""A community's program year: theme proposals, the vote, and the year plan drawn from the retained themes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from cercle_shared.domain import Aggregate
from cercle_shared.errors import Conflict, InvalidInput

from . import events
from .model import Mode, Session, check_aware, check_sane_year, check_timezone, new_id, now


class CycleStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the vote is counted


class PlanStatus(StrEnum):
    NONE = "none"
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"


class ThemeStatus(StrEnum):
    PROPOSED = "proposed"
    MERGED = "merged"
    RETAINED = "retained"
    NOT_RETAINED = "not_retained"


@dataclass(eq=False)
class Theme(Aggregate):
    id: str
    cycle_id: str
    community_id: str
    title: str
    need: str
    description: str = ""
    proposer_id: str | None = None
    proposed_at: datetime = field(default_factory=now)
    merged_into: str | None = None
    status: ThemeStatus = ThemeStatus.PROPOSED


@dataclass(eq=False)
class Vote:
    """One ballot of a member on a theme; part of the ProgramCycle aggregate."""

    id: str
    cycle_id: str
    theme_id: str
    member_id: str
    cast_at: datetime


@dataclass(frozen=True)
class Tally:
    theme_id: str
    title: str
    votes: int
    proposed_at: datetime


def rank(themes: list[Theme], votes: list[Vote]) -> list[Tally]:
    """Most votes first; a tie goes to the theme proposed first, then to the smaller id (deterministic)."""
    counts: dict[str, int] = {}
    for vote in votes:
        counts[vote.theme_id] = counts.get(vote.theme_id, 0) + 1
    tallies = [Tally(t.id, t.title, counts.get(t.id, 0), t.proposed_at) for t in themes if t.merged_into is None]
    return sorted(tallies, key=lambda t: (-t.votes, t.proposed_at, t.theme_id))


@dataclass(frozen=True)
class PlannedSession:
    theme_id: str
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class SessionTerms:
    """What the sessions of a confirmed plan share."""

    capacity: int
    mode: Mode = Mode.IN_PERSON
    location: str | None = None
    link: str | None = None
    timezone: str = "America/Toronto"


MAX_CYCLE_DAYS = 3 * 366  # a program year with room to spare: a plan is drawn day by day over the cycle
WINDOW_BOUNDS = ("proposals_open_at", "proposals_close_at", "voting_opens_at", "voting_closes_at")


@dataclass(eq=False)
class ProgramCycle(Aggregate):
    """A community's program year: proposal and voting windows, the retained themes, the year plan."""

    id: str
    community_id: str
    label: str
    starts_on: date
    ends_on: date
    proposals_open_at: datetime
    proposals_close_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    themes_to_retain: int = 3
    sessions_per_theme: int = 2
    votes_per_member: int = 3
    max_votes_per_theme: int = 1
    status: CycleStatus = CycleStatus.OPEN
    retained: list[dict[str, Any]] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    plan_status: PlanStatus = PlanStatus.NONE
    created_at: datetime = field(default_factory=now)
    version: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name in WINDOW_BOUNDS:
            check_aware(getattr(self, name), name)
        check_sane_year(self.starts_on, "starts_on")
        check_sane_year(self.ends_on, "ends_on")
        if self.ends_on <= self.starts_on:
            raise InvalidInput("a cycle ends after it starts", field="ends_on")
        if (self.ends_on - self.starts_on).days > MAX_CYCLE_DAYS:
            raise InvalidInput("a program cycle lasts three years at most", field="ends_on")
        if self.proposals_close_at <= self.proposals_open_at:
            raise InvalidInput("proposals close after they open", field="proposals_close_at")
        if self.voting_closes_at <= self.voting_opens_at:
            raise InvalidInput("voting closes after it opens", field="voting_closes_at")
        if self.voting_opens_at < self.proposals_close_at:
            raise InvalidInput("voting opens once proposals are closed", field="voting_opens_at")
        if self.max_votes_per_theme > self.votes_per_member:
            raise InvalidInput("at most votes_per_member votes on one theme", field="max_votes_per_theme")

    @classmethod
    def open(cls, *, at: datetime, **details: Any) -> ProgramCycle:
        cycle = cls(id=new_id(), created_at=at, **details)
        cycle.record(
            events.ProgramCycleOpened(
                cycle_id=cycle.id,
                community_id=cycle.community_id,
                starts_on=cycle.starts_on,
                ends_on=cycle.ends_on,
                proposals_open_at=cycle.proposals_open_at,
                proposals_close_at=cycle.proposals_close_at,
                voting_opens_at=cycle.voting_opens_at,
                voting_closes_at=cycle.voting_closes_at,
                themes_to_retain=cycle.themes_to_retain,
                sessions_per_theme=cycle.sessions_per_theme,
                opened_at=at,
            )
        )
        return cycle

    def overlaps(self, other: ProgramCycle) -> bool:
        return other.id != self.id and other.starts_on <= self.ends_on and self.starts_on <= other.ends_on

    def change(self, at: datetime, *, planned: Iterable[Session] = (), **changes: Any) -> None:
        """New dates (or a new label) after the cycle opened. What already happened stays: a window boundary
        already passed, or the first day of a cycle already begun, cannot move; a boundary still ahead cannot
        move into the past; the windows stay in order. A proposed plan drawn from the old span is dropped (propose
        it again); the sessions of a confirmed plan (`planned`) must stay within the new span."""
        unknown = set(changes) - {"label", "starts_on", "ends_on", *WINDOW_BOUNDS}
        if unknown:
            raise InvalidInput(f"these cannot change: {sorted(unknown)}", field=sorted(unknown)[0])
        changes = {name: value for name, value in changes.items() if getattr(self, name) != value}
        today = at.date()
        for name in WINDOW_BOUNDS:
            if name not in changes:
                continue
            if getattr(self, name) <= at:
                raise Conflict(f"{name.replace('_', ' ')} has passed: it can no longer move", field=name)
            check_aware(changes[name], name)
            if changes[name] < at:
                raise InvalidInput(f"{name.replace('_', ' ')} cannot move into the past", field=name)
        if "starts_on" in changes and self.starts_on <= today:
            raise Conflict("the cycle has begun: its first day can no longer move", field="starts_on")
        if "ends_on" in changes:
            if self.ends_on < today:
                raise Conflict("the cycle has ended: its last day can no longer move", field="ends_on")
            if changes["ends_on"] < today:
                raise InvalidInput("a cycle cannot end in the past", field="ends_on")
        before = (self.starts_on, self.ends_on)
        for name, value in changes.items():
            setattr(self, name, value)
        self.validate()
        if (self.starts_on, self.ends_on) == before:
            return
        if self.plan_status == PlanStatus.PROPOSED:
            self.plan, self.plan_status = [], PlanStatus.NONE
        outside = [s for s in planned if not self.starts_on <= s.local_day <= self.ends_on]
        if outside:
            field_name = "starts_on" if outside[0].local_day < self.starts_on else "ends_on"
            raise Conflict(
                f"{len(outside)} session(s) of the confirmed plan would fall outside the cycle: move them first",
                field=field_name,
            )

    def propose(self, *, title: str, need: str, description: str, proposer_id: str | None, at: datetime) -> Theme:
        if not (self.proposals_open_at <= at < self.proposals_close_at):
            raise Conflict("theme proposals are not open now", field="cycle_id")
        theme = Theme(new_id(), self.id, self.community_id, title, need, description, proposer_id, at)
        self.record(
            events.ThemeProposed(
                theme_id=theme.id,
                cycle_id=self.id,
                community_id=self.community_id,
                title=theme.title,
                need=theme.need,
                proposed_at=at,
            )
        )
        return theme

    def merge(self, duplicate: Theme, into: Theme, at: datetime) -> None:
        if self.status != CycleStatus.OPEN or at >= self.voting_opens_at:
            raise Conflict("themes are merged before voting opens", field="theme_id")
        if duplicate.id == into.id:
            raise InvalidInput("a theme cannot be merged into itself", field="into_theme_id")
        if duplicate.merged_into or into.merged_into:
            raise Conflict("this theme was already merged", field="theme_id")
        duplicate.merged_into = into.id
        duplicate.status = ThemeStatus.MERGED
        self.record(
            events.ThemeMerged(
                theme_id=duplicate.id,
                into_theme_id=into.id,
                cycle_id=self.id,
                community_id=self.community_id,
                merged_at=at,
            )
        )

    def cast(self, theme: Theme, member_id: str, own_votes: list[Vote], at: datetime) -> Vote:
        if self.status != CycleStatus.OPEN or not (self.voting_opens_at <= at < self.voting_closes_at):
            raise Conflict("voting is not open now", field="cycle_id")
        if theme.merged_into is not None:
            raise Conflict("this theme was merged into another: vote for that one", field="theme_id")
        if len(own_votes) >= self.votes_per_member:
            raise Conflict(f"each member has {self.votes_per_member} votes, all cast already", field="theme_id")
        if sum(v.theme_id == theme.id for v in own_votes) >= self.max_votes_per_theme:
            raise Conflict(f"at most {self.max_votes_per_theme} vote(s) per theme", field="theme_id")
        vote = Vote(new_id(), self.id, theme.id, member_id, at)
        self.record(
            events.VoteCast(
                vote_id=vote.id, theme_id=theme.id, cycle_id=self.id, community_id=self.community_id, cast_at=at
            )
        )
        if not own_votes:
            self.record(
                events.BallotCast(cycle_id=self.id, community_id=self.community_id, member_id=member_id, cast_at=at)
            )
        return vote

    def is_due_for_closing(self, at: datetime) -> bool:
        return self.status == CycleStatus.OPEN and self.voting_closes_at <= at

    def close_vote(self, themes: list[Theme], votes: list[Vote], at: datetime) -> list[Tally]:
        if self.status != CycleStatus.OPEN:
            raise Conflict("the vote of this cycle is already closed", field="cycle_id")
        if at < self.voting_opens_at:
            raise Conflict("voting has not opened yet", field="cycle_id")
        ranking = rank(themes, votes)
        retained = ranking[: self.themes_to_retain]
        ids = {t.theme_id for t in retained}
        for theme in themes:
            if theme.merged_into is None:
                theme.status = ThemeStatus.RETAINED if theme.id in ids else ThemeStatus.NOT_RETAINED
        self.status = CycleStatus.CLOSED
        self.voting_closes_at = min(self.voting_closes_at, at)
        self.retained = [
            {"theme_id": t.theme_id, "title": t.title, "votes": t.votes, "rank": i + 1} for i, t in enumerate(retained)
        ]
        self.record(
            events.ThemesRetained(
                cycle_id=self.id,
                community_id=self.community_id,
                themes=tuple(
                    events.RetainedTheme(theme_id=t.theme_id, title=t.title, votes=t.votes, rank=i + 1)
                    for i, t in enumerate(retained)
                ),
                total_votes=len(votes),
                retained_at=at,
            )
        )
        return retained

    def propose_plan(
        self,
        *,
        weekday: int,
        start_time: time,
        duration: timedelta,
        timezone: str,
        blackouts: Iterable[tuple[date, date]] = (),
    ) -> None:
        """Draw the year plan from the retained themes (see `plan_year`), skipping the blackout periods (single
        days are periods of one day); the coordinator may adjust it."""
        if not self.retained:
            raise Conflict("close the vote first: the plan is drawn from the retained themes", field="cycle_id")
        plan = plan_year(
            self.retained,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            sessions_per_theme=self.sessions_per_theme,
            weekday=weekday,
            start_time=start_time,
            duration=duration,
            timezone=timezone,
            blackout_dates=frozenset(blackout_days(blackouts, within=(self.starts_on, self.ends_on))),
        )
        if self.plan_status == PlanStatus.CONFIRMED:
            raise Conflict("the year plan is already confirmed", field="cycle_id")
        self.plan = [plan_item(p) for p in plan]
        self.plan_status = PlanStatus.PROPOSED

    def confirm_plan(self, items: list[dict[str, Any]] | None, terms: SessionTerms, at: datetime) -> list[Session]:
        """Confirm the plan, as proposed (`items` None) or adjusted: its sessions are scheduled."""
        items = items if items is not None else self.plan
        if not items:
            raise Conflict("propose a plan first, or send the items", field="items")
        retained = {t["theme_id"]: t for t in self.retained}
        created = []
        for i, item in enumerate(items):
            if item["theme_id"] not in retained:
                raise InvalidInput("not a retained theme of this cycle", field=f"items[{i}].theme_id")
            starts, ends = _as_datetime(item["starts_at"]), _as_datetime(item["ends_at"])
            if starts <= at:
                raise InvalidInput("a planned session starts in the future", field=f"items[{i}].starts_at")
            try:
                session = Session.schedule(
                    at=at,
                    community_id=self.community_id,
                    cycle_id=self.id,
                    theme_id=item["theme_id"],
                    title=item.get("title") or retained[item["theme_id"]]["title"],
                    starts_at=starts,
                    ends_at=ends,
                    capacity=terms.capacity,
                    mode=terms.mode,
                    location=terms.location,
                    link=terms.link,
                    timezone=terms.timezone,
                )
            except InvalidInput as exc:
                raise InvalidInput(exc.detail, field=f"items[{i}].{exc.field}") from exc
            created.append(session)
        self.plan = [plan_item(PlannedSession(s.theme_id or "", s.title, s.starts_at, s.ends_at)) for s in created]
        if self.plan_status == PlanStatus.CONFIRMED:
            raise Conflict("the year plan is already confirmed", field="cycle_id")
        if not self.retained:
            raise Conflict("close the vote first: the plan is drawn from the retained themes", field="cycle_id")
        self.plan_status = PlanStatus.CONFIRMED
        return created


def plan_item(p: PlannedSession) -> dict[str, Any]:
    return {
        "theme_id": p.theme_id,
        "title": p.title,
        "starts_at": p.starts_at.isoformat(),
        "ends_at": p.ends_at.isoformat(),
    }


def plan_year(
    retained: list[dict[str, Any]],
    *,
    starts_on: date,
    ends_on: date,
    sessions_per_theme: int,
    weekday: int,
    start_time: time,
    duration: timedelta,
    timezone: str,
    blackout_dates: frozenset[date] | set[date] = frozenset(),
) -> list[PlannedSession]:
    """Spread the retained themes' sessions evenly across the cycle, theme by theme in rank order.

    Slot i of n aims at the middle of the i-th equal part of the cycle, then moves to the nearest
    free date on the chosen weekday (forward first), skipping blackout dates and dates already taken.
    """
    zone = check_timezone(timezone)
    if not 0 <= weekday <= 6:
        raise InvalidInput("weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
    candidates = [d for d in _days(starts_on, ends_on) if d.weekday() == weekday and d not in blackout_dates]
    n = len(retained) * sessions_per_theme
    if n == 0:
        raise Conflict("no retained theme to plan", field="cycle_id")
    if len(candidates) < n:
        raise InvalidInput(f"only {len(candidates)} free dates on that weekday for {n} sessions", field="weekday")
    span = (ends_on - starts_on).days + 1
    taken: set[date] = set()
    dates: list[date] = []
    for i in range(n):
        target = starts_on + timedelta(days=int((i + 0.5) * span / n))
        best = min((d for d in candidates if d not in taken), key=lambda d: (abs((d - target).days), d < target))
        taken.add(best)
        dates.append(best)
    dates.sort()
    plan = []
    for i, day in enumerate(dates):
        theme = retained[i // sessions_per_theme]
        starts = datetime.combine(day, start_time, tzinfo=zone)
        plan.append(PlannedSession(theme["theme_id"], theme["title"], starts, starts + duration))
    return plan


def blackout_days(periods: Iterable[tuple[date, date]], *, within: tuple[date, date]) -> set[date]:
    """Every day of the blackout periods (first and last day included) that falls within the cycle."""
    first, last = within
    days: set[date] = set()
    for i, (start, end) in enumerate(periods):
        if end < start:
            raise InvalidInput("a blackout period ends on or after its first day", field=f"blackout_dates[{i}].to")
        days.update(_days(max(start, first), min(end, last)))
    return days


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
