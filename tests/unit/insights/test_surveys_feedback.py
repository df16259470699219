"""Post-session feedback (issue 11): the day after a session is held, insights asks the members marked present who
consented to surveys; reminders stop once she answered, withdrew her consent, or the survey closed; erasure; the
answer link and its form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from cercle_insights.adapters import survey_orm
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts import topics

from . import events as ev

INVITATION = "org.cercle.insights.survey.invitation_issued.v1"
JOB = "send-survey-messages"
LAVAL = "13"


def consent(member_id: str, granted: bool = True, *, at=None, purpose: str = "surveys"):
    return reg.MemberConsentChanged(member_id=member_id, purpose=purpose, granted=granted, changed_at=at or ev.day(0))


def held(community_id: str, session_id: str, starts_at, theme_id: str | None = None):
    return ses.SessionHeld(
        session_id=session_id, community_id=community_id, theme_id=theme_id, starts_at=starts_at, held_at=starts_at
    )


def attendance(community_id: str, session_id: str, present: list[str], at):
    return ses.SessionAttendanceRecorded(
        session_id=session_id,
        community_id=community_id,
        confirmed=len(present) + 1,
        present=len(present),
        absent=1,
        present_member_ids=present,
        recorded_at=at,
    )


def invitations(insights, member_id: str | None = None) -> list[dict]:
    rows = list(insights.published(INVITATION))
    return [r["data"] | {"_key": r["key"], "_topic": r["topic"]} for r in rows if member_id in (None, r["key"])]


@pytest.fixture
def session(insights, project):
    """A Laval community whose session (starting now) was held: m-1..m-3 present, m-4 absent; m-1, m-2 and m-4
    consented to surveys, m-3 gave consent only to emails."""
    community, session_id = ev.new_id(), ev.new_id()
    project(ev.community_created(community, regions=[LAVAL]))
    for m in ("m-1", "m-2", "m-3", "m-4"):
        project(ev.joined(community, m))
    project(consent("m-1"), consent("m-2"), consent("m-4"), consent("m-3", purpose="email"))
    now = insights.clock.now
    project(
        held(community, session_id, now, theme_id="t-nature"),
        attendance(community, session_id, ["m-1", "m-2", "m-3"], now),
    )
    return {"community": community, "session": session_id}


def _token(invitation: dict) -> str:
    return invitation["answer_url"].rsplit("/", 1)[1]


def test_the_day_after_the_session_the_members_present_who_consented_are_invited_once(insights, session):
    insights.run_job(JOB)
    assert invitations(insights) == []  # not the same day

    insights.advance(days=1)
    insights.run_job(JOB)
    insights.run_job(JOB)  # a second run sends nothing again

    sent = invitations(insights)
    assert sorted(i["member_id"] for i in sent) == ["m-1", "m-2"]  # m-3 gave no consent to surveys, m-4 was absent
    first = sent[0]
    assert first["_topic"] == topics.INSIGHTS_MEMBER_MESSAGES.name
    assert first["_key"] == first["member_id"]
    assert (first["kind"], first["round"], first["session_id"]) == ("session_feedback", 0, session["session"])
    assert first["community_id"] == session["community"]
    assert first["title_fr"].startswith("Votre avis sur la rencontre du")
    assert re.fullmatch(
        r"http://127\.0\.0\.1:8004/v1/survey-answers/[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}", first["answer_url"]
    )
    assert len({i["invitation_id"] for i in sent}) == 2


def test_reminders_follow_the_configured_days_and_stop_once_she_answered(insights, session):
    insights.advance(days=1)
    insights.run_job(JOB)
    m1 = invitations(insights, "m-1")[0]
    assert insights.api.post(f"/v1/survey-answers/{_token(m1)}", data=_form(5, 4, 5, "Merci")).status_code == 200

    insights.advance(days=3)
    insights.run_job(JOB)
    assert [i["round"] for i in invitations(insights, "m-2")] == [0, 1]
    assert [i["round"] for i in invitations(insights, "m-1")] == [0]  # she answered: no reminder

    insights.advance(days=4)
    insights.run_job(JOB)
    insights.advance(days=5)
    insights.run_job(JOB)
    rounds = invitations(insights, "m-2")
    assert [i["round"] for i in rounds] == [0, 1, 2]  # settings: reminders on days 3 and 7, then nothing
    assert len({i["invitation_id"] for i in rounds}) == 3  # one id per email


def test_a_withdrawn_consent_stops_the_reminders_and_a_late_consent_is_asked_while_open(insights, session, project):
    insights.advance(days=1)
    insights.run_job(JOB)
    project(consent("m-2", False, at=ev.day(120)), consent("m-3", True, at=ev.day(120)))

    insights.advance(days=3)
    insights.run_job(JOB)

    assert [i["round"] for i in invitations(insights, "m-2")] == [0]
    assert [i["round"] for i in invitations(insights, "m-3")] == [0]  # present, and now consenting


def test_an_older_consent_event_arriving_late_does_not_override_the_latest(insights, session, project):
    project(consent("m-1", False, at=ev.day(90)), consent("m-1", True, at=ev.day(10)))
    insights.advance(days=1)
    insights.run_job(JOB)
    assert invitations(insights, "m-1") == []


def test_a_corrected_attendance_asks_the_members_added_and_a_session_long_past_asks_nobody(insights, session, project):
    insights.advance(days=1)
    insights.run_job(JOB)
    project(consent("m-3"))
    project(attendance(session["community"], session["session"], ["m-1", "m-2", "m-3"], insights.clock.now))
    insights.run_job(JOB)
    assert sorted(i["member_id"] for i in invitations(insights)) == ["m-1", "m-2", "m-3"]

    old = ev.new_id()
    long_ago = insights.clock.now - timedelta(days=60)
    project(held(session["community"], old, long_ago), attendance(session["community"], old, ["m-1"], long_ago))
    insights.run_job(JOB)
    assert all(i["session_id"] != old for i in invitations(insights))


def test_erasure_forgets_her_invitation_and_consent_but_her_answer_stays_in_the_counts(insights, session, project):
    insights.advance(days=1)
    insights.run_job(JOB)
    m1 = invitations(insights, "m-1")[0]
    insights.api.post(f"/v1/survey-answers/{_token(m1)}", data=_form(5, 5, 5, ""))

    project(ev.erased("m-1", at=insights.clock.now), ev.erased("m-2", at=insights.clock.now))

    with insights.runtime.db_factory() as db:
        left = db.execute(select(survey_orm.survey_invitations.c.member_id)).scalars().all()
        consents = db.execute(select(survey_orm.survey_consents.c.member_id)).scalars().all()
        present = db.execute(select(survey_orm.survey_attendance.c.present_member_ids)).scalar_one()
        answers = db.execute(select(survey_orm.survey_answers)).all()
    assert left == []
    assert "m-1" not in consents
    assert "m-2" not in consents
    assert present == ["m-3"]
    assert len(answers) == 1
    assert insights.api.get(f"/v1/survey-answers/{_token(m1)}").status_code == 404
    insights.advance(days=3)
    insights.run_job(JOB)
    assert [i["round"] for i in invitations(insights, "m-2")] == [0]  # erased: never reminded


def test_the_answers_table_holds_no_member_and_no_time(insights, session):
    insights.advance(days=1)
    insights.run_job(JOB)
    m1 = invitations(insights, "m-1")[0]
    insights.api.post(f"/v1/survey-answers/{_token(m1)}", data=_form(4, 3, 5, "Très utile"))

    columns = {c["name"] for c in inspect(insights.runtime.engine).get_columns("survey_answers")}
    assert not {c for c in columns if "member" in c or c.endswith("_at") or c in ("created", "answered_on")}
    with insights.runtime.db_factory() as db:
        row = db.execute(select(survey_orm.survey_answers)).one()._asdict()
        invitation = (
            db.execute(select(survey_orm.survey_invitations).where(survey_orm.survey_invitations.c.member_id == "m-1"))
            .one()
            ._asdict()
        )
    assert "m-1" not in repr(row)
    assert invitation["id"] not in repr(row)
    assert row["scores"] == {"usefulness": 4, "will_apply": 3, "would_recommend": 5}
    assert row["texts"] == {"comment": "Très utile"}
    assert row["theme_id"] == "t-nature"
    assert invitation["answered"] is True


def _form(usefulness, will_apply, would_recommend, comment):
    return {
        "usefulness": str(usefulness),
        "will_apply": str(will_apply),
        "would_recommend": str(would_recommend),
        "comment": comment,
    }


def test_the_answer_page_is_bilingual_and_takes_one_answer(insights, session):
    insights.advance(days=1)
    insights.run_job(JOB)
    url = f"/v1/survey-answers/{_token(invitations(insights, 'm-2')[0])}"

    page = insights.api.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text
    assert "Cette rencontre m&#39;a été utile" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    english = insights.api.get(url, params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "This meeting was useful to me." in english.text

    missing = insights.api.post(url, data={"usefulness": "5", "will_apply": "9", "would_recommend": "5"})
    assert missing.status_code == 422
    assert 'id="item-will_apply" aria-invalid="true"' in missing.text

    done = insights.api.post(url + "?lang=en", data=_form(5, 4, 4, "Great"))
    assert done.status_code == 200
    assert "Thank you" in done.text
    again = insights.api.post(url, data=_form(1, 1, 1, ""))
    assert again.status_code == 409
    assert "déjà répondu" in again.text
    assert "déjà répondu" in insights.api.get(url).text


@pytest.mark.parametrize(
    "token",
    ["nope", "00000000-0000-0000-0000-000000000000.AAAA", "x" * 190, "a.b.c"],
)
def test_a_forged_or_unknown_link_reveals_nothing(insights, session, token):
    for response in (
        insights.api.get(f"/v1/survey-answers/{token}"),
        insights.api.post(f"/v1/survey-answers/{token}", data={}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


def test_a_tampered_link_of_a_real_invitation_is_refused(insights, session):
    insights.advance(days=1)
    insights.run_job(JOB)
    token = _token(invitations(insights, "m-1")[0])
    other = invitations(insights, "m-2")[0]["answer_url"].rsplit("/", 1)[1].split(".")[0]
    forged = other + "." + token.split(".")[1]
    assert insights.api.get(f"/v1/survey-answers/{forged}").status_code == 404


def test_after_closing_the_link_answers_410_and_no_reminder_goes(insights, session):
    insights.advance(days=1)
    insights.run_job(JOB)
    url = f"/v1/survey-answers/{_token(invitations(insights, 'm-2')[0])}"
    insights.advance(days=15)  # feedback surveys stay open 14 days
    insights.run_job(JOB)
    assert [i["round"] for i in invitations(insights, "m-2")] == [0]  # the job ran only once it had closed
    closed = insights.api.post(url, data=_form(5, 5, 5, ""))
    assert closed.status_code == 410
    assert "fermé" in closed.text


def test_hostile_but_valid_events_are_applied_and_never_stall_the_job(insights, session, project):
    """A naive time is read as UTC; an id wider than any member id column is nobody to ask, not a failing job."""
    too_long = "m-" + "x" * 100
    project(
        consent(too_long),
        reg.MemberConsentChanged(
            member_id="m-3", purpose="surveys", granted=True, changed_at=ev.day(50).replace(tzinfo=None)
        ),
        attendance(
            session["community"], session["session"], ["m-1", "m-3", too_long], insights.clock.now.replace(tzinfo=None)
        ),
    )
    insights.advance(days=1)
    insights.run_job(JOB)
    assert sorted(i["member_id"] for i in invitations(insights)) == ["m-1", "m-3"]
