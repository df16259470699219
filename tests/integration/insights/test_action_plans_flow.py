"""Action plans against the real broker and PostgreSQL: a member opens a plan from a session insights learned from
the topics, the nudge job runs, and the nudge arrives on cercle.insights.member-messages, once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from cercle_shared.contracts import CATALOG, IntegrationEvent, topics
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.messaging import Envelope
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration

NUDGED = "org.cercle.insights.action_plan.nudged.v1"


@pytest.fixture
def publish(kafka):
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")

    def send(event: IntegrationEvent, source: str) -> None:
        key, value, headers = Envelope.wrap(event, source=source).to_kafka()
        topic = CATALOG.for_event(event).topic.name
        producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(10)

    yield send
    producer.close()


def new_id() -> str:
    return str(uuid.uuid4())


def test_a_plan_opened_after_a_session_is_nudged_once_on_the_member_messages_topic(kafka, new_database, publish):
    now = datetime.now(UTC)
    community, session, member = new_id(), new_id(), f"member-{new_id()}"
    database = new_database("insights")
    with (
        running_service(
            "insights",
            database,
            kafka.bootstrap,
            caught_up=True,
            action_plan_url="https://cercle.example.org/plans/{plan_id}",
        ) as insights,
        TopicReader(kafka.bootstrap, topics.INSIGHTS_MEMBER_MESSAGES.name) as reader,
    ):
        publish(
            reg.CommunityCreated(
                community_id=community,
                name_fr="CoP Laval",
                name_en="Laval CoP",
                kind="community_of_practice",
                regions=["13"],
                cadence=6,
                status="active",
                created_at=now - timedelta(days=400),
            ),
            "/cercle/registration",
        )
        publish(
            reg.MembershipJoined(
                membership_id=new_id(),
                community_id=community,
                member_id=member,
                role="participant",
                joined_at=now - timedelta(days=300),
            ),
            "/cercle/registration",
        )
        # A session held yesterday; the plan is opened today, and the service's clock then moves 30 days on.
        publish(
            ses.SessionScheduled(
                session_id=session,
                community_id=community,
                title="Nature et santé mentale",
                starts_at=now - timedelta(days=1),
                ends_at=now - timedelta(days=1, hours=-2),
                mode="hybrid",
                capacity=20,
            ),
            "/cercle/sessions",
        )

        def opened():
            response = insights.post(
                "/v1/action-plans",
                json={"title": "Pauses actives au bureau", "session_id": session, "private_notes": "à moi"},
                headers=auth("member", member_id=member),
            )
            return response.status_code == 201 and response.json()

        plan = wait_until(opened, timeout=60, interval=0.3, message="insights to know the session and membership")

        runtime = insights.app_state.runtime
        assert asyncio.run(runtime.jobs.run_once("nudge-action-plans")) == 0  # nothing due yet
        insights.app_state.clock = lambda: datetime.now(UTC) + timedelta(days=30)
        assert asyncio.run(runtime.jobs.run_once("nudge-action-plans")) == 1
        assert asyncio.run(runtime.jobs.run_once("nudge-action-plans")) == 0

        def ours(records):
            found = [
                r
                for r in records
                if r.type == NUDGED and r.key == member and json.loads(r.value)["plan_id"] == plan["id"]
            ]
            return found or None

        nudges = reader.wait_for(ours, timeout=60, message="the nudge on the member-messages topic")
        data = json.loads(nudges[0].value)
        assert data["kind"] == "day_30"
        assert data["plan_url"] == f"https://cercle.example.org/plans/{plan['id']}"
        assert data["community_id"] == community
        assert "à moi" not in nudges[0].value.decode()  # private notes never travel

        # Once: the topic read to its end holds one nudge of this plan, and PostgreSQL one row (the third run above
        # returned 0: nothing more was put in the outbox for the relay to publish).
        assert len(ours(reader.read_to_end())) == 1
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT kind FROM action_plan_nudges WHERE plan_id = :p"), {"p": plan["id"]}
        ).all()
    engine.dispose()
    assert [r.kind for r in rows] == ["day_30"]
