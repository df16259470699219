"""Emails on insights' behalf (issue 11): survey invitations and reminders, action-plan nudges, health alerts to the
coordinators of a community's regions. Through the real consumer path, sent to a real SMTP server process."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from cercle_notifications.adapters import orm
from cercle_shared.contracts import insights as insights_events
from cercle_shared.contracts import registration as reg_events
from tests.support.harness import new_id

from .conftest import body, community, mail_to, member

ANSWER_URL = "https://cercle.example/insights/surveys/answer?t=secret-token-Zx81"


def invite(h, member_id, community_id, *, round=0, days_open=14, invitation_id=None):
    return h.publish(
        insights_events.SurveyInvitationIssued(
            invitation_id=invitation_id or new_id(),
            survey_id="s-1",
            member_id=member_id,
            kind="session_feedback",
            round=round,
            community_id=community_id,
            session_id="session-1",
            title_fr="Votre avis sur la rencontre du 3 mars",
            title_en="Your feedback on the March 3 session",
            answer_url=ANSWER_URL,
            closes_at=h.clock.now + timedelta(days=days_open),
            issued_at=h.clock.now,
        )
    )


def role(h, member_id, community_id, role_name):
    h.publish(
        reg_events.MembershipJoined(
            membership_id=new_id(),
            community_id=community_id,
            member_id=member_id,
            role=role_name,
            joined_at=h.clock.now,
        )
    )


def stored_details(h) -> list[dict]:
    with h.runtime.db_factory() as db:
        return [row.details for row in db.execute(select(orm.deliveries)).all()]


def test_a_survey_invitation_is_emailed_in_her_language_with_its_link_which_is_not_kept(h, smtp):
    laval = community(h)
    marie, email = member(h, laval, language="en")
    invite(h, marie, laval)
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Your views: Your feedback on the March 3 session"
    text = body(message)
    assert f"Answer: {ANSWER_URL}&lang=en" in text  # the form in her language
    assert "in the session of the Laval workplace health CoP community" in text
    assert "at least five people" in text
    assert message["List-Unsubscribe"] is not None  # a survey can be stopped in one click
    assert "Stop receiving survey invitations:" in text
    assert all("link" not in details for details in stored_details(h))


def test_the_same_invitation_seen_twice_is_one_email_and_a_reminder_is_another(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    invitation = new_id()
    invite(h, marie, laval, invitation_id=invitation)
    invite(h, marie, laval, invitation_id=invitation)  # a replay, under another event id
    h.run_job("send-emails")
    invite(h, marie, laval, round=1)
    h.run_job("send-emails")
    subjects = [m["Subject"] for m in mail_to(smtp, email)]
    assert subjects == [
        "Votre avis : Votre avis sur la rencontre du 3 mars",
        "Rappel — votre avis : Votre avis sur la rencontre du 3 mars",
    ]


def test_no_invitation_once_the_survey_closed_nor_when_she_stopped_surveys(h, smtp):
    laval = community(h)
    late, late_email = member(h, laval)
    invite(h, late, laval, days_open=1)
    h.advance(days=2)  # the sender was down until after it closed
    h.run_job("send-emails")
    assert mail_to(smtp, late_email) == []

    stopped, stopped_email = member(h, laval)
    response = h.api.put(
        f"/v1/members/{stopped}/preferences", json={"categories": {"surveys": False}}, headers=h.as_member(stopped)
    )
    assert response.status_code == 200, response.text
    invite(h, stopped, laval)
    h.run_job("send-emails")
    assert mail_to(smtp, stopped_email) == []


def test_an_action_plan_nudge_names_her_plan_its_step_and_where_to_update_it(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    h.publish(
        insights_events.ActionPlanNudged(
            nudge_id=new_id(),
            plan_id="p-1",
            member_id=marie,
            kind="day_30",
            plan_title="Pauses actives au bureau",
            community_id=laval,
            session_id="session-1",
            current_step="allies_found",
            plan_url="https://cercle.example/action-plans/p-1",
            nudged_at=h.clock.now,
        )
    )
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Votre plan d'action : Pauses actives au bureau"
    text = body(message)
    assert "Il y a un mois" in text
    assert "Étape actuelle : alliés trouvés" in text
    assert "Mettre à jour votre plan : https://cercle.example/action-plans/p-1" in text


def alert(h, community_id, *, status="raised", alert_id=None, regions=("13",)):
    h.publish(
        insights_events.CommunityHealthAlerted(
            alert_id=alert_id or new_id(),
            community_id=community_id,
            regions=list(regions),
            status=status,
            signals=["attendance_down", "no_new_member"] if status == "raised" else [],
            score=38.4,
            month=date(2026, 11, 1),
            alerted_at=h.clock.now,
        )
    )


def test_a_health_alert_goes_once_to_the_coordinators_of_its_regions_only(h, smtp):
    laval = community(h)  # region 13
    other_in_laval = community(h, "CoP RH Laval", "Laval HR CoP")  # region 13 too
    elsewhere = new_id()
    h.publish(
        reg_events.CommunityCreated(
            community_id=elsewhere,
            name_fr="CoP Québec",
            name_en="Québec CoP",
            kind="community_of_practice",
            regions=["03"],
            cadence=6,
            status="active",
            created_at=h.clock.now,
        )
    )
    own_coordinator, own_email = member(h)
    role(h, own_coordinator, laval, "coordinator")
    regional_coordinator, regional_email = member(h, language="en")
    role(h, regional_coordinator, other_in_laval, "coordinator")
    far_coordinator, far_email = member(h)
    role(h, far_coordinator, elsewhere, "coordinator")
    _participant, participant_email = member(h, laval)

    alert_id = new_id()
    alert(h, laval, alert_id=alert_id)
    alert(h, laval, alert_id=alert_id)  # seen again: no second email
    h.run_job("send-emails")

    [french] = mail_to(smtp, own_email)
    assert french["Subject"] == "Alerte santé : CoP SMET Laval"
    assert "la participation baisse depuis les trois dernières rencontres" in body(french)
    assert "aucun nouveau membre depuis six mois" in body(french)
    assert "novembre 2026" in body(french)
    assert "38 sur 100" in body(french)
    [english] = mail_to(smtp, regional_email)
    assert english["Subject"] == "Health alert: Laval workplace health CoP"
    assert mail_to(smtp, far_email) == []
    assert mail_to(smtp, participant_email) == []

    alert(h, laval, status="cleared")
    h.run_job("send-emails")
    assert [m["Subject"] for m in mail_to(smtp, own_email)][-1] == "Fin d'alerte : CoP SMET Laval"
