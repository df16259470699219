"""Action plans over HTTP on the real app (SQLite, no broker): the road, bad input, scope, nudges, funnel, erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.services import auth

from . import events as ev

LAVAL, LAURENTIDES = "13", "15"
PLANS = "/v1/action-plans"


@pytest.fixture
def api(insights):
    return insights.api


@pytest.fixture
def cop(project):
    """A Laval community with members ana and bea, a session held 10 days before the clock's NOW (day 100)."""
    community, session = ev.new_id(), ev.new_id()
    project(
        ev.community_created(community, regions=[LAVAL], name="CoP Laval"),
        ev.joined(community, "ana", at=ev.day(0)),
        ev.joined(community, "bea", at=ev.day(0)),
        ev.scheduled(community, session, starts_at=ev.day(90)),
    )
    return {"community": community, "session": session}


def open_plan(api, member: str, cop, **body):
    payload = {"title": "Pauses actives au bureau", "session_id": cop["session"], **body}
    response = api.post(PLANS, json=payload, headers=auth("member", member_id=member))
    assert response.status_code == 201, response.text
    return response


def field_of(response) -> str:
    """The field the problem names (its first error)."""
    return response.json()["errors"][0]["field"]


def step(api, member: str, plan_id: str, etag: str, **body):
    return api.post(
        f"{PLANS}/{plan_id}/steps", json=body, headers={**auth("member", member_id=member), "If-Match": etag}
    )


# -- the road -------------------------------------------------------------------------------------------------------


def test_a_member_opens_a_plan_from_a_session_and_walks_the_whole_road(api, cop, insights):
    opened = open_plan(api, "ana", cop, private_notes="Parler à Julie d'abord")
    plan = opened.json()
    assert plan["current_step"] == "need_sensed"
    assert plan["community_id"] == cop["community"]
    assert plan["label_fr"] == "Besoin capté"
    assert opened.headers["ETag"] == 'W/"1"'
    etag = opened.headers["ETag"]

    moves = [
        {"step": "follow_up_planned", "follow_up_on": "2026-12-20", "follow_up_with": "manager"},
        {"step": "allies_found", "notes": "Deux collègues du comité SMET", "resource_ids": ["res-1"]},
        {"step": "pitched_to_management"},
        {"step": "deployed", "resource_ids": ["res-1", "res-2"]},
    ]
    for move in moves:
        response = step(api, "ana", plan["id"], etag, **move)
        assert response.status_code == 201, response.text
        etag = response.headers["ETag"]

    final = api.get(f"{PLANS}/{plan['id']}", headers=auth("member", member_id="ana")).json()
    assert [s["step"] for s in final["steps"]] == [
        "need_sensed",
        "follow_up_planned",
        "allies_found",
        "pitched_to_management",
        "deployed",
    ]
    assert final["current_step"] == "deployed"
    assert final["steps"][4]["resource_ids"] == ["res-1", "res-2"]
    assert final["private_notes"] == "Parler à Julie d'abord"
    assert final["version"] == 5


def test_a_plan_may_skip_forward_but_never_goes_back_nor_repeats_a_step(api, cop):
    opened = open_plan(api, "ana", cop)
    plan_id = opened.json()["id"]
    skipped = step(api, "ana", plan_id, opened.headers["ETag"], step="pitched_to_management")
    assert skipped.status_code == 201

    back = step(api, "ana", plan_id, skipped.headers["ETag"], step="allies_found")
    again = step(api, "ana", plan_id, skipped.headers["ETag"], step="pitched_to_management")

    assert back.status_code == 409
    assert field_of(back) == "step"
    assert again.status_code == 409


def test_a_plan_is_dropped_from_any_step_with_a_reason_and_then_is_closed(api, cop):
    opened = open_plan(api, "ana", cop)
    plan_id = opened.json()["id"]

    no_reason = step(api, "ana", plan_id, opened.headers["ETag"], step="dropped")
    dropped = step(api, "ana", plan_id, opened.headers["ETag"], step="dropped", reason="Réorganisation du service")
    after = step(api, "ana", plan_id, dropped.headers["ETag"], step="allies_found")

    assert no_reason.status_code == 422
    assert field_of(no_reason) == "reason"
    assert dropped.status_code == 201
    assert dropped.json()["current_step"] == "dropped"
    assert dropped.json()["drop_reason"] == "Réorganisation du service"
    assert after.status_code == 409


