"""A community's program year: theme proposals, the vote, and the year plan drawn from the retained themes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cercle_shared.errors import Conflict, InvalidInput

from .model import check_aware, check_timezone, new_id, now


@dataclass(eq=False)
class Theme:
    id: str
    cycle_id: str
    community_id: str
    title: str
    need: str
    description: str = ""
    proposer_id: str | None = None
    proposed_at: datetime = field(default_factory=now)
    merged_into: str | None = None
    status: str = "proposed"  # proposed | merged | retained | not_retained


@dataclass(eq=False)
class Vote:
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


@dataclass(eq=False)
class Cycle:
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
    status: str = "open"  # open | closed (the vote is counted)
    retained: list[dict] = field(default_factory=list)
    plan: list[dict] = field(default_factory=list)
    plan_status: str = "none"  # none | proposed | confirmed
    created_at: datetime = field(default_factory=now)
    version: int = 1

    def __post_init__(self) -> None:
        for name in ("proposals_open_at", "proposals_close_at", "voting_opens_at", "voting_closes_at"):
            check_aware(getattr(self, name), name)
        if self.ends_on <= self.starts_on:
            raise InvalidInput("a cycle ends after it starts", field="ends_on")
        if self.proposals_close_at <= self.proposals_open_at:
            raise InvalidInput("proposals close after they open", field="proposals_close_at")
        if self.voting_closes_at <= self.voting_opens_at:
            raise InvalidInput("voting closes after it opens", field="voting_closes_at")
        if self.voting_opens_at < self.proposals_close_at:
            raise InvalidInput("voting opens once proposals are closed", field="voting_opens_at")
        if self.max_votes_per_theme > self.votes_per_member:
            raise InvalidInput("at most votes_per_member votes on one theme", field="max_votes_per_theme")

    def propose(self, *, title: str, need: str, description: str, proposer_id: str | None, at: datetime) -> Theme:
        if not (self.proposals_open_at <= at < self.proposals_close_at):
            raise Conflict("theme proposals are not open now", field="cycle_id")
        return Theme(new_id(), self.id, self.community_id, title, need, description, proposer_id, at)

    def merge(self, duplicate: Theme, into: Theme, at: datetime) -> None:
        if self.status != "open" or at >= self.voting_opens_at:
            raise Conflict("themes are merged before voting opens", field="theme_id")
        if duplicate.id == into.id:
            raise InvalidInput("a theme cannot be merged into itself", field="into_theme_id")
        if duplicate.merged_into or into.merged_into:
            raise Conflict("this theme was already merged", field="theme_id")
        duplicate.merged_into = into.id
        duplicate.status = "merged"

    def cast(self, theme: Theme, member_id: str, own_votes: list[Vote], at: datetime) -> Vote:
        if self.status != "open" or not (self.voting_opens_at <= at < self.voting_closes_at):
            raise Conflict("voting is not open now", field="cycle_id")
        if theme.merged_into is not None:
            raise Conflict("this theme was merged into another: vote for that one", field="theme_id")
        if len(own_votes) >= self.votes_per_member:
            raise Conflict(f"each member has {self.votes_per_member} votes, all cast already", field="theme_id")
        if sum(v.theme_id == theme.id for v in own_votes) >= self.max_votes_per_theme:
            raise Conflict(f"at most {self.max_votes_per_theme} vote(s) per theme", field="theme_id")
        return Vote(new_id(), self.id, theme.id, member_id, at)

    def close_vote(self, themes: list[Theme], votes: list[Vote], at: datetime) -> list[Tally]:
        if self.status != "open":
            raise Conflict("the vote of this cycle is already closed", field="cycle_id")
        if at < self.voting_opens_at:
            raise Conflict("voting has not opened yet", field="cycle_id")
        ranking = rank(themes, votes)
        retained = ranking[: self.themes_to_retain]
        ids = {t.theme_id for t in retained}
        for theme in themes:
            if theme.merged_into is None:
                theme.status = "retained" if theme.id in ids else "not_retained"
        self.status = "closed"
        self.voting_closes_at = min(self.voting_closes_at, at)
        self.retained = [
            {"theme_id": t.theme_id, "title": t.title, "votes": t.votes, "rank": i + 1} for i, t in enumerate(retained)
        ]
        return retained

    def propose_plan(self, plan: list[PlannedSession]) -> None:
        if self.plan_status == "confirmed":
            raise Conflict("the year plan is already confirmed", field="cycle_id")
        self.plan = [plan_item(p) for p in plan]
        self.plan_status = "proposed"

    def confirm_plan(self) -> None:
        if self.plan_status == "confirmed":
            raise Conflict("the year plan is already confirmed", field="cycle_id")
        if not self.retained:
            raise Conflict("close the vote first: the plan is drawn from the retained themes", field="cycle_id")
        self.plan_status = "confirmed"


def plan_item(p: PlannedSession) -> dict:
    return {
        "theme_id": p.theme_id,
        "title": p.title,
        "starts_at": p.starts_at.isoformat(),
        "ends_at": p.ends_at.isoformat(),
    }


def plan_year(
    retained: list[dict],
    *,
    starts_on: date,
    ends_on: date,
    sessions_per_theme: int,
    weekday: int,
    start_time: time,
    duration: timedelta,
    timezone: str,
    blackout_dates: set[date] = frozenset(),
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
        starts = _at(day, start_time, zone)
        plan.append(PlannedSession(theme["theme_id"], theme["title"], starts, starts + duration))
    return plan


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)
