"""Insights against the real broker and PostgreSQL: registration's events and sessions' events become stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import bindparam, create_engine, text

from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.contracts.topics import dead_letter_topic
from cercle_shared.messaging import Envelope
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def publish(kafka):
    """Publish events the way a service's outbox relay does: CloudEvents, binary mode, keyed."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")

    def send(envelope: Envelope) -> Envelope:
        key, value, headers = envelope.to_kafka()
        topic = CATALOG.by_type(envelope.type).topic.name
        producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(10)
        return envelope

    yield send
    producer.close()


def sessions_event(event: IntegrationEvent) -> Envelope:
    return Envelope.wrap(event, source="/cercle/sessions")


def registration_event(event: IntegrationEvent) -> Envelope:
    return Envelope.wrap(event, source="/cercle/registration")


def new_id() -> str:
    return str(uuid.uuid4())


def stats_when(api, community_id: str, predicate, headers=None):
    """Poll the stats until they satisfy `predicate`; return them."""
    last = {}

    def read():
        response = api.get(f"/v1/communities/{community_id}/stats", headers=headers or auth("operator"))
        last["body"] = response.json()
        return response.status_code == 200 and predicate(last["body"]) and last["body"]

    try:
        return wait_until(read, timeout=60, interval=0.2, message="insights stats")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; last answer: {last.get('body')}") from None


def dead_letters_of(bootstrap: str, keys: set[str]) -> list:
    """Insights' dead letters of this test's records. The dead-letter topic is shared by every insights instance of
    the run, and each new consumer group reads the shared topics from their start: other tests' poison is there too
    (tests/integration/test_hostile_records.py leaves some), so only this test's keys count."""
    with TopicReader(bootstrap, dead_letter_topic("insights").name) as reader:
        return [r for r in reader.read_to_end() if r.key in keys]


def profiles(database_url: str, members) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("select member_id from member_profiles where member_id in :m").bindparams(
                    bindparam("m", expanding=True)
                ),
                {"m": list(members)},
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def registration_counts(body) -> tuple[int, int, int]:
    r = body["registrations"]
    return r["confirmed"], r["waitlisted"], r["cancelled"]


def test_registration_and_sessions_events_become_community_stats(kafka, new_database, publish):
    insights_db = new_database("insights")
    with (
        running_service("registration", new_database("registration"), kafka.bootstrap) as registration,
        running_service("insights", insights_db, kafka.bootstrap, caught_up=True) as insights,
    ):
        members = [
            registration.post(
                "/v1/members",
                json={
                    "display_name": name,
                    "email": f"{new_id()}@example.org",
                    "region": "13",
                    "consents": {"processing": True},
                },
                headers=auth("operator"),
            ).json()["id"]
            for name in ("Marie Tremblay", "Jean Roy")
        ]
        community = registration.post(
            "/v1/communities",
            json={"name_fr": "CoP Laval", "name_en": "Laval CoP", "regions": ["13"]},
            headers=auth("coordinator", regions=["13"]),
        ).json()["id"]
        for member in members:
            joined = registration.post(
                f"/v1/communities/{community}/memberships",
                json={"member_id": member},
                headers=auth("member", member_id=member),
            )
            assert joined.status_code == 201

        session = new_id()
        seat = {"session_id": session, "community_id": community, "member_id": members[0], "registration_id": new_id()}
        wait = {"session_id": session, "community_id": community, "member_id": members[1], "registration_id": new_id()}
        for event in (
            ses.SessionScheduled(
                session_id=session,
                community_id=community,
                title="Nature et santé mentale",
                starts_at=NOW + timedelta(days=30),
                ends_at=NOW + timedelta(days=30, hours=2),
                mode="hybrid",
                capacity=1,
            ),
            ses.SessionRegistrationConfirmed(confirmed_at=NOW, **seat),
            ses.SessionRegistrationWaitlisted(position=1, waitlisted_at=NOW, **wait),
        ):
            publish(sessions_event(event))

        body = stats_when(
            insights,
            community,
            lambda b: (
                b["members"]["active"] == 2 and registration_counts(b) == (1, 1, 0) and b["sessions"]["upcoming"] == 1
            ),
        )
        assert body["community"]["regions"] == ["13"]

        publish(sessions_event(ses.SessionRegistrationCancelled(was="confirmed", cancelled_at=NOW, **seat)))
        publish(sessions_event(ses.SessionRegistrationPromoted(promoted_at=NOW, **wait)))
        stats_when(
            insights,
            community,
            lambda b: registration_counts(b) == (1, 0, 1),
            headers=auth("member", member_id=members[1]),
        )
        # The stats show the community's and the session's keys applied; the members' own records (their keys, their
        # partitions) show in their profiles. Only then does an empty dead-letter topic say nothing was refused.
        wait_until(lambda: profiles(insights_db, members) == set(members), timeout=60, message="the members' profiles")
        assert dead_letters_of(kafka.bootstrap, {community, session, *members}) == []