def test_a_stale_or_missing_if_match_is_refused(api, cop):
    opened = open_plan(api, "ana", cop)
    plan_id = opened.json()["id"]
    moved = step(api, "ana", plan_id, opened.headers["ETag"], step="allies_found")
    assert moved.status_code == 201

    stale = step(api, "ana", plan_id, opened.headers["ETag"], step="pitched_to_management")
    missing = api.post(f"{PLANS}/{plan_id}/steps", json={"step": "deployed"}, headers=auth("member", member_id="ana"))
    patch_stale = api.patch(
        f"{PLANS}/{plan_id}", json={"title": "Autre"}, headers={**auth("member", member_id="ana"), "If-Match": 'W/"1"'}
    )

    assert stale.status_code == 409
    assert missing.status_code == 428
    assert field_of(missing) == "If-Match"
    assert patch_stale.status_code == 409


def test_she_edits_title_and_notes_clears_notes_and_moves_the_follow_up(api, cop):
    opened = open_plan(api, "ana", cop, private_notes="secret")
    plan_id = opened.json()["id"]
    planned = step(
        api,
        "ana",
        plan_id,
        opened.headers["ETag"],
        step="follow_up_planned",
        follow_up_on="2026-12-15",
        follow_up_with="colleagues",
    )
    headers = {**auth("member", member_id="ana"), "If-Match": planned.headers["ETag"]}

    edited = api.patch(
        f"{PLANS}/{plan_id}",
        json={"title": "Marche du midi", "private_notes": None, "follow_up_on": "2027-01-10"},
        headers=headers,
    )

    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["title"], body["private_notes"], body["follow_up_on"]) == ("Marche du midi", None, "2027-01-10")


def test_plans_list_is_hers_only_and_paginated_by_cursor(api, cop, insights):
    for n in range(3):
        open_plan(api, "ana", cop, title=f"Idée {n}")
        insights.advance(minutes=1)
    open_plan(api, "bea", cop)
    headers = auth("member", member_id="ana")

    first = api.get(PLANS, params={"limit": 2}, headers=headers).json()
    second = api.get(PLANS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers).json()
    crafted = api.get(PLANS, params={"cursor": "not-a-cursor"}, headers=headers)

    titles = [p["title"] for p in first["items"] + second["items"]]
    assert titles == ["Idée 2", "Idée 1", "Idée 0"]
    assert second["next_cursor"] is None
    assert crafted.status_code == 422
    assert field_of(crafted) == "cursor"


# -- bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "a\nb"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "private_notes": "x" * 4001}, "private_notes"),
        ({"title": "ok", "need_sensed_on": "2031-01-01"}, "need_sensed_on"),
        ({"title": "ok", "need_sensed_on": "nope"}, "need_sensed_on"),
        ({"title": "ok", "resource_ids": [f"r{i}" for i in range(21)]}, "resource_ids"),
        ({"title": "ok", "unknown": 1}, "unknown"),
    ],
)
def test_bad_plan_input_is_a_problem_naming_the_field(api, cop, body, field):
    response = api.post(PLANS, json={"session_id": cop["session"], **body}, headers=auth("member", member_id="ana"))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field_of(response).startswith(field) or field in field_of(response)


def test_a_plan_needs_a_session_or_a_theme(api, cop):
    response = api.post(PLANS, json={"title": "ok"}, headers=auth("member", member_id="ana"))

    assert response.status_code == 422
    assert field_of(response) == "session_id"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"step": "follow_up_planned"}, "follow_up_on", 422),
        ({"step": "follow_up_planned", "follow_up_on": "2026-12-20"}, "follow_up_with", 422),
        ({"step": "follow_up_planned", "follow_up_on": "2028-12-20", "follow_up_with": "manager"}, "follow_up_on", 422),
        ({"step": "follow_up_planned", "follow_up_on": "2026-01-20", "follow_up_with": "manager"}, "follow_up_on", 422),
        ({"step": "allies_found", "on": "2027-03-01"}, "on", 422),
        ({"step": "allies_found", "on": "2026-01-01"}, "on", 422),
        ({"step": "allies_found", "reason": "why"}, "reason", 422),
        ({"step": "flying"}, "step", 422),
        ({"step": "allies_found", "follow_up_with": "boss"}, "follow_up_with", 422),
    ],
)
def test_bad_step_input_is_a_problem_naming_the_field(api, cop, body, field, code):
    opened = open_plan(api, "ana", cop, need_sensed_on="2026-12-01")

    response = step(api, "ana", opened.json()["id"], opened.headers["ETag"], **body)

    assert response.status_code == code, response.text
    assert field in field_of(response)


