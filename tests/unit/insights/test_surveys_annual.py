"""The annual community survey (issue 11): opened by a coordinator for a community or a region, the seeds' four
indicators on a 1–5 agreement scale plus custom items; answered once by invited members; results only for groups
of at least five, by community, region, year and theme, with the trend against earlier years."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cercle_shared.contracts import registration as reg
from tests.support.harness import harness
from tests.support.services import auth

from . import events as ev

INVITATION = "org.cercle.insights.survey.invitation_issued.v1"
JOB = "send-survey-messages"
LAVAL, LAURENTIDES = "13", "15"
AGREE = {"practice_evolves": 5, "spread_to_colleagues": 4, "change_agent": 4, "new_tools_resources": 5}
DISAGREE = {"practice_evolves": 2, "spread_to_colleagues": 1, "change_agent": 3, "new_tools_resources": 2}


def member(member_id: str) -> dict[str, str]:
    return auth("member", member_id=member_id)


@pytest.fixture
def world(insights, project):
    """Laval: community A (m-1..m-7; all but m-7 consented) and B (b-1, b-2 consented, and m-1 again);
    Laurentides: community C (c-1 consented)."""
    a, b, c = "cop-a", "cop-b", "cop-c"
    project(
        ev.community_created(a, regions=[LAVAL], name="CoP A"),
        ev.community_created(b, regions=[LAVAL], name="CoP B"),
        ev.community_created(c, regions=[LAURENTIDES], name="CoP C"),
    )
    for m in [f"m-{n}" for n in range(1, 8)]:
        project(ev.joined(a, m))
    for m in ("b-1", "b-2", "m-1"):
        project(ev.joined(b, m))
    project(ev.joined(c, "c-1"))
    for m in [*(f"m-{n}" for n in range(1, 7)), "b-1", "b-2", "c-1"]:
        project(reg.MemberConsentChanged(member_id=m, purpose="surveys", granted=True, changed_at=ev.day(1)))
    return {"a": a, "b": b, "c": c}


def open_survey(insights, headers=None, **body):
    now = insights.clock.now
    payload = {
        "community_id": "cop-a",
        "year": now.year,
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(days=30)).isoformat(),
    }
    payload.update(body)
    return insights.api.post("/v1/surveys", json=payload, headers=headers or auth("coordinator", regions=[LAVAL]))


def opened(insights, **body) -> dict:
    response = open_survey(insights, **body)
    assert response.status_code == 201, response.text
    return response.json()


def invited(insights, survey_id: str, round_: int = 0) -> list[str]:
    rows = insights.published(INVITATION)
    return sorted(r["key"] for r in rows if r["data"]["survey_id"] == survey_id and r["data"]["round"] == round_)


def answer(insights, survey_id: str, member_id: str, answers: dict):
    return insights.api.post(f"/v1/surveys/{survey_id}/answers", json={"answers": answers}, headers=member(member_id))


def test_a_coordinator_opens_a_survey_with_the_four_indicators_and_her_items(insights, world):
    body = opened(
        insights,
        custom_items=[
            {"key": "venue", "label_fr": "Le lieu me convient.", "label_en": "The venue suits me."},
            {"key": "wish", "kind": "text", "label_fr": "Un souhait?", "label_en": "A wish?"},
        ],
    )

    keys = [(i["key"], i["kind"], i["indicator"]) for i in body["items"]]
    assert keys == [
        ("practice_evolves", "scale", True),
        ("spread_to_colleagues", "scale", True),
        ("change_agent", "scale", True),
        ("new_tools_resources", "scale", True),
        ("venue", "scale", False),
        ("wish", "text", False),
    ]
    assert body["items"][0]["label_fr"] == "La communauté m'aide à faire évoluer ma pratique."
    assert (body["kind"], body["invited"], body["answered"], body["open"]) == ("annual", 0, 0, True)
    assert body["reminder_days"] == [3, 7]


def test_the_consenting_members_of_the_community_are_invited_when_it_opens(insights, world):
    survey = opened(insights, opens_at=(insights.clock.now + timedelta(days=2)).isoformat())
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == []  # not open yet

    insights.advance(days=2)
    insights.run_job(JOB)
    insights.run_job(JOB)

    assert invited(insights, survey["id"]) == [f"m-{n}" for n in range(1, 7)]  # m-7 gave no consent
    data = insights.published(INVITATION)[0]["data"]
    assert (data["kind"], data["community_id"], data["region"]) == ("annual", "cop-a", None)
    assert insights.api.get(f"/v1/surveys/{survey['id']}", headers=auth()).json()["invited"] == 6


def test_a_regional_survey_asks_each_consenting_member_of_its_communities_once(insights, world):
    survey = opened(insights, community_id=None, region=LAVAL)
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == ["b-1", "b-2", *(f"m-{n}" for n in range(1, 7))]


def test_reminders_of_an_annual_survey_follow_its_own_days(insights, world):
    survey = opened(insights, reminder_days=[5])
    insights.run_job(JOB)
    assert answer(insights, survey["id"], "m-1", AGREE).status_code == 201
    insights.advance(days=5)
    insights.run_job(JOB)
    insights.advance(days=5)
    insights.run_job(JOB)
    assert invited(insights, survey["id"], 1) == [f"m-{n}" for n in range(2, 7)]
    assert invited(insights, survey["id"], 2) == []


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (auth("coordinator", regions=[LAURENTIDES]), {}, 403),
        (auth("partner", organization_id="org-1"), {}, 403),
        (auth("member", member_id="m-1"), {}, 403),
        (auth("facilitator", communities=["cop-a"]), {}, 403),
        (auth("coordinator", regions=[LAURENTIDES]), {"community_id": None, "region": LAVAL}, 403),
        (auth("operator"), {"community_id": "nope"}, 404),
        (auth("operator"), {"community_id": None, "region": LAURENTIDES}, 201),
    ],
)
def test_who_may_open_a_survey(insights, world, headers, body, status):
    assert open_survey(insights, headers=headers, **body).status_code == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"community_id": None}, "body"),
        ({"region": LAVAL}, "body"),
        ({"region": "99", "community_id": None}, "region"),
        ({"closes_at": "2020-01-01T00:00:00Z", "opens_at": "2019-01-01T00:00:00Z"}, "closes_at"),
        ({"closes_at": "2026-12-01T00:00:00"}, "closes_at"),
        ({"year": 1900}, "year"),
        ({"custom_items": [{"key": "practice_evolves", "label_fr": "x", "label_en": "x"}]}, "custom_items.0.key"),
        ({"custom_items": [{"key": "Bad Key", "label_fr": "x", "label_en": "x"}]}, "custom_items"),
        ({"custom_items": [{"key": "k", "label_fr": "a\nb", "label_en": "x"}]}, "custom_items"),
        ({"reminder_days": [0]}, "reminder_days"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_survey_is_refused_naming_the_field(insights, world, body, field):
    response = open_survey(insights, headers=auth(), **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


def test_a_member_answers_once_and_is_told_she_did(insights, world):
    survey = opened(insights, custom_items=[{"key": "wish", "kind": "text", "label_fr": "Souhait", "label_en": "Wish"}])
    insights.run_job(JOB)

    mine = insights.api.get("/v1/surveys/mine", headers=member("m-2")).json()
    assert [(s["survey_id"], s["answered"], s["open"]) for s in mine] == [(survey["id"], False, True)]
    assert answer(insights, survey["id"], "m-2", AGREE | {"wish": "Plus de rencontres"}).status_code == 201
    again = answer(insights, survey["id"], "m-2", DISAGREE)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert insights.api.get("/v1/surveys/mine", headers=member("m-2")).json()[0]["answered"] is True
    assert answer(insights, survey["id"], "m-7", AGREE).status_code == 404  # never invited (no consent)
    assert answer(insights, survey["id"], "m-2", AGREE).status_code == 409
    assert insights.api.get("/v1/surveys/mine", headers=auth()).status_code == 403


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (AGREE | {"practice_evolves": 7}, "answers.practice_evolves"),
        (AGREE | {"change_agent": 0}, "answers.change_agent"),
        (AGREE | {"change_agent": "beaucoup"}, "answers.change_agent"),
        (AGREE | {"change_agent": True}, "answers.change_agent"),
        ({k: v for k, v in AGREE.items() if k != "new_tools_resources"}, "answers.new_tools_resources"),
        (AGREE | {"favourite_colour": 3}, "answers.favourite_colour"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_item_and_she_may_answer_after(insights, world, answers, field):
    survey = opened(insights)
    insights.run_job(JOB)
    response = answer(insights, survey["id"], "m-3", answers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert answer(insights, survey["id"], "m-3", AGREE).status_code == 201


def test_a_closed_survey_takes_no_answer_and_sends_no_reminder(insights, world):
    survey = opened(insights)
    insights.run_job(JOB)
    closed = insights.api.post(f"/v1/surveys/{survey['id']}/close", headers=auth("coordinator", regions=[LAVAL]))
    assert closed.status_code == 200
    assert closed.json()["open"] is False
    assert insights.api.post(f"/v1/surveys/{survey['id']}/close", headers=auth()).status_code == 409
    gone = answer(insights, survey["id"], "m-1", AGREE)
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    insights.advance(days=10)
    insights.run_job(JOB)
    assert invited(insights, survey["id"], 1) == []


def _answered(insights, survey_id: str, members: list[str], answers: dict) -> None:
    for m in members:
        assert answer(insights, survey_id, m, answers).status_code == 201


def test_results_are_withheld_below_five_respondents_and_shown_from_five(insights, world):
    survey = opened(insights, custom_items=[{"key": "wish", "kind": "text", "label_fr": "S", "label_en": "W"}])
    insights.run_job(JOB)
    _answered(insights, survey["id"], ["m-1", "m-2", "m-3"], AGREE | {"wish": "Zèbre"})
    _answered(insights, survey["id"], ["m-4"], DISAGREE | {"wish": "Abeille"})
    url = f"/v1/surveys/{survey['id']}/results"

    few = insights.api.get(url, headers=auth()).json()
    assert (few["invited"], few["respondents"], few["min_group"]) == (6, 4, 5)
    assert all(i["agree_pct"] is None and i["mean"] is None for i in few["items"])
    assert {i["reason"] for i in few["items"]} == {"not_enough_answers"}
    assert few["items"][-1]["texts"] is None

    _answered(insights, survey["id"], ["m-5"], AGREE)
    enough = insights.api.get(url, headers=auth()).json()
    first = enough["items"][0]
    assert (first["key"], first["respondents"], first["agree_pct"], first["mean"]) == ("practice_evolves", 5, 80.0, 4.4)
    assert first["reason"] is None
    assert enough["items"][-1]["texts"] == ["Abeille", "Zèbre", "Zèbre", "Zèbre"]  # sorted, not in the order given


def test_the_threshold_is_a_setting(tmp_path, tmp_path_factory):
    for h in harness("insights", tmp_path, tmp_path_factory.getbasetemp(), survey_min_group=2):
        h.publish(ev.community_created("cop-a", regions=[LAVAL]))
        for m in ("m-1", "m-2"):
            h.publish(ev.joined("cop-a", m))
            h.publish(reg.MemberConsentChanged(member_id=m, purpose="surveys", granted=True, changed_at=ev.day(1)))
        survey = opened(h)
        h.run_job(JOB)
        _answered(h, survey["id"], ["m-1", "m-2"], AGREE)
        results = h.api.get(f"/v1/surveys/{survey['id']}/results", headers=auth()).json()
        assert results["items"][0]["agree_pct"] == 100.0


@pytest.fixture
def two_years(insights, world):
    """2025 in community A: 5 answers, 3 agree; 2026: 6 answers, all agree. Community B (2026): 2 answers."""
    insights.clock.now = ev.day(100) - timedelta(days=365)
    last_year = opened(insights, year=2025)
    insights.run_job(JOB)
    _answered(insights, last_year["id"], ["m-1", "m-2", "m-3"], AGREE)
    _answered(insights, last_year["id"], ["m-4", "m-5"], DISAGREE)
    insights.clock.now = ev.day(100)
    this_year = opened(insights, year=2026, theme_id="t-nature")
    b = opened(insights, year=2026, community_id="cop-b")
    insights.run_job(JOB)
    _answered(insights, this_year["id"], [f"m-{n}" for n in range(1, 7)], AGREE)
    _answered(insights, b["id"], ["b-1", "b-2"], AGREE)
    return {"2025": last_year, "2026": this_year, "b": b}


def _by(rows, indicator="practice_evolves"):
    return {r["group"]: (r["respondents"], r["agree_pct"], r["reason"]) for r in rows if r["indicator"] == indicator}


def test_indicators_by_year_community_region_and_theme(insights, two_years):
    get = lambda **params: insights.api.get("/v1/surveys/indicators", params=params, headers=auth()).json()  # noqa: E731

    assert _by(get(community_id="cop-a", by="year")) == {"2025": (5, 60.0, None), "2026": (6, 100.0, None)}
    assert _by(get(region=LAVAL, year=2026, by="community")) == {
        "cop-a": (6, 100.0, None),
        "cop-b": (2, None, "not_enough_answers"),
    }
    assert _by(get(year=2026, by="region")) == {LAVAL: (8, 100.0, None)}
    assert _by(get(by="theme")) == {None: (7, 71.4, None), "t-nature": (6, 100.0, None)}
    total = get(region=LAVAL)
    assert [r["indicator"] for r in total] == [
        "practice_evolves",
        "spread_to_colleagues",
        "change_agent",
        "new_tools_resources",
    ]
    assert _by(total) == {None: (13, 84.6, None)}


def test_the_trend_compares_each_year_with_the_one_before(insights, two_years):
    trend = insights.api.get(
        "/v1/surveys/indicators/trend", params={"community_id": "cop-a"}, headers=auth("coordinator", regions=[LAVAL])
    )
    assert trend.status_code == 200
    points = [(p["indicator"], p["year"], p["agree_pct"], p["change_pts"]) for p in trend.json()]
    assert points[:2] == [("practice_evolves", 2025, 60.0, None), ("practice_evolves", 2026, 100.0, 40.0)]
    assert ("change_agent", 2026, 100.0, 40.0) in points
    withheld = insights.api.get("/v1/surveys/indicators/trend", params={"community_id": "cop-b"}, headers=auth()).json()
    assert [(p["year"], p["agree_pct"], p["change_pts"], p["reason"]) for p in withheld][:1] == [
        (2026, None, None, "not_enough_answers")
    ]


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        (auth("coordinator", regions=[LAVAL]), {"community_id": "cop-a"}, 200),
        (auth("coordinator", regions=[LAURENTIDES]), {"community_id": "cop-a"}, 403),
        (auth("coordinator", regions=[LAURENTIDES]), {"region": LAVAL}, 403),
        (auth("partner", organization_id="org-1"), {}, 403),
        (auth("member", member_id="m-1"), {"community_id": "cop-a"}, 403),
        (auth("facilitator", communities=["cop-a"]), {"community_id": "cop-a"}, 403),
        (auth(), {"community_id": "unknown"}, 404),
        (auth(), {"region": "99"}, 422),
        (auth(), {"by": "organization"}, 422),
    ],
)
def test_who_reads_the_indicators(insights, two_years, headers, params, status):
    assert insights.api.get("/v1/surveys/indicators", params=params, headers=headers).status_code == status


def test_a_coordinator_sees_only_the_surveys_and_answers_of_her_regions(insights, two_years):
    mine = insights.api.get("/v1/surveys", headers=auth("coordinator", regions=[LAURENTIDES])).json()
    assert mine["items"] == []
    theirs = insights.api.get(
        f"/v1/surveys/{two_years['2026']['id']}", headers=auth("coordinator", regions=[LAURENTIDES])
    )
    assert theirs.status_code == 403
    assert _by(
        insights.api.get("/v1/surveys/indicators", headers=auth("coordinator", regions=[LAURENTIDES])).json()
    ) == {None: (0, None, "not_enough_answers")}
    results = insights.api.get(
        f"/v1/surveys/{two_years['2026']['id']}/results", headers=auth("partner", organization_id="o")
    )
    assert results.status_code == 403


def test_surveys_are_listed_newest_first_a_page_at_a_time(insights, two_years):
    first = insights.api.get("/v1/surveys", params={"limit": 2}, headers=auth()).json()
    rest = insights.api.get("/v1/surveys", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth()).json()
    years = [s["year"] for s in first["items"] + rest["items"]]
    assert years == [2026, 2026, 2025]
    assert rest["next_cursor"] is None
    bad = insights.api.get("/v1/surveys", params={"cursor": "bm9wZQ"}, headers=auth())
    assert bad.status_code in (400, 422)
