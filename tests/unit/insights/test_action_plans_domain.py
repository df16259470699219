"""The action plan aggregate's rules, without a database: the road, dates, closing, erasure, nudges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cercle_insights.domain.action_plans import ActionPlan, FollowUpWith, Nudge, NudgeIssued, NudgeKind, Step
from cercle_shared.errors import Conflict, InvalidInput, StaleVersion

T = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def new_plan(**overrides) -> ActionPlan:
    fields = {
        "plan_id": "p1",
        "member_id": "ana",
        "community_id": "c1",
        "title": "  Pauses actives  ",
        "session_id": "s1",
        "theme_id": None,
        "organization_id": "org-1",
        "private_notes": "à moi",
        "need_sensed_on": None,
        "notes": None,
        "resource_ids": [],
        "at": T,
    }
    return ActionPlan.open(**(fields | overrides))


def move(plan: ActionPlan, step: Step, *, at: datetime = T, **kw) -> None:
    defaults = {
        "on": None,
        "notes": None,
        "resource_ids": [],
        "follow_up_on": None,
        "follow_up_with": None,
        "reason": None,
        "organization_id": None,
        "expected_version": plan.version,
    }
    plan.record_step(step, at=at, **(defaults | kw))


def test_a_new_plan_starts_at_need_sensed_today_with_a_trimmed_title():
    plan = new_plan()

    assert plan.current_step is Step.NEED_SENSED
    assert [(s.step, s.happened_on) for s in plan.steps] == [(Step.NEED_SENSED, T.date())]
    assert plan.title == "Pauses actives"
    assert (plan.version, plan.stage, plan.opened_year) == (1, 0, 2026)


def test_each_step_raises_the_stage_and_the_version():
    plan = new_plan()
    move(plan, Step.FOLLOW_UP_PLANNED, follow_up_on=date(2026, 10, 8), follow_up_with=FollowUpWith.COMMITTEE)
    move(plan, Step.ALLIES_FOUND)

    assert (plan.current_step, plan.stage, plan.version) == (Step.ALLIES_FOUND, 2, 3)
    assert plan.follow_up_with is FollowUpWith.COMMITTEE


def test_going_back_or_repeating_is_a_conflict():
    plan = new_plan()
    move(plan, Step.PITCHED_TO_MANAGEMENT)

    with pytest.raises(Conflict):
        move(plan, Step.ALLIES_FOUND)
    with pytest.raises(Conflict):
        move(plan, Step.PITCHED_TO_MANAGEMENT)
    with pytest.raises(Conflict):
        move(plan, Step.NEED_SENSED)


def test_a_closed_plan_takes_no_more_steps():
    deployed, dropped = new_plan(), new_plan()
    move(deployed, Step.DEPLOYED)
    move(dropped, Step.DROPPED, reason="Plus de budget")

    for plan in (deployed, dropped):
        with pytest.raises(Conflict):
            move(plan, Step.DROPPED, reason="encore")
    assert dropped.reached is Step.NEED_SENSED  # the furthest step before dropping stays for the funnel


def test_a_stale_version_is_refused():
    plan = new_plan()

    with pytest.raises(StaleVersion):
        move(plan, Step.ALLIES_FOUND, expected_version=7)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"on": T.date() + timedelta(days=2)}, "on"),
        ({"on": T.date() - timedelta(days=1)}, "on"),
    ],
)
def test_a_step_date_is_neither_in_the_future_nor_before_the_previous_step(kw, field):
    plan = new_plan()

    with pytest.raises(InvalidInput) as raised:
        move(plan, Step.ALLIES_FOUND, **kw)

    assert raised.value.field == field


def test_tomorrow_is_allowed_for_time_zones():
    plan = new_plan()
    move(plan, Step.ALLIES_FOUND, on=T.date() + timedelta(days=1))

    assert plan.steps[-1].happened_on == date(2026, 10, 2)


def test_a_need_sensed_before_the_plan_is_fine_but_not_in_the_future():
    assert new_plan(need_sensed_on=date(2025, 3, 1)).steps[0].happened_on == date(2025, 3, 1)
    with pytest.raises(InvalidInput):
        new_plan(need_sensed_on=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({}, "follow_up_on"),
        ({"follow_up_on": date(2026, 10, 5)}, "follow_up_with"),
        ({"follow_up_on": date(2026, 9, 1), "follow_up_with": FollowUpWith.MANAGER}, "follow_up_on"),
        ({"follow_up_on": date(2028, 1, 1), "follow_up_with": FollowUpWith.MANAGER}, "follow_up_on"),
    ],
)
def test_planning_the_follow_up_needs_a_sane_date_and_whom(kw, field):
    plan = new_plan()

    with pytest.raises(InvalidInput) as raised:
        move(plan, Step.FOLLOW_UP_PLANNED, **kw)

    assert raised.value.field == field


def test_the_follow_up_date_moves_only_while_it_is_next():
    plan = new_plan()
    with pytest.raises(Conflict):
        plan.edit(expected_version=1, at=T, follow_up_on=date(2026, 10, 20))
    move(plan, Step.FOLLOW_UP_PLANNED, follow_up_on=date(2026, 10, 8), follow_up_with=FollowUpWith.MANAGER)

    plan.edit(expected_version=2, at=T, follow_up_on=date(2026, 10, 20))

    assert plan.follow_up_on == date(2026, 10, 20)


def test_a_plan_comes_from_a_session_or_a_theme():
    with pytest.raises(InvalidInput):
        new_plan(session_id=None, theme_id=None)
    assert new_plan(session_id=None, theme_id="t1").theme_id == "t1"


def test_resources_are_deduplicated_and_bounded():
    plan = new_plan(resource_ids=["r1", "r1", " r2 "])
    assert plan.steps[0].resource_ids == ["r1", "r2"]
    with pytest.raises(InvalidInput):
        new_plan(resource_ids=[f"r{i}" for i in range(21)])


def test_forgetting_the_member_keeps_only_anonymous_facts():
    plan = new_plan(notes="avec Julie")
    move(plan, Step.DROPPED, reason="Julie est partie", notes="triste")

    plan.forget_member("anon-1")

    assert (plan.member_id, plan.anonymous_owner, plan.private_notes, plan.drop_reason) == (None, "anon-1", None, None)
    assert [s.notes for s in plan.steps] == [None, None]
    assert (plan.title, plan.community_id, plan.organization_id) == ("Pauses actives", "c1", "org-1")


def test_overdue_follow_up_is_due_the_day_after_and_not_after_an_update():
    plan = new_plan()
    move(plan, Step.FOLLOW_UP_PLANNED, follow_up_on=date(2026, 10, 8), follow_up_with=FollowUpWith.MANAGER)

    on_the_day = plan.due_nudges(datetime(2026, 10, 8, 20, tzinfo=UTC), session_at=T)
    day_after = plan.due_nudges(datetime(2026, 10, 9, 1, tzinfo=UTC), session_at=T)
    plan.edit(expected_version=plan.version, at=datetime(2026, 10, 9, 2, tzinfo=UTC), title="Nouveau titre")
    after_update = plan.due_nudges(datetime(2026, 10, 10, tzinfo=UTC), session_at=T)

    assert on_the_day == []
    assert day_after == [(NudgeKind.FOLLOW_UP_OVERDUE, date(2026, 10, 8))]
    assert after_update == []


def test_day_30_stops_being_due_once_day_90_comes_and_closed_or_erased_plans_are_never_due():
    plan = new_plan()

    assert plan.due_nudges(T + timedelta(days=89), session_at=T) == [
        (NudgeKind.DAY_30, (T + timedelta(days=30)).date())
    ]
    assert plan.due_nudges(T + timedelta(days=90), session_at=T) == [
        (NudgeKind.DAY_90, (T + timedelta(days=90)).date())
    ]
    erased, deployed = new_plan(), new_plan()
    erased.forget_member("anon")
    move(deployed, Step.DEPLOYED)
    assert erased.due_nudges(T + timedelta(days=40), session_at=T) == []
    assert deployed.due_nudges(T + timedelta(days=40), session_at=T) == []


def test_a_nudge_id_is_deterministic_and_its_event_carries_no_notes():
    plan = new_plan()
    nudge = Nudge.issue(plan, NudgeKind.DAY_30, date(2026, 10, 31), plan_url="https://x.example.org/p1", at=T)
    again = Nudge.id_for("p1", NudgeKind.DAY_30, date(2026, 10, 31))

    (event,) = nudge.recorded_events
    assert nudge.id == again
    assert isinstance(event, NudgeIssued)
    assert (event.member_id, event.current_step, event.plan_title) == ("ana", "need_sensed", "Pauses actives")
    assert "à moi" not in repr(event)