# -- scope ------------------------------------------------------------------------------------------------------------


def test_another_members_plan_is_not_found_and_other_roles_keep_no_plans(api, cop):
    plan_id = open_plan(api, "ana", cop).json()["id"]

    as_bea = api.get(f"{PLANS}/{plan_id}", headers=auth("member", member_id="bea"))
    bea_steps = api.post(
        f"{PLANS}/{plan_id}/steps",
        json={"step": "allies_found"},
        headers={**auth("member", member_id="bea"), "If-Match": 'W/"1"'},
    )
    as_operator = api.get(f"{PLANS}/{plan_id}", headers=auth("operator"))
    anonymous = api.get(f"{PLANS}/{plan_id}")

    assert as_bea.status_code == 404
    assert bea_steps.status_code == 404
    assert as_operator.status_code == 403
    assert anonymous.status_code == 401


def test_a_plan_opens_only_from_a_community_she_belongs_to(api, cop, project):
    other, other_session = ev.new_id(), ev.new_id()
    project(ev.community_created(other, regions=[LAURENTIDES]), ev.scheduled(other, other_session))

    response = api.post(
        PLANS, json={"title": "ok", "session_id": other_session}, headers=auth("member", member_id="ana")
    )
    unknown = api.post(PLANS, json={"title": "ok", "session_id": "nope"}, headers=auth("member", member_id="ana"))

    assert response.status_code == 403
    assert unknown.status_code == 404
    assert field_of(unknown) == "session_id"


def test_a_plan_from_a_theme_insights_does_not_know_yet_names_its_community(api, cop):
    no_community = api.post(PLANS, json={"title": "ok", "theme_id": "t-1"}, headers=auth("member", member_id="ana"))
    opened = api.post(
        PLANS,
        json={"title": "ok", "theme_id": "t-1", "community_id": cop["community"]},
        headers=auth("member", member_id="ana"),
    )

    assert no_community.status_code == 422
    assert field_of(no_community) == "community_id"
    assert opened.status_code == 201
    assert opened.json()["theme_id"] == "t-1"


def test_the_portfolio_shows_the_communitys_plans_without_member_or_notes(api, cop, project):
    open_plan(api, "ana", cop, private_notes="secret de ana", notes="note de ana")
    other = ev.new_id()
    project(ev.community_created(other, regions=[LAURENTIDES]), ev.joined(other, "cleo"))
    url = f"/v1/communities/{cop['community']}/action-plans"

    as_bea = api.get(url, headers=auth("member", member_id="bea"))
    as_cleo = api.get(url, headers=auth("member", member_id="cleo"))
    as_coordinator = api.get(url, headers=auth("coordinator", regions=[LAVAL]))
    as_other_coordinator = api.get(url, headers=auth("coordinator", regions=[LAURENTIDES]))
    as_partner = api.get(url, headers=auth("partner", organization_id="org-1"))

    assert as_bea.status_code == 200
    item = as_bea.json()["items"][0]
    assert item["title"] == "Pauses actives au bureau"
    assert "secret" not in as_bea.text
    assert "note de ana" not in as_bea.text
    assert "ana" not in item.values()
    assert "member_id" not in item
    assert as_cleo.status_code == 403
    assert as_coordinator.status_code == 200
    assert as_other_coordinator.status_code == 403
    assert as_partner.status_code == 403


# -- nudges -----------------------------------------------------------------------------------------------------------


def nudges(insights):
    return [e["data"] for e in insights.published("org.cercle.insights.action_plan.nudged.v1")]


