"""Community health against the real broker and PostgreSQL: a declining community's events, published on the
registration and sessions topics, become one CommunityHealthAlerted on the community-health topic (through the
outbox relay), and the figures read the program topic's themes and votes."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, select

from cercle_insights.adapters import health_orm
from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts.insights import CommunityHealthAlerted
from cercle_shared.contracts.topics import COMMUNITY_HEALTH
from cercle_shared.messaging import Envelope
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def publish(kafka):
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")

    def send(event: IntegrationEvent, source: str) -> None:
        key, value, headers = Envelope.wrap(event, source=source).to_kafka()
        topic = CATALOG.for_event(event).topic.name
        producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(10)

    yield send
    producer.close()


def declining_history(community_id: str, theme_id: str) -> list[tuple[IntegrationEvent, str]]:
    """Four years old, nobody new for 8 months, 15, 12 then 9 people at the last three meetings."""
    founded = NOW - timedelta(days=4 * 365)
    events: list[tuple[IntegrationEvent, str]] = [
        (
            reg.CommunityCreated(
                community_id=community_id,
                name_fr="CoP Laval",
                name_en="Laval CoP",
                kind="community_of_practice",
                regions=["13"],
                cadence=6,
                status="active",
                created_at=founded,
            ),
            "/cercle/registration",
        ),
        (
            reg.OrganizationCreated(organization_id="org-" + community_id[:8], name="CISSS", created_at=founded),
            "/cercle/registration",
        ),
    ]
    people = [new_id() for _ in range(18)]
    for n, member_id in enumerate(people):
        at = founded if n < 16 else NOW - timedelta(days=240)
        events.append(
            (
                reg.MemberRegistered(
                    member_id=member_id,
                    organization_id="org-" + community_id[:8],
                    region="13",
                    language="fr",
                    registered_at=at,
                ),
                "/cercle/registration",
            )
        )
        events.append(
            (
                reg.MembershipJoined(
                    membership_id=new_id(),
                    community_id=community_id,
                    member_id=member_id,
                    role="participant",
                    joined_at=at,
                ),
                "/cercle/registration",
            )
        )
    for months_ago, count in ((3, 15), (2, 12), (1, 9)):
        session_id, at = new_id(), NOW - timedelta(days=30 * months_ago)
        events += [
            (
                ses.SessionHeld(session_id=session_id, community_id=community_id, starts_at=at, held_at=at),
                "/cercle/sessions",
            ),
            (
                ses.SessionAttendanceRecorded(
                    session_id=session_id,
                    community_id=community_id,
                    confirmed=18,
                    present=count,
                    absent=18 - count,
                    present_member_ids=people[:count],
                    recorded_at=at,
                ),
                "/cercle/sessions",
            ),
        ]
    events.append(
        (
            ses.ThemeProposed(
                theme_id=theme_id,
                cycle_id="cy",
                community_id=community_id,
                title="Nature et santé mentale",
                need="Stress",
                proposed_at=NOW - timedelta(days=100),
            ),
            "/cercle/sessions",
        )
    )
    for _ in range(4):
        events.append(
            (
                ses.VoteCast(
                    vote_id=new_id(),
                    theme_id=theme_id,
                    cycle_id="cy",
                    community_id=community_id,
                    cast_at=NOW - timedelta(days=90),
                ),
                "/cercle/sessions",
            )
        )
    return events


def alerts_on_topic(bootstrap: str, community_id: str, *, at_least: int, timeout: float = 60) -> list[dict]:
    """The community's alerts on the community-health topic, read from the start once at least `at_least` are
    there and nothing more came for a second. The topic is shared: other tests' records are there too, hostile
    ones included, which the TopicReader reads without failing."""
    deadline = time.monotonic() + timeout
    with TopicReader(bootstrap, COMMUNITY_HEALTH.name) as reader:

        def ours() -> list[dict]:
            return [json.loads(r.value) for r in reader.records if r.key == community_id]

        quiet_since, read = time.monotonic(), -1
        while time.monotonic() < deadline:
            if len(reader.poll()) != read:
                quiet_since, read = time.monotonic(), len(reader.records)
            elif len(ours()) >= at_least and time.monotonic() - quiet_since >= 1:
                break
        return ours()


def test_a_declining_community_is_alerted_once_on_the_community_health_topic(kafka, new_database, publish):
    community_id, theme_id = new_id(), new_id()
    url = new_database("insights")
    with running_service("insights", url, kafka.bootstrap, caught_up=True, health_assessment_interval=0.5) as insights:
        for event, source in declining_history(community_id, theme_id):
            publish(event, source)

        [alert] = alerts_on_topic(kafka.bootstrap, community_id, at_least=1)
        CommunityHealthAlerted.model_validate(alert)
        assert alert["status"] == "raised"
        assert set(alert["signals"]) == {"attendance_down", "no_new_member", "aging"}

        # A few more runs of the job later, still one alert for this change of state.
        engine = create_engine(url)
        with engine.connect() as db:
            first = db.execute(
                select(health_orm.health_states.c.assessed_at).where(
                    health_orm.health_states.c.community_id == community_id
                )
            ).scalar_one()

        def assessed_again():
            with engine.connect() as db:
                state = db.execute(
                    select(health_orm.health_states.c.assessed_at, health_orm.health_states.c.changes).where(
                        health_orm.health_states.c.community_id == community_id
                    )
                ).one()
            return state.assessed_at > first + timedelta(seconds=1) and state

        state = wait_until(assessed_again, timeout=60, interval=0.2, message="the job's later runs")
        engine.dispose()
        # A second alert would be a second change of state, counted in the row those later runs wrote (and put in
        # the outbox in the same transaction); the topic, read after, agrees.
        assert state.changes == 1
        assert len(alerts_on_topic(kafka.bootstrap, community_id, at_least=1)) == 1

        body = insights.get(f"/v1/communities/{community_id}/health", headers=auth("coordinator", regions=["13"]))
        assert body.json()["status"] == "raised"
        assert body.json()["alerts"][0]["alert_id"] == alert["alert_id"]

        theme = wait_until(
            lambda: (
                (r := insights.get(f"/v1/themes/{theme_id}/figures", headers=auth("operator"))).status_code == 200
                and r.json()["votes"] == 4
                and r.json()
            ),
            timeout=60,
            interval=0.2,
            message="theme figures from the program topic",
        )
        assert theme["title"] == "Nature et santé mentale"
