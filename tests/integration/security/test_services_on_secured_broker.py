"""Real services on the secured broker, each with its own principal: registration publishes through its outbox,
sessions consumes what it subscribes to (contacts included) in its own group and publishes its own events; no
password reaches a log."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from cercle_shared.contracts import topics
from cercle_shared.messaging.security import aiokafka_config
from devtools.wait import wait_until
from tests.integration.sessions.helpers import session_body, wait_for_community
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration


async def _types_on(settings, topic: str, key: str, wanted: set[str]) -> set[str]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"admin-check-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        **aiokafka_config(settings),
    )
    await consumer.start()
    seen: set[str] = set()
    try:
        while not wanted <= seen:
            record = await asyncio.wait_for(consumer.getone(), 30)
            if record.key == key.encode():
                seen |= {v.decode() for k, v in record.headers if k == "ce_type"}
    finally:
        await consumer.stop()
    return seen


def test_registration_and_sessions_work_end_to_end_with_their_own_principals_and_log_no_secret(
    secured_kafka, new_database, caplog
):
    caplog.set_level(logging.DEBUG)
    with (
        running_service(
            "registration",
            new_database("registration"),
            secured_kafka.bootstrap,
            **secured_kafka.service_overrides("registration"),
        ) as registration,
        running_service(
            "sessions", new_database("sessions"), secured_kafka.bootstrap, **secured_kafka.service_overrides("sessions")
        ) as sessions,
    ):
        wait_until(lambda: sessions.get("/readyz").status_code == 200, 60, message="sessions ready")
        member = registration.post(
            "/v1/members",
            json={
                "display_name": "Léa Secure",
                "email": f"lea.{uuid.uuid4().hex[:6]}@example.org",
                "region": "13",
                "consents": {"processing": True},
            },
            headers=auth("operator"),
        ).json()
        community = registration.post(
            "/v1/communities",
            json={"name_fr": "CoP sécurisée", "name_en": "Secured CoP", "regions": ["13"]},
            headers=auth("coordinator", regions=["13"]),
        ).json()
        joined = registration.post(
            f"/v1/communities/{community['id']}/memberships",
            json={"member_id": member["id"]},
            headers=auth("member", member_id=member["id"]),
        )
        assert joined.status_code == 201

        wait_for_community(sessions, community["id"])
        created = sessions.post(
            f"/v1/communities/{community['id']}/sessions",
            json=session_body(),
            headers=auth("coordinator", regions=["13"]),
        )
        assert created.status_code == 201, created.text
        session = created.json()
        as_member = auth("member", member_id=member["id"])
        response = wait_until(
            lambda: (
                (
                    r := sessions.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=as_member)
                ).status_code
                == 201
                and r
            ),
            30,
            message="the membership in the sessions replica (consumed with sessions' own principal)",
        )
        assert response.json()["status"] == "confirmed"

        published = asyncio.run(
            _types_on(
                secured_kafka.admin,
                topics.SESSION_REGISTRATIONS.name,
                session["id"],
                {"org.cercle.sessions.registration.confirmed.v1"},
            )
        )
        assert "org.cercle.sessions.registration.confirmed.v1" in published
        assert sessions.get("/readyz").json()["checks"]["broker"] == "up"

    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    # The clients did log their authentication (so the check below looked at the right place) ...
    assert "Authenticated as cercle-sessions via SCRAM-SHA-512" in logged
    assert "Authenticated as cercle-registration via SCRAM-SHA-512" in logged
    # ... and never a password, at any level, nor the settings' repr.
    for secret in (*secured_kafka.passwords.values(), secured_kafka.admin_password):
        assert secret not in logged
    broker_logs = secured_kafka.node.server_log.read_text(errors="replace") + secured_kafka.node.stdout_log.read_text(
        errors="replace"
    )
    for secret in secured_kafka.passwords.values():
        assert secret not in broker_logs


@pytest.mark.parametrize("service", ["registration", "sessions", "notifications", "insights"])
def test_each_service_starts_its_consumer_and_relay_with_its_own_principal(secured_kafka, new_database, service):
    with running_service(
        service, new_database(service), secured_kafka.bootstrap, **secured_kafka.service_overrides(service)
    ) as client:
        ready = wait_until(
            lambda: (r := client.get("/readyz")).status_code == 200 and r, 60, message=f"{service} ready"
        )
        assert ready.json()["checks"]["broker"] == "up"


def test_a_service_with_another_services_principal_is_refused_its_topics(secured_kafka, new_database, caplog):
    borrowed = {**secured_kafka.service_overrides("registration"), "consumer_group": "cercle-insights"}
    with running_service("insights", new_database("insights"), secured_kafka.bootstrap, **borrowed) as client:
        wait_until(
            lambda: "TopicAuthorizationFailedError" in caplog.text or "GroupAuthorizationFailedError" in caplog.text,
            60,
            message="the broker's refusal in insights' connection attempts",
        )
        assert client.get("/readyz").status_code == 503
