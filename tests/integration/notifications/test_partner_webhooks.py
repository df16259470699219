"""Partner webhooks on PostgreSQL and the real broker, with real HTTP receivers on loopback.

Events reach the service through Kafka as the other services publish them; every delivery is verified with the
`standardwebhooks` library, as a partner would. The service's clock is real time plus an offset the tests move
forward, so that retries on the production-like schedule happen without waiting.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from cercle_notifications.adapters.partner_orm import partner_messages
from cercle_notifications.domain.partners import Message, PartnerEvent
from cercle_notifications.entrypoints.jobs import DELIVER_WEBHOOKS
from cercle_notifications.service_layer.webhooks import DeliveryPolicy, WebhookDispatcher
from cercle_shared.contracts import CATALOG
from cercle_shared.messaging.envelope import Envelope
from devtools.wait import wait_until
from tests.support.services import auth, running_service, wait_for_job_runs
from tests.unit.notifications.partners.helpers import community_created, endpoint, grant, registration_confirmed
from tests.unit.notifications.partners.receiver import receiver

pytestmark = pytest.mark.integration

TIMEOUT = 60
SCHEDULE = "0,5,300,1800"


class OffsetClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture(scope="module")
def database(postgres):
    name = f"notifications_{uuid.uuid4().hex[:10]}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture(scope="module")
def service(kafka, database):
    with running_service(
        "notifications",
        database,
        kafka.bootstrap,
        caught_up=True,
        webhook_allow_hosts="127.0.0.1",
        webhook_retry_schedule=SCHEDULE,
        webhook_poll_interval=0.05,
    ) as client:
        client.app_state.clock = OffsetClock()
        yield client


@pytest.fixture
def clock(service) -> OffsetClock:
    return service.app_state.clock


@pytest.fixture(scope="module")
def producer(kafka):
    client = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    yield client
    client.close()


def publish(producer, event) -> str:
    envelope = Envelope.wrap(event, source="/cercle/test")
    key, value, headers = envelope.to_kafka()
    topic = CATALOG.by_type(envelope.type).topic.name
    producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(30)
    return envelope.id


def republish(producer, event, event_id: str) -> None:
    envelope = Envelope.wrap(event, source="/cercle/test")
    key, value, headers = Envelope(**{**envelope.__dict__, "id": event_id}).to_kafka()
    topic = CATALOG.by_type(envelope.type).topic.name
    producer.send(topic, key=key, value=value, headers=[(k, v.encode()) for k, v in headers.items()]).get(30)


def replicated(service, community_id: str) -> bool:
    with service.app_state.runtime.uow() as uow:
        return uow.partners.community_regions(community_id) is not None


def stored(service, event_id: str) -> bool:
    """The service has taken the partner event in (and owed it, in the same transaction, to whoever it matched)."""
    with service.app_state.runtime.uow() as uow:
        return uow.partners.event(event_id) is not None


def org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def messages(service, organization, ep, **params):
    r = service.get(
        f"/v1/partners/{organization}/endpoints/{ep['id']}/messages", params=params, headers=auth("operator")
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def attempts(service, organization, ep, message_id):
    r = service.get(
        f"/v1/partners/{organization}/endpoints/{ep['id']}/messages/{message_id}/attempts", headers=auth("operator")
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def subscribe(service, rx, **grant_body) -> tuple[str, dict]:
    """An organization and an endpoint that hears only this test's community (the broker also holds earlier tests'
    events, which this service's new consumer group reads too)."""
    organization = org()
    grant(service, organization, auth("operator"), **grant_body)
    community = f"c-{organization}"
    ep = endpoint(service, organization, auth("partner", organization_id=organization), rx.url, communities=[community])
    return organization, {**ep, "community": community}


def one_message(service, organization, ep, status: str) -> dict:
    return wait_until(
        lambda: [m for m in messages(service, organization, ep) if m["status"] == status],
        TIMEOUT,
        message=f"a {status} message",
    )[0]


def test_a_registration_reaches_the_partner_signed_and_without_personal_data(service, producer):
    with receiver() as rx:
        organization, ep = subscribe(service, rx)
        event_id = publish(producer, registration_confirmed(ep["community"]))
        [got] = rx.wait_for(1, TIMEOUT)
        body = got.verify(ep["secret"])
        assert got.webhook_id == event_id
        assert body["type"] == "org.cercle.sessions.registration.confirmed.v1"
        assert not {"email", "display_name", "name"} & set(body["data"])
        one_message(service, organization, ep, "delivered")


