"""Votes, retention and the year plan, as rules."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cercle_sessions.domain.program import ProgramCycle, Theme, Vote, plan_year, rank
from cercle_shared.errors import Conflict, InvalidInput

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def a_cycle(**overrides) -> ProgramCycle:
    fields = {
        "id": "cy",
        "community_id": "c",
        "label": "2026-2027",
        "starts_on": date(2026, 9, 1),
        "ends_on": date(2027, 6, 30),
        "proposals_open_at": T0,
        "proposals_close_at": T0 + timedelta(days=10),
        "voting_opens_at": T0 + timedelta(days=10),
        "voting_closes_at": T0 + timedelta(days=20),
    }
    fields.update(overrides)
    return ProgramCycle(**fields)


def theme(theme_id: str, minutes: int = 0) -> Theme:
    return Theme(theme_id, "cy", "c", f"Theme {theme_id}", "need", proposed_at=T0 + timedelta(minutes=minutes))


VOTING = T0 + timedelta(days=12)


def test_ties_go_to_the_theme_proposed_first_then_to_the_smaller_id():
    themes = [theme("b", 5), theme("a", 5), theme("c", 1), theme("d", 0)]
    votes = [Vote(f"v{i}", "cy", t, f"m{i}", VOTING) for i, t in enumerate(["a", "b", "c", "d", "d"])]
    assert [t.theme_id for t in rank(themes, votes)] == ["d", "c", "a", "b"]


def test_merged_themes_are_not_ranked():
    duplicate = theme("x")
    duplicate.merged_into = "a"
    assert [t.theme_id for t in rank([theme("a"), duplicate], [])] == ["a"]


def test_a_member_spreads_a_fixed_number_of_votes_at_most_one_per_theme():
    cycle = a_cycle()
    themes = [theme(t) for t in "abcd"]
    mine: list[Vote] = []
    mine.append(cycle.cast(themes[0], "m", mine, VOTING))
    with pytest.raises(Conflict, match="per theme"):
        cycle.cast(themes[0], "m", mine, VOTING)
    mine.append(cycle.cast(themes[1], "m", mine, VOTING))
    mine.append(cycle.cast(themes[2], "m", mine, VOTING))
    with pytest.raises(Conflict, match="3 votes"):
        cycle.cast(themes[3], "m", mine, VOTING)


def test_several_votes_on_one_theme_when_configured():
    cycle = a_cycle(votes_per_member=3, max_votes_per_theme=2)
    a = theme("a")
    mine = [cycle.cast(a, "m", [], VOTING)]
    mine.append(cycle.cast(a, "m", mine, VOTING))
    with pytest.raises(Conflict):
        cycle.cast(a, "m", mine, VOTING)


@pytest.mark.parametrize("at", [T0 + timedelta(days=5), T0 + timedelta(days=20), T0 + timedelta(days=30)])
def test_no_vote_outside_the_window(at):
    with pytest.raises(Conflict, match="voting is not open"):
        a_cycle().cast(theme("a"), "m", [], at)


def test_closing_retains_the_top_themes_and_closes_the_vote():
    cycle = a_cycle(themes_to_retain=2)
    themes = [theme(t, i) for i, t in enumerate("abc")]
    votes = [Vote(f"v{i}", "cy", t, f"m{i}", VOTING) for i, t in enumerate("ccb")]
    retained = cycle.close_vote(themes, votes, VOTING)
    assert [t.theme_id for t in retained] == ["c", "b"]
    assert [t["rank"] for t in cycle.retained] == [1, 2]
    assert [t.status for t in themes] == ["not_retained", "retained", "retained"]
    with pytest.raises(Conflict):
        cycle.cast(themes[0], "m9", [], VOTING)


def test_windows_must_be_in_order():
    with pytest.raises(InvalidInput) as raised:
        a_cycle(voting_opens_at=T0 + timedelta(days=5))
    assert raised.value.field == "voting_opens_at"


RETAINED = [{"theme_id": f"t{i}", "title": f"Theme {i}"} for i in range(1, 4)]


def test_the_year_plan_spreads_two_sessions_per_theme_on_thursdays_skipping_blackouts():
    plan = plan_year(
        RETAINED,
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 6, 30),
        sessions_per_theme=2,
        weekday=3,
        start_time=time(13, 0),
        duration=timedelta(hours=3),
        timezone="America/Toronto",
        blackout_dates={date(2026, 12, 24), date(2026, 12, 31)},
    )
    assert [p.theme_id for p in plan] == ["t1", "t1", "t2", "t2", "t3", "t3"]
    assert all(p.starts_at.weekday() == 3 and p.starts_at.hour == 13 for p in plan)
    assert all(p.starts_at.utcoffset() in (timedelta(hours=-4), timedelta(hours=-5)) for p in plan)
    gaps = [(b.starts_at - a.starts_at).days for a, b in itertools.pairwise(plan)]
    assert max(gaps) - min(gaps) <= 14  # evenly spread: about every 7 weeks


@settings(max_examples=150, deadline=None)
@given(
    themes=st.integers(1, 5),
    per_theme=st.integers(1, 3),
    weekday=st.integers(0, 6),
    start=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    days=st.integers(120, 400),
    blackouts=st.sets(st.integers(0, 400), max_size=30),
)
def test_a_plan_keeps_to_the_weekday_the_cycle_and_the_blackouts(themes, per_theme, weekday, start, days, blackouts):
    end = start + timedelta(days=days)
    blackout_dates = {start + timedelta(days=d) for d in blackouts}
    retained = [{"theme_id": f"t{i}", "title": f"T{i}"} for i in range(themes)]
    free = [
        start + timedelta(days=d)
        for d in range(days + 1)
        if (start + timedelta(days=d)).weekday() == weekday and start + timedelta(days=d) not in blackout_dates
    ]

    def draw():
        return plan_year(
            retained,
            starts_on=start,
            ends_on=end,
            sessions_per_theme=per_theme,
            weekday=weekday,
            start_time=time(9, 30),
            duration=timedelta(hours=2),
            timezone="America/Toronto",
            blackout_dates=blackout_dates,
        )

    if len(free) < themes * per_theme:  # blackouts can leave too few free days: a clear error, not a plan
        with pytest.raises(InvalidInput) as raised:
            draw()
        assert raised.value.field == "weekday"
        return
    plan = draw()
    days_used = [p.starts_at.date() for p in plan]
    assert len(plan) == themes * per_theme
    assert len(set(days_used)) == len(days_used)
    assert days_used == sorted(days_used)
    assert all(start <= d <= end and d.weekday() == weekday and d not in blackout_dates for d in days_used)
    assert [p.theme_id for p in plan] == [t["theme_id"] for t in retained for _ in range(per_theme)]


def test_too_few_free_dates_is_a_clear_error():
    with pytest.raises(InvalidInput) as raised:
        plan_year(
            RETAINED,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 9, 30),
            sessions_per_theme=2,
            weekday=3,
            start_time=time(13),
            duration=timedelta(hours=3),
            timezone="America/Toronto",
        )
    assert raised.value.field == "weekday"