def test_an_overdue_follow_up_is_nudged_once_and_not_after_an_update(api, cop, insights):
    opened = open_plan(api, "ana", cop)
    plan_id = opened.json()["id"]
    step(
        api,
        "ana",
        plan_id,
        opened.headers["ETag"],
        step="follow_up_planned",
        follow_up_on="2026-12-12",
        follow_up_with="manager",
    )

    insights.run_job("nudge-action-plans")
    assert nudges(insights) == []  # not overdue yet (NOW is Dec 10)
    insights.advance(days=3)
    insights.run_job("nudge-action-plans")
    insights.run_job("nudge-action-plans")

    sent = nudges(insights)
    assert [n["kind"] for n in sent] == ["follow_up_overdue"]
    assert sent[0]["member_id"] == "ana"
    assert sent[0]["plan_id"] == plan_id
    assert sent[0]["current_step"] == "follow_up_planned"
    assert sent[0]["plan_url"].endswith(f"/v1/action-plans/{plan_id}")
    assert insights.published("org.cercle.insights.action_plan.nudged.v1")[0]["key"] == "ana"


def test_the_day_30_and_day_90_questions_go_once_each_after_the_session(api, cop, insights):
    open_plan(api, "ana", cop)  # session on day 90, plan on day 100

    insights.advance(days=19)  # day 119: not yet 30 days after the session
    insights.run_job("nudge-action-plans")
    assert nudges(insights) == []
    insights.advance(days=2)  # day 121
    insights.run_job("nudge-action-plans")
    insights.run_job("nudge-action-plans")
    insights.advance(days=60)  # day 181
    insights.run_job("nudge-action-plans")
    insights.advance(days=30)
    insights.run_job("nudge-action-plans")

    assert [n["kind"] for n in nudges(insights)] == ["day_30", "day_90"]
    assert len({n["nudge_id"] for n in nudges(insights)}) == 2


def test_no_nudge_for_deployed_or_dropped_plans_nor_erased_members(api, cop, insights):
    deployed = open_plan(api, "ana", cop)
    step(api, "ana", deployed.json()["id"], deployed.headers["ETag"], step="deployed")
    dropped = open_plan(api, "ana", cop)
    step(api, "ana", dropped.json()["id"], dropped.headers["ETag"], step="dropped", reason="Plus le temps")
    open_plan(api, "bea", cop)
    insights.publish(ev.erased("bea", at=insights.clock.now))

    insights.advance(days=100)
    insights.run_job("nudge-action-plans")

    assert nudges(insights) == []


def test_a_plan_opened_long_after_the_session_gets_only_the_question_still_ahead(api, cop, insights):
    insights.advance(days=40)  # day 140: 50 days after the session
    open_plan(api, "ana", cop)
    insights.advance(days=60)
    insights.run_job("nudge-action-plans")

    assert [n["kind"] for n in nudges(insights)] == ["day_90"]


# -- erasure ----------------------------------------------------------------------------------------------------------


def test_erasure_drops_her_notes_and_id_and_keeps_the_anonymous_counts(api, cop, insights):
    opened = open_plan(api, "ana", cop, private_notes="secret", notes="note")
    plan_id = opened.json()["id"]
    step(api, "ana", plan_id, opened.headers["ETag"], step="dropped", reason="Julie est partie")

    insights.publish(ev.erased("ana", at=insights.clock.now))

    assert api.get(f"{PLANS}/{plan_id}", headers=auth("member", member_id="ana")).status_code == 404
    with insights.uow() as uow:
        plan = uow.action_plans.get(plan_id)
        assert plan.member_id is None
        assert plan.anonymous_owner
        assert plan.private_notes is None
        assert plan.drop_reason is None
        assert all(s.notes is None for s in plan.steps)
    funnel = api.get(f"{PLANS}/funnel", headers=auth("operator")).json()["total"]
    assert (funnel["ideas"], funnel["dropped"], funnel["people"]) == (1, 1, 1)


def test_an_erased_member_opens_no_plan(api, cop, insights):
    insights.publish(ev.erased("bea", at=insights.clock.now))

    response = api.post(
        PLANS, json={"title": "ok", "session_id": cop["session"]}, headers=auth("member", member_id="bea")
    )

    assert response.status_code == 403


# -- funnel -----------------------------------------------------------------------------------------------------------