def test_a_redelivered_kafka_record_makes_no_second_message(service, producer):
    with receiver() as rx:
        organization, ep = subscribe(service, rx)
        event = registration_confirmed(ep["community"])
        event_id = publish(producer, event)
        rx.wait_for(1, TIMEOUT)
        republish(producer, event, event_id)
        # registrations are keyed by session: the marker of the same session comes after the copy on its partition
        marker = publish(producer, registration_confirmed(ep["community"], session_id=event.session_id))
        received = rx.wait_for(2, TIMEOUT)
        assert [r.webhook_id for r in received] == [event_id, marker]
        assert len(messages(service, organization, ep)) == 2


def test_a_partner_granted_region_13_receives_nothing_of_region_03(service, producer):
    laval, quebec = f"laval-{uuid.uuid4().hex[:6]}", f"quebec-{uuid.uuid4().hex[:6]}"
    publish(producer, community_created(laval, "13"))
    publish(producer, community_created(quebec, "03"))
    with receiver() as rx:
        wait_until(lambda: replicated(service, laval) and replicated(service, quebec), TIMEOUT, message="replicas")
        organization = org()
        grant(service, organization, auth("operator"), regions=["13"])
        ep = endpoint(service, organization, auth("partner", organization_id=organization), rx.url)
        expected, excluded = [], []
        for _ in range(3):
            excluded.append(publish(producer, registration_confirmed(quebec)))
            expected.append(publish(producer, registration_confirmed(laval)))
        marker = publish(producer, registration_confirmed(laval))
        mine = []
        while len(mine) < 4:  # earlier tests' region-13 events may come too: look at this test's communities only
            received = rx.wait_for(len(rx.received) + 1, TIMEOUT)
            mine = [r for r in received if r.verify(ep["secret"])["data"]["community_id"] in (laval, quebec)]
        assert sorted(r.webhook_id for r in mine) == sorted([*expected, marker])
        # Each registration has a key (a session) of its own, hence maybe a partition of its own: the region-13 ones
        # arriving says nothing of the region-03 ones. Once the service stored each region-03 event, the endpoints
        # it was owed to have their message, in that same transaction: this one has none of them.
        wait_until(
            lambda: all(stored(service, event_id) for event_id in excluded), TIMEOUT, message="the region-03 events"
        )
        with service.app_state.runtime.engine.connect() as db:
            owed = db.execute(
                select(partner_messages.c.event_id).where(
                    partner_messages.c.endpoint_id == ep["id"], partner_messages.c.event_id.in_(excluded)
                )
            ).all()
        assert owed == []
        assert not {r.webhook_id for r in rx.received} & set(excluded)


def test_a_receiver_failing_three_times_then_succeeding_gets_one_message_and_four_attempts(service, producer, clock):
    with receiver(script=[(500, {}), (503, {}), (429, {})]) as rx:
        organization, ep = subscribe(service, rx)
        event_id = publish(producer, registration_confirmed(ep["community"]))
        for count, wait in ((1, 5), (2, 300), (3, 1800)):
            rx.wait_for(count, TIMEOUT)
            one_message(service, organization, ep, "pending")
            clock.advance(seconds=wait)
        received = rx.wait_for(4, TIMEOUT)
        assert {r.webhook_id for r in received} == {event_id}
        for r in received:
            r.verify(ep["secret"])
        message = one_message(service, organization, ep, "delivered")
        assert message["attempts"] == 4
        assert [a["status_code"] for a in attempts(service, organization, ep, message["id"])] == [500, 503, 429, 200]


def test_410_gone_disables_the_endpoint(service, producer):
    with receiver(default=410) as rx:
        organization, ep = subscribe(service, rx)
        publish(producer, registration_confirmed(ep["community"]))
        rx.wait_for(1, TIMEOUT)
        one_message(service, organization, ep, "failed")
        shown = service.get(f"/v1/partners/{organization}/endpoints/{ep['id']}", headers=auth("operator")).json()
        assert shown["enabled"] is False


