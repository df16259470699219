"""Post-session feedback on the real broker and PostgreSQL: sessions records who was present and that the session
was held; insights, the day after, asks the members present who consented to surveys on its internal topic; the
answer link it sent takes one anonymous answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from cercle_shared.contracts import CATALOG, registration, topics
from cercle_shared.messaging.envelope import Envelope
from devtools.wait import wait_until
from tests.support.harness import Clock
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service, wait_for_job_runs

pytestmark = pytest.mark.integration

INVITATION = "org.cercle.insights.survey.invitation_issued.v1"
PUBLIC_URL = "https://insights.cercle.example"


def publish(bootstrap: str, *events) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            key, value, headers = Envelope.wrap(event, source="/cercle/registration").to_kafka()
            producer.send(
                CATALOG.for_event(event).topic.name,
                key=key,
                value=value,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        producer.flush(10)
    finally:
        producer.close()


def ok(response, code=200):
    assert response.status_code == code, response.text
    return response.json()


def test_attendance_recorded_by_sessions_becomes_feedback_invitations_on_the_internal_topic(kafka, new_database):
    community_id = f"c-{uuid.uuid4().hex[:8]}"
    present_consenting, present_silent, absent = (f"m-{uuid.uuid4().hex[:8]}" for _ in range(3))
    members = [present_consenting, present_silent, absent]
    real_now = datetime.now(UTC)
    publish(
        kafka.bootstrap,
        registration.CommunityCreated(
            community_id=community_id,
            name_fr="CoP Laval",
            name_en="Laval CoP",
            kind="community_of_practice",
            regions=["13"],
            cadence=6,
            status="active",
            created_at=real_now,
        ),
        *[
            registration.MembershipJoined(
                membership_id=f"ms-{m}", community_id=community_id, member_id=m, role="participant", joined_at=real_now
            )
            for m in members
        ],
        *[
            registration.MemberConsentChanged(member_id=m, purpose="surveys", granted=True, changed_at=real_now)
            for m in (present_consenting, absent)
        ],
    )
    sessions_clock, insights_clock = Clock(real_now), Clock(real_now)
    facilitator = auth("facilitator", communities=[community_id])
    insights_db = new_database("insights")
    with (
        running_service("sessions", new_database("sessions"), kafka.bootstrap, caught_up=True) as sessions,
        running_service(
            "insights",
            insights_db,
            kafka.bootstrap,
            caught_up=True,
            survey_job_interval=0.2,
            survey_public_url=PUBLIC_URL,
        ) as insights,
        TopicReader(kafka.bootstrap, topics.INSIGHTS_MEMBER_MESSAGES.name) as reader,
    ):
        sessions.app_state.clock = sessions_clock
        insights.app_state.clock = insights_clock
        starts = real_now + timedelta(hours=1)
        session = wait_until(
            lambda: (
                (
                    r := sessions.post(
                        f"/v1/communities/{community_id}/sessions",
                        headers=facilitator,
                        json={
                            "title": "Nature et santé mentale",
                            "starts_at": starts.isoformat(),
                            "ends_at": (starts + timedelta(hours=2)).isoformat(),
                            "mode": "in_person",
                            "location": "Laval",
                            "capacity": 10,
                        },
                    )
                ).status_code
                == 201
                and r.json()
            ),
            60,
            message="the community in sessions' replica",
        )
        url = f"/v1/sessions/{session['id']}"
        registrations = {
            m: wait_until(
                lambda m=m: (
                    (
                        r := sessions.post(f"{url}/registrations", json={}, headers=auth("member", member_id=m))
                    ).status_code
                    == 201
                    and r.json()
                ),
                60,
                message="memberships in sessions' replica",
            )
            for m in members
        }
        sessions_clock.now = starts + timedelta(minutes=30)
        ok(
            sessions.put(
                f"{url}/attendance",
                json={
                    "records": [
                        {"registration_id": registrations[present_consenting]["id"], "present": True},
                        {"registration_id": registrations[present_silent]["id"], "present": True},
                        {"registration_id": registrations[absent]["id"], "present": False},
                    ]
                },
                headers=facilitator,
            )
        )
        ok(sessions.post(f"{url}/held", headers=facilitator))

        def ours(records):
            return [
                r
                for r in records
                if r.type == INVITATION and r.key in members and r.envelope.data["session_id"] == session["id"]
            ]

        # Both events reach insights; its job runs every 0.2 s but it is not yet the day after.
        def feedback_known():
            with create_engine(insights_db).connect() as db:
                row = db.execute(
                    text("select held, present_member_ids from survey_attendance where session_id = :s"),
                    {"s": session["id"]},
                ).one_or_none()
            return row is not None and row.held and sorted(row.present_member_ids) == sorted(members[:2]) and row

        wait_until(feedback_known, 60, message="insights learned attendance and that the session was held")
        # The job must have had its chance: two runs started since it knew, the first finished. Whatever it had sent
        # would be in its tables (and outbox) by now, in the transaction of the run.
        wait_for_job_runs(insights, "send-survey-messages")
        with create_engine(insights_db).connect() as db:
            opened = db.execute(text("select id from surveys where session_id = :s"), {"s": session["id"]}).all()
            invited = db.execute(text("select member_id from survey_invitations")).all()  # a database of its own
        assert (opened, invited) == ([], [])
        assert ours(reader.read_to_end()) == []

        insights_clock.now = starts + timedelta(days=1, minutes=1)
        [invitation] = reader.wait_for(ours, timeout=60, message="the feedback invitation")
        data = invitation.envelope.data
        assert invitation.key == present_consenting  # present and consenting; the silent one gave no consent
        assert (data["kind"], data["round"], data["community_id"]) == ("session_feedback", 0, community_id)
        assert data["answer_url"].startswith(f"{PUBLIC_URL}/v1/survey-answers/")
        assert invitation.topic == topics.INSIGHTS_MEMBER_MESSAGES.name

        path = data["answer_url"].removeprefix(PUBLIC_URL)
        form = insights.get(path)
        assert form.status_code == 200
        assert "Cette rencontre m&#39;a été utile" in form.text
        answered = insights.post(
            path, data={"usefulness": "5", "will_apply": "4", "would_recommend": "5", "comment": "Merci"}
        )
        assert answered.status_code == 200, answered.text
        assert (
            insights.post(path, data={"usefulness": "1", "will_apply": "1", "would_recommend": "1"}).status_code == 409
        )

        with create_engine(insights_db).connect() as db:
            answers = db.execute(text("select * from survey_answers")).mappings().all()
            participation = db.execute(
                text("select member_id, answered from survey_invitations where survey_id = :s"),
                {"s": data["survey_id"]},
            ).all()
        assert len(answers) == 1
        assert present_consenting not in str(dict(answers[0]))
        assert [tuple(p) for p in participation] == [(present_consenting, True)]

        # Three days on, the member who was silent consents: the next run asks her, and sends the one who answered
        # no reminder (the same run, the same transaction would have held it).
        insights_clock.now = starts + timedelta(days=4, minutes=2)
        publish(
            kafka.bootstrap,
            registration.MemberConsentChanged(
                member_id=present_silent, purpose="surveys", granted=True, changed_at=datetime.now(UTC)
            ),
        )
        reader.wait_for(
            lambda records: [r for r in ours(records) if r.key == present_silent],
            timeout=60,
            message="the invitation of the member who consented late",
        )
        # Her record is on another key, so another partition, than any reminder to the one who answered: that the
        # topic shows hers says nothing of his. The run that invited her committed his reminder, had it owed one, in
        # the same transaction: his row says how many messages went to him.
        with create_engine(insights_db).connect() as db:
            rounds = dict(
                db.execute(
                    text("select member_id, rounds_sent from survey_invitations where survey_id = :s"),
                    {"s": data["survey_id"]},
                ).all()
            )
        assert rounds == {present_consenting: 1, present_silent: 1}
        assert [
            (r.key, r.envelope.data["round"]) for r in ours(reader.read_to_end()) if r.key == present_consenting
        ] == [(present_consenting, 0)]
