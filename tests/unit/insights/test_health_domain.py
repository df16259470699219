"""Community health as pure functions: the monthly series, the signals, the score, the alert state, the figures by
year, on synthetic histories that decline and that do not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cercle_insights.domain import health as h

START = datetime(2022, 1, 10, 18, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # the community is nearly 5 years old


def months(n: float) -> timedelta:
    return timedelta(days=round(n * 30.44))


def history(
    *,
    started: datetime = START,
    now: datetime = NOW,
    joins_every_months: float | None = 2,
    last_join_months_ago: float = 0,
    present: list[int] | None = None,
    acts_last_year: int = 60,
    acts_year_before: int = 60,
    members: int = 20,
) -> h.Facts:
    """A community of `members` people: founders, then a newcomer every few months replacing the longest-standing
    member (so that the size stays put), monthly sessions, and program activity."""
    joined = [(f"founder-{n}", started) for n in range(members)]
    spans = []
    if joins_every_months:
        at, n = started + months(joins_every_months), 0
        while at <= now - months(last_join_months_ago):
            who, since = joined.pop(0)
            spans.append(h.Span(who, since, at))
            joined.append((f"new-{n}", at))
            at += months(joins_every_months)
            n += 1
    spans += [h.Span(who, since) for who, since in joined]
    counts = present or [15] * 24
    meetings = [
        h.Meeting(now - months(len(counts) - i) + timedelta(days=1), p, max(0, 18 - p)) for i, p in enumerate(counts)
    ]
    last_year = [now - timedelta(days=1 + i * (360 // max(1, acts_last_year))) for i in range(acts_last_year)]
    year_before = [now - timedelta(days=370 + i * (350 // max(1, acts_year_before))) for i in range(acts_year_before)]
    return h.Facts(created_at=started, spans=spans, meetings=meetings, proposals=last_year, votes=year_before)


# --- signals ---------------------------------------------------------------------------------------------------------


def test_a_steady_old_community_shows_aging_only_and_raises_no_alert():
    assessment = h.assess(history(), now=NOW)

    assert assessment.signals == ("aging",)
    assert not assessment.declining
    assert assessment.score >= 80


def test_an_old_community_with_falling_attendance_and_no_newcomer_shows_the_decline_pattern():
    facts = history(present=[16] * 10 + [15, 12, 9], last_join_months_ago=8)

    assessment = h.assess(facts, now=NOW)

    assert set(assessment.signals) == {"attendance_down", "no_new_member", "aging"}
    assert assessment.declining


def test_a_young_community_with_two_signs_is_not_yet_alerted_but_with_three_it_is():
    young = NOW - months(20)
    two = history(started=young, present=[15, 12, 9], last_join_months_ago=7)
    three = history(started=young, present=[15, 12, 9], last_join_months_ago=7, acts_last_year=10, acts_year_before=60)

    assert set(h.assess(two, now=NOW).signals) == {"attendance_down", "no_new_member"}
    assert not h.assess(two, now=NOW).declining
    assert set(h.assess(three, now=NOW).signals) == {"attendance_down", "no_new_member", "participation_falling"}
    assert h.assess(three, now=NOW).declining


def test_participation_falling_compares_a_year_with_the_year_before_per_member():
    steady = history(acts_last_year=50, acts_year_before=55)
    falling = history(acts_last_year=30, acts_year_before=60)

    assert "participation_falling" not in h.assess(steady, now=NOW).signals
    assert "participation_falling" in h.assess(falling, now=NOW).signals


def test_no_program_activity_at_all_is_not_a_falling_participation():
    assessment = h.assess(history(acts_last_year=0, acts_year_before=0), now=NOW)

    assert "participation_falling" not in assessment.signals
    assert assessment.parts["participation"] == 0.5


@pytest.mark.parametrize(
    ("present", "down"),
    [
        ([15, 12, 9], True),
        ([20, 15, 12, 9], True),  # only the last three count
        ([15, 15, 9], False),  # not falling at each session
        ([9, 12, 15], False),
        ([20, 19, 18.5], False),  # falling, by less than 10 % overall
        ([12, 9], False),  # too few sessions
    ],
)
def test_attendance_down_means_fewer_present_at_each_of_the_last_three_sessions(present, down):
    assert h.attendance_down(present) is down


def test_no_new_member_needs_six_months_without_a_join_and_a_community_older_than_that():
    assert "no_new_member" in h.assess(history(last_join_months_ago=7), now=NOW).signals
    assert "no_new_member" not in h.assess(history(last_join_months_ago=5, joins_every_months=0.5), now=NOW).signals
    newborn = history(started=NOW - months(3), joins_every_months=None)
    assert "no_new_member" not in h.assess(newborn, now=NOW).signals


def test_the_thresholds_come_from_the_rules():
    facts = history(last_join_months_ago=4)

    assert "no_new_member" in h.assess(facts, now=NOW, rules=h.Rules(no_join_months=3)).signals
    assert "aging" not in h.assess(facts, now=NOW, rules=h.Rules(aging_months=120)).signals


# --- score -----------------------------------------------------------------------------------------------------------


def test_the_score_falls_with_the_decline():
    healthy = h.assess(history(), now=NOW).score
    declining = h.assess(
        history(present=[16, 14, 12, 9, 7, 5], last_join_months_ago=14, acts_last_year=10), now=NOW
    ).score

    assert 0 <= declining < healthy <= 100
    assert declining < 60


def test_a_community_without_any_session_in_six_months_gets_no_attendance_points():
    facts = history()
    idle = h.Facts(
        created_at=facts.created_at,
        spans=facts.spans,
        meetings=[h.Meeting(NOW - months(8), 15, 3)],
        proposals=facts.proposals,
        votes=facts.votes,
    )

    assert h.assess(idle, now=NOW).parts["attendance"] == 0.0


def test_facts_after_now_are_ignored():
    facts = history(last_join_months_ago=8)
    future = h.Facts(
        created_at=facts.created_at,
        spans=[*facts.spans, h.Span("later", NOW + timedelta(days=3))],
        meetings=facts.meetings,
        proposals=facts.proposals,
        votes=facts.votes,
    )

    assert "no_new_member" in h.assess(future, now=NOW).signals


# --- the monthly series ----------------------------------------------------------------------------------------------


def test_the_series_counts_active_members_joins_departures_and_first_timers_per_month():
    t = datetime(2026, 1, 5, tzinfo=UTC)
    facts = h.Facts(
        created_at=t,
        spans=[h.Span("a", t), h.Span("b", t + timedelta(days=3), t + timedelta(days=40)), h.Span("c", t + months(1))],
        meetings=[h.Meeting(t + timedelta(days=20), 2, 1), h.Meeting(t + timedelta(days=50), 2, 0)],
        attended=[
            h.Attended("a", t + timedelta(days=20)),
            h.Attended("b", t + timedelta(days=20)),
            h.Attended("a", t + timedelta(days=50)),
            h.Attended("c", t + timedelta(days=50)),
        ],
        proposals=[t + timedelta(days=1)],
        votes=[t + timedelta(days=2), t + timedelta(days=35)],
    )

    january, february, march = h.series(facts, now=datetime(2026, 3, 20, tzinfo=UTC), months=24)

    assert january.month == date(2026, 1, 1)
    assert (january.active_members, january.joins, january.departures) == (2, 2, 0)
    assert (february.active_members, february.joins, february.departures) == (2, 1, 1)
    assert (january.sessions_held, january.present, january.attendance_rate) == (1, 2, 0.667)
    assert (january.first_timers, february.first_timers) == (2, 1)
    assert (january.proposals, january.votes, february.votes) == (1, 1, 1)
    assert january.proposals_per_member == 0.5
    assert march.sessions_held == 0
    assert march.attendance_rate is None


def test_the_series_starts_at_the_community_and_keeps_at_most_the_months_asked():
    facts = history()

    assert len(h.series(facts, now=NOW, months=12)) == 12
    assert h.series(facts, now=NOW, months=12)[-1].month == date(2026, 11, 1)
    young = h.Facts(created_at=NOW - months(2))
    assert [p.month for p in h.series(young, now=NOW, months=12)] == [
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]


# --- alert state -----------------------------------------------------------------------------------------------------


def declining() -> h.Assessment:
    return h.Assessment(date(2026, 11, 1), 35.0, ("attendance_down", "no_new_member", "aging"))


def healthy() -> h.Assessment:
    return h.Assessment(date(2026, 12, 1), 80.0, ("aging",))


def test_a_watch_records_a_raise_once_then_a_clear_once_with_stable_ids():
    watch = h.HealthWatch(community_id="c1")

    raised = watch.observe(declining(), ["13"], NOW)
    again = watch.observe(declining(), ["13"], NOW + timedelta(hours=6))
    cleared = watch.observe(healthy(), ["13"], NOW + timedelta(days=30))

    assert raised is not None
    assert raised.status == "raised"
    assert again is None
    assert cleared is not None
    assert cleared.status == "cleared"
    assert [e.status for e in watch.recorded_events] == ["raised", "cleared"]
    assert raised.alert_id == h.alert_id("c1", 1) != cleared.alert_id == h.alert_id("c1", 2)
    assert raised.signals == ("attendance_down", "no_new_member", "aging")
    assert (watch.status, watch.score, watch.changes) == ("cleared", 80.0, 2)


def test_a_community_first_seen_healthy_records_nothing():
    watch = h.HealthWatch(community_id="c1")

    assert watch.observe(healthy(), [], NOW) is None
    assert watch.recorded_events == []
    assert watch.assessed_at == NOW


# --- figures by year -------------------------------------------------------------------------------------------------


def test_year_figures_count_people_once_and_tenure_at_the_year_end():
    t = datetime(2025, 7, 2, tzinfo=UTC)
    facts = h.Facts(
        created_at=t,
        spans=[h.Span("a", t), h.Span("a", t + timedelta(days=30)), h.Span("b", t, t + timedelta(days=60))],
        meetings=[h.Meeting(t + timedelta(days=10), 8, 2)],
    )

    y2025 = h.year_figures(facts, 2025, NOW)

    assert (y2025.members, y2025.joins, y2025.departures) == (2, 3, 1)
    assert (y2025.sessions_held, y2025.present, y2025.attendance_rate) == (1, 8, 0.8)
    assert y2025.average_tenure_days == round((183 + 153 + 60) / 3, 1)
    assert h.years_of(facts, NOW) == [2025, 2026]


def test_figures_about_fewer_people_than_the_threshold_are_hidden():
    figures = h.YearFigures(2026, 4, 2, 0, 100.0, 3, 10, 0.8, 1, 5, 2, 1)

    hidden = h.hide_small(figures, 5)

    assert not hidden.enough
    assert (hidden.members, hidden.present, hidden.actions_opened, hidden.average_tenure_days) == (None,) * 4
    assert h.hide_small(figures, 4) == figures
