"""Who reads a session's feedback (`GET /v1/sessions/{id}/feedback`): the facilitators of its community, the
coordinators of its regions and operators; figures and comments only from CERCLE_SURVEY_MIN_GROUP (5) answers, for
every one of them."""

from __future__ import annotations

import pytest

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from tests.support.services import auth

from . import events as ev

INVITATION = "org.cercle.insights.survey.invitation_issued.v1"
JOB = "send-survey-messages"
LAVAL, LAURENTIDES = "13", "15"
PEOPLE = [f"m-{n}" for n in range(1, 7)]


@pytest.fixture
def held(insights, project):
    """cop-a (Laval) held a session with m-1..m-6 present, all consenting; the day after, each was invited."""
    project(ev.community_created("cop-a", regions=[LAVAL]), ev.community_created("cop-b", regions=[LAVAL]))
    for m in PEOPLE:
        project(
            ev.joined("cop-a", m),
            reg.MemberConsentChanged(member_id=m, purpose="surveys", granted=True, changed_at=ev.day(1)),
        )
    session_id, now = ev.new_id(), insights.clock.now
    project(
        ses.SessionHeld(session_id=session_id, community_id="cop-a", theme_id=None, starts_at=now, held_at=now),
        ses.SessionAttendanceRecorded(
            session_id=session_id,
            community_id="cop-a",
            confirmed=6,
            present=6,
            absent=0,
            present_member_ids=PEOPLE,
            recorded_at=now,
        ),
    )
    insights.advance(days=1)
    insights.run_job(JOB)
    return session_id


def answer(insights, member_id: str, comment: str) -> None:
    link = next(r["data"]["answer_url"] for r in insights.published(INVITATION) if r["key"] == member_id)
    form = {"usefulness": "5", "will_apply": "4", "would_recommend": "2", "comment": comment}
    assert insights.api.post(f"/v1/survey-answers/{link.rsplit('/', 1)[1]}", data=form).status_code == 200


def feedback(insights, session_id: str, headers):
    return insights.api.get(f"/v1/sessions/{session_id}/feedback", headers=headers)


def test_the_facilitator_of_the_community_reads_the_figures_and_comments_from_five_answers(insights, held):
    for n, m in enumerate(PEOPLE[:5]):
        answer(insights, m, f"Commentaire {5 - n}")

    response = feedback(insights, held, auth("facilitator", communities=["cop-a"]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["session_id"], body["community_id"], body["invited"], body["respondents"]) == (held, "cop-a", 6, 5)
    items = {i["key"]: i for i in body["items"]}
    assert (items["usefulness"]["agree_pct"], items["would_recommend"]["agree_pct"]) == (100.0, 0.0)
    assert items["comment"]["texts"] == [f"Commentaire {n}" for n in range(1, 6)]  # sorted, not in the order given
    assert body == feedback(insights, held, auth("coordinator", regions=[LAVAL])).json()  # what a coordinator reads


def test_below_five_answers_the_facilitator_sees_counts_only_as_everyone_does(insights, held):
    for m in PEOPLE[:4]:
        answer(insights, m, "Très utile")

    for headers in (auth("facilitator", communities=["cop-a"]), auth("operator")):
        body = feedback(insights, held, headers).json()
        assert body["respondents"] == 4
        for item in body["items"]:
            assert item["reason"] == "not_enough_answers"
            assert (item["agree_pct"], item["mean"], item["texts"]) == (None, None, None)


@pytest.mark.parametrize(
    "headers",
    [
        auth("facilitator", communities=["cop-b"]),  # another community of the same region
        auth("facilitator"),  # no community at all
        auth("member", member_id="m-1", communities=["cop-a"]),  # even one who was there
        auth("partner", organization_id="org-1"),
        auth("coordinator", regions=[LAURENTIDES]),
    ],
    ids=["facilitator-elsewhere", "facilitator-of-none", "member-present", "partner", "coordinator-elsewhere"],
)
def test_others_get_a_403_problem(insights, held, headers):
    for m in PEOPLE[:5]:
        answer(insights, m, "ok")

    response = feedback(insights, held, headers)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "agree_pct" not in response.text


def test_a_session_without_feedback_is_a_404_for_its_facilitator(insights, held):
    response = feedback(insights, ev.new_id(), auth("facilitator", communities=["cop-a"]))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_no_token_is_a_401(insights, held):
    assert insights.api.get(f"/v1/sessions/{held}/feedback").status_code == 401