def test_funnel_counts_plans_that_reached_each_step_by_community_year_and_scope(api, cop, project, insights):
    members = [f"m{i}" for i in range(6)]
    project(*(ev.joined(cop["community"], m) for m in members))
    roads = [
        ["follow_up_planned", "allies_found", "pitched_to_management", "deployed"],
        ["pitched_to_management", "deployed"],
        ["allies_found", "pitched_to_management"],
        ["follow_up_planned"],
        ["follow_up_planned", "dropped"],
        [],
    ]
    for member, road in zip(members, roads, strict=True):
        opened = open_plan(api, member, cop)
        etag = opened.headers["ETag"]
        for s in road:
            body = {"step": s}
            if s == "follow_up_planned":
                body |= {"follow_up_on": "2026-12-20", "follow_up_with": "colleagues"}
            if s == "dropped":
                body["reason"] = "Pas de budget"
            moved = step(api, member, opened.json()["id"], etag, **body)
            assert moved.status_code == 201, moved.text
            etag = moved.headers["ETag"]

    coordinator = api.get(f"{PLANS}/funnel", params={"by": "year"}, headers=auth("coordinator", regions=[LAVAL]))
    elsewhere = api.get(f"{PLANS}/funnel", headers=auth("coordinator", regions=[LAURENTIDES]))
    forbidden_region = api.get(f"{PLANS}/funnel", params={"region": LAVAL}, headers=auth("coordinator", regions=["15"]))
    member = api.get(f"{PLANS}/funnel", headers=auth("member", member_id="m0"))

    total = coordinator.json()["total"]
    # a plan counts at every step up to the furthest it reached, skipped ones included
    assert (total["ideas"], total["followed_up"], total["allies"], total["pitched"], total["deployed"]) == (
        6,
        5,
        3,
        3,
        2,
    )
    assert (total["dropped"], total["people"], total["enough"]) == (1, 6, True)
    assert [r["key"] for r in coordinator.json()["rows"]] == ["2026"]
    assert elsewhere.json()["total"]["ideas"] == 0
    assert forbidden_region.status_code == 403
    assert field_of(forbidden_region) == "region"
    assert member.status_code == 403


def test_partners_see_only_their_organization_and_only_groups_of_five_people(api, cop, project, insights):
    from cercle_insights.domain.action_plans import ActionPlan

    members = [f"p{i}" for i in range(5)]
    project(*(ev.joined(cop["community"], m) for m in members))
    ids = []
    for m in members:
        ids.append(open_plan(api, m, cop).json()["id"])
    with insights.uow() as uow:  # the employer as helper G's projection would have snapshot it
        for n, plan_id in enumerate(ids):
            plan: ActionPlan = uow.action_plans.get(plan_id)
            plan.organization_id = "org-big" if n < 5 else "org-small"
        uow.commit()
    project(ev.joined(cop["community"], "solo"))
    solo = open_plan(api, "solo", cop).json()["id"]
    with insights.uow() as uow:
        uow.action_plans.get(solo).organization_id = "org-small"
        uow.commit()

    big = api.get(f"{PLANS}/funnel", headers=auth("partner", organization_id="org-big")).json()
    small = api.get(f"{PLANS}/funnel", headers=auth("partner", organization_id="org-small")).json()
    other_org = api.get(
        f"{PLANS}/funnel", params={"organization_id": "org-big"}, headers=auth("partner", organization_id="org-small")
    )
    by_org = api.get(f"{PLANS}/funnel", params={"by": "organization"}, headers=auth("operator")).json()

    assert (big["total"]["ideas"], big["total"]["people"], big["total"]["enough"]) == (5, 5, True)
    assert small["total"] == {
        "ideas": None,
        "followed_up": None,
        "allies": None,
        "pitched": None,
        "deployed": None,
        "dropped": None,
        "people": None,
        "enough": False,
    }
    assert other_org.status_code == 403
    assert {r["key"]: r["ideas"] for r in by_org["rows"]} == {"org-big": 5, "org-small": 1}


