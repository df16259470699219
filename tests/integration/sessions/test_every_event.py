"""Every sessions event, produced by the real service on PostgreSQL, read back from the real broker.

The replica is fed the real way: registration events written to Kafka as CloudEvents.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from cercle_shared.contracts import CATALOG, registration, sessions, topics
from cercle_shared.messaging.envelope import Envelope
from devtools.wait import wait_until
from tests.support.harness import Clock
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

from .helpers import wait_for_community

pytestmark = pytest.mark.integration


def publish_registration_events(bootstrap: str, *events) -> None:
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


def test_every_sessions_event_reaches_its_topic_with_its_key(kafka, pg_url):
    community_id = f"c-{uuid.uuid4().hex[:8]}"
    members = [f"m-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    real_now = datetime.now(UTC)
    publish_registration_events(
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
    )
    clock = Clock(real_now)
    facilitator = auth("facilitator", communities=[community_id])
    with (
        running_service("sessions", pg_url, kafka.bootstrap, caught_up=True) as api,
        TopicReader(
            kafka.bootstrap,
            topics.PROGRAM.name,
            topics.SESSIONS.name,
            topics.SESSION_REGISTRATIONS.name,
            topics.BALLOTS.name,
        ) as reader,
    ):
        api.app_state.clock = clock
        wait_for_community(api, community_id)

        def ok(response, code=200):
            assert response.status_code == code, response.text
            return response.json()

        # program: cycle, themes, merge, votes, retained
        day = timedelta(days=1)
        cycle = ok(
            api.post(
                f"/v1/communities/{community_id}/cycles",
                headers=facilitator,
                json={
                    "label": "2026-2027",
                    "starts_on": str((real_now + 30 * day).date()),
                    "ends_on": str((real_now + 300 * day).date()),
                    "proposals_close_at": (real_now + 5 * day).isoformat(),
                    "voting_opens_at": (real_now + 5 * day).isoformat(),
                    "voting_closes_at": (real_now + 10 * day).isoformat(),
                },
            ),
            201,
        )
        as_member = [auth("member", member_id=m) for m in members]
        url = f"/v1/cycles/{cycle['id']}"
        proposed = wait_until(
            lambda: (
                (
                    r := api.post(
                        f"{url}/themes", json={"title": "Nature", "need": "se ressourcer"}, headers=as_member[0]
                    )
                ).status_code
                == 201
                and r.json()
            ),
            60,
            message="memberships in the replica",
        )
        # Each membership is keyed by its own id, so the replica may hold one member's before another's:
        # a 403 here only means "not yet" and writes nothing.
        duplicate = wait_until(
            lambda: (
                (
                    r := api.post(f"{url}/themes", json={"title": "Nature!", "need": "idem"}, headers=as_member[1])
                ).status_code
                == 201
                and r.json()
            ),
            60,
            message="the second membership in the replica",
        )
        ok(
            api.post(
                f"{url}/themes/{duplicate['id']}/merge", json={"into_theme_id": proposed["id"]}, headers=facilitator
            )
        )
        clock.now = real_now + 6 * day
        wait_until(
            lambda: (
                api.post(f"{url}/votes", json={"theme_id": proposed["id"]}, headers=as_member[2]).status_code == 201
            ),
            60,
            message="the third membership in the replica",
        )
        ok(api.post(f"{url}/close-vote", headers=facilitator))

        # a session, its seats and waitlist
        clock.now = real_now
        session = ok(
            api.post(
                f"/v1/communities/{community_id}/sessions",
                headers=facilitator,
                json={
                    "title": "Nature et santé mentale",
                    "starts_at": (real_now + 40 * day).isoformat(),
                    "ends_at": (real_now + 40 * day + timedelta(hours=3)).isoformat(),
                    "capacity": 1,
                    "location": "Laval",
                    "theme_id": proposed["id"],
                },
            ),
            201,
        )
        seats = f"/v1/sessions/{session['id']}/registrations"
        first = ok(api.post(seats, json={}, headers=as_member[0]), 201)
        ok(api.post(seats, json={}, headers=as_member[1]), 201)
        ok(api.delete(f"{seats}/{first['id']}", headers=as_member[0]))
        ok(
            api.patch(
                f"/v1/sessions/{session['id']}",
                headers=facilitator,
                json={
                    "starts_at": (real_now + 41 * day).isoformat(),
                    "ends_at": (real_now + 41 * day + timedelta(hours=3)).isoformat(),
                },
            )
        )
        ok(
            api.post(
                f"/v1/communities/{community_id}/resources",
                headers=as_member[1],
                json={"title": "Dernier enfant des bois", "kind": "book", "session_id": session["id"]},
            ),
            201,
        )
        other = ok(
            api.post(
                f"/v1/communities/{community_id}/sessions",
                headers=facilitator,
                json={
                    "title": "Annulée",
                    "starts_at": (real_now + 50 * day).isoformat(),
                    "ends_at": (real_now + 50 * day + timedelta(hours=2)).isoformat(),
                    "capacity": 5,
                    "mode": "virtual",
                    "link": "https://meet.example/x",
                },
            ),
            201,
        )
        ok(api.post(f"/v1/sessions/{other['id']}/cancel", json={"reason": "tempête"}, headers=facilitator))

        # after the session: attendance, held, summary
        clock.now = real_now + 41 * day + timedelta(hours=1)
        listed = ok(api.get(seats, headers=facilitator))["items"]
        seated = next(r for r in listed if r["status"] == "confirmed")
        ok(
            api.put(
                f"/v1/sessions/{session['id']}/attendance",
                headers=facilitator,
                json={"records": [{"registration_id": seated["id"], "present": True}]},
            )
        )
        ok(api.post(f"/v1/sessions/{session['id']}/held", headers=facilitator))
        ok(
            api.put(
                f"/v1/sessions/{session['id']}/summary",
                headers=facilitator,
                json={"body_fr": "## Idées clés", "body_en": "## Key ideas"},
            )
        )

        ours = {community_id, session["id"], other["id"], *members}  # a ballot is keyed by its voter
        expected = {spec.type: spec for spec in sessions.EVENTS}
        by_type = reader.wait_for(
            lambda rs: (
                (found := {r.type: r for r in rs if r.key in ours}) and expected.keys() <= found.keys() and found
            ),
            timeout=60,
            message="every sessions event",
        )
        for event_type, spec in expected.items():
            record = by_type[event_type]
            assert record.topic == spec.topic.name, event_type
            payload = spec.model.model_validate(record.envelope.data)
            assert record.key == spec.key_of(payload), event_type
            assert record.envelope.source == "/cercle/sessions"
        assert "member_id" not in by_type["org.cercle.sessions.vote.cast.v1"].envelope.data
        assert "theme_id" not in by_type["org.cercle.sessions.ballot.cast.v1"].envelope.data  # who voted, not for what
        promoted = by_type["org.cercle.sessions.registration.promoted.v1"].envelope.data
        assert promoted["member_id"] == members[1]
        assert by_type["org.cercle.sessions.session.rescheduled.v1"].envelope.data["sequence"] == 1
        attendance = by_type["org.cercle.sessions.attendance.recorded.v1"].envelope.data
        assert (attendance["confirmed"], attendance["present"]) == (1, 1)


def test_an_erased_member_leaves_counts_but_no_identity(kafka, pg_url):
    community_id = f"c-{uuid.uuid4().hex[:8]}"
    member = f"m-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    publish_registration_events(
        kafka.bootstrap,
        registration.CommunityCreated(
            community_id=community_id,
            name_fr="CoP",
            name_en="CoP",
            kind="community_of_practice",
            regions=["06"],
            cadence=6,
            status="active",
            created_at=now,
        ),
        registration.MembershipJoined(
            membership_id=f"ms-{member}", community_id=community_id, member_id=member, role="participant", joined_at=now
        ),
    )
    with running_service("sessions", pg_url, kafka.bootstrap) as api:
        wait_for_community(api, community_id)

        def schedule(starts_at):
            response = api.post(
                f"/v1/communities/{community_id}/sessions",
                headers=auth(),
                json={
                    "title": "x",
                    "starts_at": starts_at.isoformat(),
                    "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
                    "capacity": 5,
                },
            )
            assert response.status_code == 201, response.text
            return response.json()

        def listed(session):
            return api.get(f"/v1/sessions/{session['id']}/registrations", headers=auth()).json()["items"]

        later = schedule(now + timedelta(days=5))
        later_seats = f"/v1/sessions/{later['id']}/registrations"
        wait_until(
            lambda: api.post(later_seats, json={}, headers=auth("member", member_id=member)).status_code == 201,
            60,
            message="the membership in the replica",
        )
        # a session that takes place before the erasure: its counts are history and stay
        start = datetime.now(UTC) + timedelta(seconds=4)
        held = schedule(start)
        seats = f"/v1/sessions/{held['id']}/registrations"
        assert api.post(seats, json={}, headers=auth("member", member_id=member)).status_code == 201
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 1)
        erased_at = datetime.now(UTC)
        publish_registration_events(kafka.bootstrap, registration.MemberErased(member_id=member, erased_at=erased_at))
        wait_until(
            lambda: all(member not in {r["member_id"] for r in listed(s)} for s in (held, later)),
            60,
            message="the registrations anonymized",
        )
        assert api.get(f"/v1/sessions/{held['id']}", headers=auth()).json()["confirmed"] == 1
        # her place in the session ahead is given up (under an anonymous marker)
        [gone] = listed(later)
        assert gone["status"] == "cancelled"
        assert gone["member_id"].startswith("erased-")
        assert api.get(f"/v1/sessions/{later['id']}", headers=auth()).json()["confirmed"] == 0
        assert api.post(later_seats, json={}, headers=auth("member", member_id=member)).status_code == 403