def test_retry_after_is_honoured(service, producer, clock):
    with receiver(script=[(429, {"Retry-After": "600"})]) as rx:
        organization, ep = subscribe(service, rx)
        publish(producer, registration_confirmed(ep["community"]))
        rx.wait_for(1, TIMEOUT)
        message = one_message(service, organization, ep, "pending")
        first = datetime.fromisoformat(attempts(service, organization, ep, message["id"])[0]["attempted_at"])
        assert datetime.fromisoformat(message["next_attempt_at"]) >= first + timedelta(seconds=600)
        clock.advance(seconds=300)  # past the schedule's 5 s, before Retry-After's 600 s
        # The dispatcher must have had its chance at that time: two rounds started since, the first finished (a
        # claim would have leased the message, moving its next attempt, and counted a second attempt).
        wait_for_job_runs(service, DELIVER_WEBHOOKS)
        [still] = [m for m in messages(service, organization, ep) if m["id"] == message["id"]]
        assert (still["status"], still["attempts"], still["next_attempt_at"]) == (
            "pending",
            1,
            message["next_attempt_at"],
        )
        assert len(rx.received) == 1
        clock.advance(seconds=301)
        rx.wait_for(2, TIMEOUT)
        one_message(service, organization, ep, "delivered")


def test_during_a_rotation_both_secrets_verify_and_after_24_hours_only_the_new_one(service, producer, clock):
    with receiver() as rx:
        organization, ep = subscribe(service, rx)
        partner = auth("partner", organization_id=organization)
        rotated = service.post(f"/v1/partners/{organization}/endpoints/{ep['id']}/secret/rotate", headers=partner)
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        publish(producer, registration_confirmed(ep["community"]))
        [during] = rx.wait_for(1, TIMEOUT)
        during.verify(ep["secret"])
        during.verify(new)
        clock.advance(hours=24, minutes=1)
        publish(producer, registration_confirmed(ep["community"]))
        after = rx.wait_for(2, TIMEOUT)[1]
        after.verify(new)
        with pytest.raises(Exception, match="signature"):
            after.verify(ep["secret"])


def test_replay_and_recover_resend_with_the_same_webhook_id(service, producer):
    with receiver() as rx:
        organization, ep = subscribe(service, rx)
        partner = auth("partner", organization_id=organization)
        event_id = publish(producer, registration_confirmed(ep["community"]))
        rx.wait_for(1, TIMEOUT)
        message = one_message(service, organization, ep, "delivered")
        base = f"/v1/partners/{organization}/endpoints/{ep['id']}"
        assert service.post(f"{base}/messages/{message['id']}/replay", headers=partner).status_code == 202
        rx.wait_for(2, TIMEOUT)
        one_message(service, organization, ep, "delivered")
        r = service.post(f"{base}/recover", json={"since": "2020-01-01T00:00:00Z"}, headers=partner)
        assert r.json() == {"resent": 1}
        received = rx.wait_for(3, TIMEOUT)
        assert [x.webhook_id for x in received] == [event_id] * 3
        for x in received:
            x.verify(ep["secret"])


def test_two_instances_never_send_the_same_attempt(service):
    """Two more dispatchers beside the running service's, on one PostgreSQL database and one clock (instances whose
    clocks differ by more than the lease would take over each other's claims): claims with FOR UPDATE SKIP LOCKED
    mean each message is sent once."""
    config, runtime = service.app_state.partners, service.app_state.runtime
    with receiver(delay=0.01) as rx:
        organization, ep = subscribe(service, rx)
        event_type = "org.cercle.sessions.registration.confirmed.v1"
        now = datetime.now(UTC)
        with runtime.uow() as uow:
            stored = uow.partners.endpoint(ep["id"])
            for i in range(60):
                event_id = f"race-{organization}-{i}"
                uow.partners.add(PartnerEvent(event_id, event_type, now, [], None, "{}", now))
                uow.partners.add(Message.owed(stored, event_id, event_type, now))
            uow.commit()
        policy = DeliveryPolicy(batch_size=7, per_endpoint=3, lease=60)
        dispatchers = [WebhookDispatcher(runtime.uow, config, policy, service.app_state.clock) for _ in range(2)]

        async def race() -> None:
            for _ in range(30):
                await asyncio.gather(*(d.deliver_due() for d in dispatchers))
            for d in dispatchers:
                await d.drain()

        asyncio.run(race())
        received = rx.wait_for(60, TIMEOUT)
        ids = [r.webhook_id for r in received]
        assert len(ids) == len(set(ids)) == 60
        delivered = wait_until(
            lambda: (
                (found := messages(service, organization, ep, status="delivered", limit=100))
                and len(found) == 60
                and found
            ),
            TIMEOUT,
            message="every message delivered",
        )
        # Once each is recorded delivered no claim can take it again: a second send, even one that reached the
        # receiver after the sixtieth request above, shows as a second attempt.
        assert [m["attempts"] for m in delivered] == [1] * 60
        assert len(rx.received) == 60