def test_the_minimum_group_is_a_setting(tmp_path, tmp_path_factory):
    from tests.support.harness import harness

    for h in harness("insights", tmp_path, tmp_path_factory.getbasetemp(), action_plan_min_group=1):
        h.clock.now = ev.day(100)
        community, session = ev.new_id(), ev.new_id()
        for event in (
            ev.community_created(community),
            ev.joined(community, "ana"),
            ev.scheduled(community, session, starts_at=ev.day(90)),
        ):
            h.publish(event)
        plan_id = open_plan(h.api, "ana", {"session": session}).json()["id"]
        with h.uow() as uow:
            uow.action_plans.get(plan_id).organization_id = "org-small"
            uow.commit()

        small = h.api.get(f"{PLANS}/funnel", headers=auth("partner", organization_id="org-small")).json()

        assert (small["total"]["ideas"], small["total"]["enough"]) == (1, True)


def test_a_nudge_date_is_the_days_after_the_session_not_the_opening(insights):
    from cercle_insights.domain.action_plans import ActionPlan, NudgeKind

    session_at = ev.day(0)
    plan = ActionPlan.open(
        plan_id="p",
        member_id="m",
        community_id="c",
        title="t",
        session_id="s",
        theme_id=None,
        organization_id=None,
        private_notes=None,
        need_sensed_on=None,
        notes=None,
        resource_ids=[],
        at=ev.day(1),
    )

    assert plan.due_nudges(ev.day(29), session_at) == []
    assert plan.due_nudges(ev.day(30), session_at) == [(NudgeKind.DAY_30, (session_at + timedelta(days=30)).date())]


def test_a_follow_up_moved_and_missed_again_is_nudged_again_once(api, cop, insights):
    opened = open_plan(api, "ana", cop)
    plan_id = opened.json()["id"]
    planned = step(
        api,
        "ana",
        plan_id,
        opened.headers["ETag"],
        step="follow_up_planned",
        follow_up_on="2026-12-11",
        follow_up_with="manager",
    )
    insights.advance(days=2)
    insights.run_job("nudge-action-plans")
    moved = api.patch(
        f"{PLANS}/{plan_id}",
        json={"follow_up_on": "2026-12-20"},
        headers={**auth("member", member_id="ana"), "If-Match": planned.headers["ETag"]},
    )
    assert moved.status_code == 200
    insights.advance(days=9)
    insights.run_job("nudge-action-plans")
    insights.run_job("nudge-action-plans")

    assert [(n["kind"], n["plan_id"]) for n in nudges(insights)] == [
        ("follow_up_overdue", plan_id),
        ("follow_up_overdue", plan_id),
    ]
    assert len({n["nudge_id"] for n in nudges(insights)}) == 2


def test_monthly_counts_give_plans_opened_and_deployed_per_month(api, cop, insights):
    from datetime import date

    from cercle_insights.service_layer import action_plans

    first = open_plan(api, "ana", cop)  # December 2026
    insights.advance(days=30)  # January 2027
    step(api, "ana", first.json()["id"], first.headers["ETag"], step="deployed")
    open_plan(api, "bea", cop)

    months = action_plans.monthly_counts(
        insights.uow(), [cop["community"]], since=date(2026, 11, 1), until=date(2027, 2, 1)
    )

    assert [(m.month, m.opened, m.deployed) for m in months] == [
        (date(2026, 12, 1), 1, 0),
        (date(2027, 1, 1), 1, 1),
    ]


def test_a_nudge_another_instance_sent_first_is_skipped_without_failing_the_batch(api, cop, insights, monkeypatch):
    from cercle_insights.adapters.action_plan_repository import ActionPlanRepository
    from cercle_insights.domain.action_plans import Nudge, NudgeKind

    raced = open_plan(api, "ana", cop).json()["id"]
    other = open_plan(api, "bea", cop).json()["id"]
    insights.advance(days=21)  # day 121: the day-30 questions are due
    about = (ev.day(90) + timedelta(days=30)).date()
    with insights.uow() as uow:  # the other instance's row, committed after this instance looked
        uow.action_plans.add_nudge_once(
            Nudge(Nudge.id_for(raced, NudgeKind.DAY_30, about), raced, NudgeKind.DAY_30, about, insights.clock.now)
        )
        uow.commit()
    monkeypatch.setattr(ActionPlanRepository, "sent_nudges", lambda self, ids: set())

    assert insights.run_job("nudge-action-plans") == 1

    assert [n["plan_id"] for n in nudges(insights)] == [other]
