"""Community health: the monthly series, the health score, the decline signals, and the alert state.

Pure functions of facts the projections hold (no clock: `now` is passed in). The seeds see communities of
practice grow, mature and then sag after three to four years; the signals below are the signs they name:
fewer people at each meeting, nobody new, fewer theme proposals and votes, and age.

The health score (0–100) is a weighted sum of four parts, each between 0 and 1:

- attendance (35): the mean attendance rate (present / (present + absent)) of the last 3 sessions held with
  attendance recorded; 0 when no session was held in the last 6 months, 0.5 when sessions were held without any
  attendance recorded (unknown is neither good nor bad);
- renewal (25): joins of the last 12 months against a target of one newcomer per 10 active members (at least 1),
  capped at 1;
- participation (25): theme proposals and votes per active member over the last 12 months, against the 12 months
  before, capped at 1; 1 when there were none before and some now, 0.5 when there were none in either (a community
  that runs no program vote is not penalised for it);
- momentum (15): people present at the last 3 sessions against the 3 before, capped at 1; 1 with fewer sessions.

The decline pattern (an alert) holds when at least two of the three signs (attendance down, no new member,
participation falling) show in a community past three years (`aging`), or all three at any age.
"""

from __future__ import annotations

import bisect
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from cercle_shared.domain import Aggregate, DomainEvent

Signal = Literal["attendance_down", "no_new_member", "participation_falling", "aging"]
AlertStatus = Literal["raised", "cleared"]
SIGNS: tuple[Signal, ...] = ("attendance_down", "no_new_member", "participation_falling")

WEIGHTS = {"attendance": 35.0, "renewal": 25.0, "participation": 25.0, "momentum": 15.0}


@dataclass(frozen=True)
class Rules:
    """Thresholds of the signals (from the service's settings)."""

    attendance_sessions: int = 3  # attendance down: each of the last N sessions had fewer present than the one before
    attendance_min_drop: float = 0.10  # ... and the last had at least this share fewer than the first of them
    no_join_months: int = 6
    participation_months: int = 12  # program cycles are yearly: compare a year with the year before
    participation_min_drop: float = 0.20
    aging_months: int = 36
    signs_when_aging: int = 2


# --- facts ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """One membership: `who` is the member id, or the membership id once the member is erased."""

    who: str
    joined_at: datetime
    left_at: datetime | None = None


@dataclass(frozen=True)
class Meeting:
    """A session that was held (or scheduled in the past and not cancelled), with its attendance if recorded."""

    starts_at: datetime
    present: int | None = None
    absent: int | None = None


@dataclass(frozen=True)
class Attended:
    who: str
    at: datetime


@dataclass(frozen=True)
class Facts:
    """What the projections know of one community."""

    created_at: datetime | None
    spans: Sequence[Span] = ()
    meetings: Sequence[Meeting] = ()
    attended: Sequence[Attended] = ()
    proposals: Sequence[datetime] = ()
    votes: Sequence[datetime] = ()

    def started(self) -> datetime | None:
        """The community's beginning: its creation, or its earliest fact if one came before."""
        times = [t for t in (self.created_at, *(s.joined_at for s in self.spans)) if t is not None]
        return min(times) if times else None


# --- the monthly series --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPoint:
    month: date
    active_members: int
    joins: int
    departures: int
    sessions_held: int
    present: int
    absent: int
    attendance_rate: float | None
    first_timers: int
    proposals: int
    votes: int
    proposals_per_member: float | None
    votes_per_member: float | None
    # From the surveys and action plans features, when they are there (None otherwise).
    survey_agreement: float | None = None
    actions_opened: int | None = None
    actions_deployed: int | None = None


