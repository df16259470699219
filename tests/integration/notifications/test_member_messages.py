"""Members' messages on a real broker, PostgreSQL and a real SMTP server process (aiosmtpd on loopback): the
sign-in link email and an announcement with its one-click unsubscribe, which then stops that category."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from cercle_shared.contracts import CATALOG
from cercle_shared.contracts import insights as insights_events
from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events
from cercle_shared.messaging.envelope import Envelope
from devtools.smtp import LocalSmtp
from devtools.wait import wait_until
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration

TIMEOUT = 120  # the first test also waits for the consumer group to join a busy shared broker
PUBLIC_URL = "https://cercle.example"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture(scope="module")
def api(kafka, postgres, smtp):
    name = f"notifications_{uuid.uuid4().hex[:10]}"
    url = postgres.create_database(name)
    try:
        with running_service(
            "notifications",
            url,
            kafka.bootstrap,
            caught_up=True,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            sender_poll_interval=0.05,
            public_url=PUBLIC_URL,
            public_sessions_url="https://cercle.example/sessions",
        ) as client:
            yield client
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="module")
def producer(kafka):
    client = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    yield client
    client.close()


def publish(producer: KafkaProducer, event) -> Envelope:
    envelope = Envelope.wrap(event, source="/cercle/test")
    key, value, headers = envelope.to_kafka()
    topic = CATALOG.by_type(envelope.type).topic.name
    producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(30)
    return envelope


def mail_to(smtp: LocalSmtp, address: str):
    return [m for m in smtp.messages() if address in m["X-Envelope-To"]]


def new_id() -> str:
    return str(uuid.uuid4())


def member(producer, *, language="fr", communities=()) -> tuple[str, str]:
    member_id = new_id()
    email = f"{member_id[:8]}@example.org"
    now = datetime.now(UTC)
    publish(
        producer,
        reg_events.MemberContactChanged(
            member_id=member_id,
            email=email,
            display_name="Marie Tremblay",
            language=language,
            consents={"processing": True, "email": True},
            updated_at=now,
        ),
    )
    for community_id in communities:
        publish(
            producer,
            reg_events.MembershipJoined(
                membership_id=new_id(),
                community_id=community_id,
                member_id=member_id,
                role="participant",
                joined_at=now,
            ),
        )
    return member_id, email


def deliveries(api, member_id: str) -> list[dict]:
    response = api.get("/v1/deliveries", params={"member_id": member_id}, headers=auth("operator"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def member_of(api, community_id: str, member_id: str) -> bool:
    with api.app_state.runtime.uow() as uow:
        return member_id in {m.member_id for m in uow.memberships.of_community(community_id)}


def test_the_sign_in_link_is_emailed_from_the_internal_topic(api, smtp, producer):
    member_id, email = member(producer, language="en")
    link, code = f"https://cercle.example/sign-in#code={uuid.uuid4().hex}", uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    publish(
        producer,
        reg_events.SignInLinkRequested(
            member_id=member_id,
            link=link,
            code=code,
            language="en",
            expires_at=now + timedelta(minutes=15),
            requested_at=now,
        ),
    )
    [message] = wait_until(lambda: mail_to(smtp, email), TIMEOUT, message="the sign-in email")
    assert message["Subject"] == "Your sign-in link to Cercle"
    text = message.get_body(("plain",)).get_content()
    assert link in text
    assert code in text
    assert message["List-Unsubscribe"] is None
    # The SMTP server has the email before the sender records it as sent: wait for the record.
    [delivery] = wait_until(
        lambda: [d for d in deliveries(api, member_id) if d["status"] == "sent"],
        TIMEOUT,
        message="the delivery recorded as sent",
    )
    assert delivery["kind"] == "sign_in_link"
    assert len(deliveries(api, member_id)) == 1
    assert link not in str(delivery)


def test_a_survey_invitation_from_insights_internal_topic_is_emailed_once_with_its_answer_link(api, smtp, producer):
    community_id = new_id()
    member_id, email = member(producer, language="en", communities=[community_id])
    answer_url = f"https://cercle.example/v1/survey-answers/{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    invitation = insights_events.SurveyInvitationIssued(
        invitation_id=new_id(),
        survey_id=new_id(),
        member_id=member_id,
        kind="annual",
        round=0,
        community_id=community_id,
        title_fr="Sondage annuel 2026",
        title_en="Annual survey 2026",
        answer_url=answer_url,
        closes_at=now + timedelta(days=14),
        issued_at=now,
    )
    publish(producer, invitation)
    publish(producer, invitation)  # the same invitation again (a replay of insights): one email
    # Then another survey's invitation to her: the same key (hers), so the same partition, after the copy.
    later_url = f"https://cercle.example/v1/survey-answers/{uuid.uuid4().hex}"
    publish(
        producer,
        invitation.model_copy(update={"invitation_id": new_id(), "survey_id": new_id(), "answer_url": later_url}),
    )
    [message] = wait_until(
        lambda: [m for m in mail_to(smtp, email) if answer_url in m.get_body(("plain",)).get_content()],
        TIMEOUT,
        message="the survey invitation",
    )
    assert message["Subject"] == "Your views: Annual survey 2026"
    assert f"Answer: {answer_url}?lang=en" in message.get_body(("plain",)).get_content()
    # Two deliveries once both are sent: the later invitation's means the copy before it was consumed, and a
    # delivery owed for the copy would be recorded before it.
    wait_until(
        lambda: len([d for d in deliveries(api, member_id) if d["status"] == "sent"]) >= 2,
        TIMEOUT,
        message="both invitations sent",
    )
    assert len(deliveries(api, member_id)) == 2
    assert len([m for m in mail_to(smtp, email) if answer_url in m.get_body(("plain",)).get_content()]) == 1


def test_an_announcement_unsubscribed_in_one_click_stops_the_next_one(api, smtp, producer):
    community_id = new_id()
    member_id, email = member(producer, communities=[community_id])
    starts = datetime.now(UTC) + timedelta(days=10)

    def schedule(title: str) -> None:
        publish(
            producer,
            session_events.SessionScheduled(
                session_id=new_id(),
                community_id=community_id,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                mode="virtual",
                location="https://meet.example.org/cercle",
                capacity=20,
            ),
        )

    # The announcement goes to the members the replica knows when the session is scheduled, and the membership
    # comes on another topic than the session: wait until it is there, or nobody would be owed the email.
    wait_until(lambda: member_of(api, community_id, member_id), TIMEOUT, message="the membership in the replica")
    schedule("Nature et santé mentale")
    [message] = wait_until(lambda: mail_to(smtp, email), TIMEOUT, message="the announcement")
    assert message["Subject"] == "Nouvelle rencontre : Nature et santé mentale"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [url] = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])

    response = api.post(url.removeprefix(PUBLIC_URL), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200, response.text
    preferences = api.get(f"/v1/members/{member_id}/preferences", headers=auth("member", member_id=member_id))
    assert preferences.json()["categories"] == {
        "reminders": True,
        "announcements": False,
        "digest": True,
        "surveys": True,
        "action_plans": True,
        "coordination": True,
    }

    schedule("Une deuxième rencontre")
    wait_until(
        lambda: [d for d in deliveries(api, member_id) if d["status"] == "skipped" and d["reason"] == "opted_out"],
        TIMEOUT,
        message="the second announcement skipped",
    )
    assert len(mail_to(smtp, email)) == 1