def test_a_redelivered_event_changes_nothing(kafka, new_database, publish):
    community, session = new_id(), new_id()
    with running_service("insights", new_database("insights"), kafka.bootstrap, caught_up=True) as insights:
        publish(
            registration_event(
                reg.CommunityCreated(
                    community_id=community,
                    name_fr="CoP Estrie",
                    name_en="Eastern Townships CoP",
                    kind="community_of_practice",
                    regions=["05"],
                    cadence=6,
                    status="active",
                    created_at=NOW,
                )
            )
        )
        seat = publish(
            sessions_event(
                ses.SessionRegistrationConfirmed(
                    registration_id=new_id(),
                    session_id=session,
                    community_id=community,
                    member_id=new_id(),
                    confirmed_at=NOW,
                )
            )
        )
        publish(seat)  # the same envelope again: same event id
        # Same topic and key, hence same partition: once this one shows, the duplicate was consumed before it.
        publish(
            sessions_event(
                ses.SessionRegistrationWaitlisted(
                    registration_id=new_id(),
                    session_id=session,
                    community_id=community,
                    member_id=new_id(),
                    position=1,
                    waitlisted_at=NOW,
                )
            )
        )

        body = stats_when(insights, community, lambda b: b["registrations"]["waitlisted"] == 1)
        assert registration_counts(body) == (1, 1, 0)


def test_events_arriving_before_their_community_wait_and_erasure_keeps_counts(kafka, new_database, publish):
    community, member, other, session = new_id(), new_id(), new_id(), new_id()
    database = new_database("insights")
    with running_service("insights", database, kafka.bootstrap) as insights:
        for member_id in (member, other):
            publish(
                registration_event(
                    reg.MembershipJoined(
                        membership_id=new_id(),
                        community_id=community,
                        member_id=member_id,
                        role="participant",
                        joined_at=NOW - timedelta(days=10),
                    )
                )
            )
        publish(
            sessions_event(
                ses.SessionRegistrationConfirmed(
                    registration_id=new_id(),
                    session_id=session,
                    community_id=community,
                    member_id=member,
                    confirmed_at=NOW,
                )
            )
        )
        publish(
            registration_event(
                reg.CommunityCreated(
                    community_id=community,
                    name_fr="CoP Laurentides",
                    name_en="Laurentians CoP",
                    kind="community_of_practice",
                    regions=["15"],
                    cadence=6,
                    status="active",
                    created_at=NOW - timedelta(days=20),
                )
            )
        )
        stats_when(insights, community, lambda b: b["members"]["active"] == 2 and b["registrations"]["confirmed"] == 1)

        publish(registration_event(reg.MemberErased(member_id=member, erased_at=NOW)))
        body = stats_when(insights, community, lambda b: b["members"]["active"] == 1)
        assert (body["members"]["joined_to_date"], body["members"]["left_to_date"]) == (2, 1)
        assert body["registrations"]["confirmed"] == 1
        assert dead_letters_of(kafka.bootstrap, {community, member, other, session}) == []

    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            for table in ("memberships", "session_registrations"):
                rows = connection.execute(text(f"select count(*) from {table} where member_id = :m"), {"m": member})
                assert rows.scalar() == 0, table
    finally:
        engine.dispose()