def month_of(at: datetime | date) -> date:
    return date(at.year, at.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    out, month = [], month_of(first)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def months_back(last: date, count: int) -> date:
    index = last.year * 12 + last.month - 1 - (count - 1)
    return date(index // 12, index % 12 + 1, 1)


def series(
    facts: Facts, *, now: datetime, months: int, actions: Mapping[date, tuple[int, int]] | None = None
) -> list[MonthPoint]:
    """One point per calendar month (UTC), the last `months` months up to now's, from the community's start.

    `actions`: action plans (opened, deployed) per month, when the action plans feature is there (None otherwise).
    """
    last = month_of(now)
    first = months_back(last, months)
    started = facts.started()
    if started is not None and month_of(started) > first:
        first = month_of(started)
    if first > last:
        return []
    return _points(facts, months_between(first, last), actions)


def _active_at_ends(spans: Sequence[Span], months: list[date]) -> list[int]:
    """People with a membership running at each month's end (a person once), in one pass over the memberships."""
    ends = [datetime(next_month(m).year, next_month(m).month, 1, tzinfo=UTC) for m in months]
    seen: dict[str, set[int]] = defaultdict(set)
    for s in spans:
        # running at `end` when joined_at < end and (left_at is None or left_at >= end)
        first = bisect.bisect_right(ends, s.joined_at)
        last = len(ends) if s.left_at is None else bisect.bisect_right(ends, s.left_at)
        if first < last:
            seen[s.who].update(range(first, last))
    counts = [0] * len(ends)
    for indexes in seen.values():
        for i in indexes:
            counts[i] += 1
    return counts


def _points(
    facts: Facts, months: list[date], actions: Mapping[date, tuple[int, int]] | None = None
) -> list[MonthPoint]:
    joins: dict[date, int] = defaultdict(int)
    departures: dict[date, int] = defaultdict(int)
    for span in facts.spans:
        joins[month_of(span.joined_at)] += 1
        if span.left_at is not None:
            departures[month_of(span.left_at)] += 1
    held: dict[date, list[Meeting]] = defaultdict(list)
    for meeting in facts.meetings:
        held[month_of(meeting.starts_at)].append(meeting)
    first_seen: dict[str, datetime] = {}
    for a in facts.attended:
        if a.who not in first_seen or a.at < first_seen[a.who]:
            first_seen[a.who] = a.at
    first_timers: dict[date, int] = defaultdict(int)
    for at in first_seen.values():
        first_timers[month_of(at)] += 1
    proposals = _by_month(facts.proposals)
    votes = _by_month(facts.votes)

    points = []
    for month, active in zip(months, _active_at_ends(facts.spans, months), strict=True):
        opened, deployed = (None, None) if actions is None else actions.get(month, (0, 0))
        meetings = held.get(month, [])
        recorded = [m for m in meetings if m.present is not None]
        present = sum(m.present or 0 for m in recorded)
        seats = present + sum(m.absent or 0 for m in recorded)
        points.append(
            MonthPoint(
                month=month,
                active_members=active,
                joins=joins.get(month, 0),
                departures=departures.get(month, 0),
                sessions_held=len(meetings),
                present=present,
                absent=seats - present,
                attendance_rate=round(present / seats, 3) if seats else None,
                first_timers=first_timers.get(month, 0),
                proposals=proposals.get(month, 0),
                votes=votes.get(month, 0),
                proposals_per_member=round(proposals.get(month, 0) / active, 3) if active else None,
                votes_per_member=round(votes.get(month, 0) / active, 3) if active else None,
                actions_opened=opened,
                actions_deployed=deployed,
            )
        )
    return points


def _by_month(times: Iterable[datetime]) -> dict[date, int]:
    counts: dict[date, int] = defaultdict(int)
    for t in times:
        counts[month_of(t)] += 1
    return counts


# --- assessment: signals and score ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    month: date
    score: float
    signals: tuple[Signal, ...]
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def declining(self) -> bool:
        return ("aging" in self.signals and self.signs >= 2) or self.signs == len(SIGNS)

    @property
    def signs(self) -> int:
        return sum(1 for s in self.signals if s in SIGNS)


def assess(facts: Facts, *, now: datetime, rules: Rules = Rules()) -> Assessment:
    """The community's signals and score as of `now` (facts after `now` are ignored)."""
    spans = [s for s in facts.spans if s.joined_at <= now]
    meetings = sorted((m for m in facts.meetings if m.starts_at <= now), key=lambda m: m.starts_at)
    recorded = [m for m in meetings if m.present is not None]
    active = len({s.who for s in spans if s.left_at is None or s.left_at > now})

    signals: list[Signal] = []
    if attendance_down([m.present or 0 for m in recorded], rules):
        signals.append("attendance_down")
    started = facts.started()
    months_old = _months(started, now) if started is not None else 0
    last_join = max((s.joined_at for s in spans), default=None)
    if months_old >= rules.no_join_months and (last_join is None or _months(last_join, now) >= rules.no_join_months):
        signals.append("no_new_member")
    recent, before = participation(facts, spans, now, rules.participation_months)
    if before and before > 0 and (recent or 0) <= before * (1 - rules.participation_min_drop):
        signals.append("participation_falling")
    if months_old >= rules.aging_months:
        signals.append("aging")

    parts = {
        "attendance": _attendance_part(meetings, recorded, now),
        "renewal": _renewal_part(spans, active, now),
        "participation": _participation_part(recent, before),
        "momentum": _momentum_part(recorded),
    }
    score = round(max(0.0, min(100.0, sum(WEIGHTS[k] * v for k, v in parts.items()))), 1)
    return Assessment(month_of(now), score, tuple(signals), parts)


def attendance_down(present: Sequence[int], rules: Rules = Rules()) -> bool:
    """Each of the last N sessions had fewer people present than the one before, by a real margin overall."""
    n = rules.attendance_sessions
    if n < 2 or len(present) < n:
        return False
    last = list(present[-n:])
    falling = all(b < a for a, b in itertools.pairwise(last))
    return falling and last[-1] <= last[0] * (1 - rules.attendance_min_drop)


def participation(facts: Facts, spans: Sequence[Span], now: datetime, months: int) -> tuple[float | None, float | None]:
    """Proposals and votes per active member over the last `months` months, and over the `months` before."""
    window = _days(months)
    recent_from = now - window
    before_from = recent_from - window

    def per_member(start: datetime, end: datetime) -> float | None:
        acts = sum(1 for t in (*facts.proposals, *facts.votes) if start <= t < end)
        members = len({s.who for s in spans if s.joined_at < end and (s.left_at is None or s.left_at > start)})
        return acts / members if members else None

    started = facts.started()
    before = per_member(before_from, recent_from) if started is not None and started <= recent_from else None
    return per_member(recent_from, now), before


def _attendance_part(meetings: Sequence[Meeting], recorded: Sequence[Meeting], now: datetime) -> float:
    if not any(now - m.starts_at <= _days(6) for m in meetings):
        return 0.0
    last = recorded[-3:]
    rates = [
        m.present / (m.present + (m.absent or 0)) for m in last if m.present is not None and m.present + (m.absent or 0)
    ]
    return sum(rates) / len(rates) if rates else 0.5


def _renewal_part(spans: Sequence[Span], active: int, now: datetime) -> float:
    joins = sum(1 for s in spans if now - s.joined_at <= _days(12))
    target = max(1.0, active / 10)
    return min(1.0, joins / target)


def _participation_part(recent: float | None, before: float | None) -> float:
    if before:
        return min(1.0, (recent or 0.0) / before)
    return 1.0 if recent else 0.5


def _momentum_part(recorded: Sequence[Meeting]) -> float:
    if len(recorded) < 4:
        return 1.0
    last = sum(m.present or 0 for m in recorded[-3:])
    before = sum(m.present or 0 for m in recorded[-6:-3])
    return min(1.0, last / before) if before else 1.0


def _months(start: datetime, end: datetime) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def _days(months: int) -> timedelta:
    return timedelta(days=round(months * 30.44))


# --- the alert state -----------------------------------------------------------------------------------------------

_ALERTS = uuid.UUID("6f1c0b52-3a57-4e49-9d41-1e0c7a8f2b6d")


def alert_id(community_id: str, change: int) -> str:
    """The same change of the same community gets the same id, whoever computes it and however often."""
    return str(uuid.uuid5(_ALERTS, f"{community_id}:{change}"))


@dataclass(frozen=True)
class HealthChanged(DomainEvent):
    alert_id: str
    community_id: str
    regions: tuple[str, ...]
    status: AlertStatus
    signals: tuple[Signal, ...]
    score: float
    month: date
    at: datetime


@dataclass(eq=False)
class HealthWatch(Aggregate):
    """A community's current health state: raised while it shows the decline pattern. Records a change once."""

    community_id: str
    status: str = "cleared"
    signals: list[str] = field(default_factory=list)
    score: float = 100.0
    month: date = date(1970, 1, 1)
    assessed_at: datetime | None = None
    changed_at: datetime | None = None
    changes: int = 0

    def observe(self, assessment: Assessment, regions: Sequence[str], at: datetime) -> HealthChanged | None:
        """Keep the latest assessment; a change of state is recorded (and published) once."""
        self.signals, self.score, self.month, self.assessed_at = (
            list(assessment.signals),
            assessment.score,
            assessment.month,
            at,
        )
        status: AlertStatus = "raised" if assessment.declining else "cleared"
        if status == self.status:
            return None
        self.status, self.changed_at = status, at
        self.changes += 1
        event = HealthChanged(
            alert_id=alert_id(self.community_id, self.changes),
            community_id=self.community_id,
            regions=tuple(regions),
            status=status,
            signals=assessment.signals,
            score=assessment.score,
            month=assessment.month,
            at=at,
        )
        self.record(event)
        return event


# --- figures by year (organization, region, province, theme) -------------------------------------------------------


@dataclass(frozen=True)
class YearFigures:
    """One year's figures of a set of communities or people. None: not known here, or hidden (`enough` False)."""

    year: int
    members: int | None  # distinct people who belonged at some point of the year
    joins: int | None
    departures: int | None
    average_tenure_days: float | None  # of those memberships, at the year's end (or now)
    sessions_held: int | None
    present: int | None
    attendance_rate: float | None
    proposals: int | None
    votes: int | None
    actions_opened: int | None = None
    actions_deployed: int | None = None
    enough: bool = True


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def years_of(facts: Facts, now: datetime) -> list[int]:
    """From the year of the earliest fact to now's year."""
    started = facts.started()
    times = [t for t in (started, *(m.starts_at for m in facts.meetings), *facts.proposals) if t is not None]
    first = min(times).year if times else now.year
    return list(range(min(first, now.year), now.year + 1))


def year_figures(facts: Facts, year: int, now: datetime) -> YearFigures:
    start, end = year_bounds(year)
    until = min(end, now)
    spans = [s for s in facts.spans if s.joined_at < end and (s.left_at is None or s.left_at >= start)]
    tenures = [max(0.0, (min(s.left_at or until, until) - s.joined_at).total_seconds()) for s in spans]
    meetings = [m for m in facts.meetings if start <= m.starts_at < end]
    recorded = [m for m in meetings if m.present is not None]
    present = sum(m.present or 0 for m in recorded)
    seats = present + sum(m.absent or 0 for m in recorded)
    return YearFigures(
        year=year,
        members=len({s.who for s in spans}),
        joins=sum(1 for s in facts.spans if start <= s.joined_at < end),
        departures=sum(1 for s in facts.spans if s.left_at is not None and start <= s.left_at < end),
        average_tenure_days=round(sum(tenures) / len(tenures) / 86400, 1) if tenures else None,
        sessions_held=len(meetings),
        present=present,
        attendance_rate=round(present / seats, 3) if seats else None,
        proposals=sum(1 for t in facts.proposals if start <= t < end),
        votes=sum(1 for t in facts.votes if start <= t < end),
    )


def hide_small(figures: YearFigures, min_group: int) -> YearFigures:
    """Figures about fewer than `min_group` people are not shown: every people figure goes, `enough` is False."""
    if figures.members is not None and figures.members >= min_group:
        return figures
    return YearFigures(
        year=figures.year,
        members=None,
        joins=None,
        departures=None,
        average_tenure_days=None,
        sessions_held=None,
        present=None,
        attendance_rate=None,
        proposals=figures.proposals,
        votes=figures.votes,
        actions_opened=None,
        actions_deployed=None,
        enough=False,
    )
