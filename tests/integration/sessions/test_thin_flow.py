"""Registration's real events feed the sessions replica; a member then registers, with events on the topics."""

import pytest

from cercle_shared.contracts import topics
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

from .helpers import session_body, wait_for_community

pytestmark = pytest.mark.integration


def test_a_member_known_from_registration_events_registers_to_a_session(kafka, new_database):
    with (
        running_service("registration", new_database("registration"), kafka.bootstrap) as registration,
        running_service("sessions", new_database("sessions"), kafka.bootstrap, caught_up=True) as sessions,
        TopicReader(kafka.bootstrap, topics.SESSIONS.name, topics.SESSION_REGISTRATIONS.name) as reader,
    ):
        member = registration.post(
            "/v1/members",
            json={
                "display_name": "Marie Tremblay",
                "email": "marie.thin@example.org",
                "region": "13",
                "consents": {"processing": True},
            },
            headers=auth("operator"),
        ).json()
        community = registration.post(
            "/v1/communities",
            json={"name_fr": "CoP Laval", "name_en": "Laval CoP", "regions": ["13"]},
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
        url = f"/v1/sessions/{session['id']}/registrations"
        response = wait_until(
            lambda: (r := sessions.post(url, json={}, headers=as_member)).status_code == 201 and r,
            60,
            message="the membership in the sessions replica",
        )
        assert response.json()["status"] == "confirmed"

        def both(records):
            by_type = {r.type: r for r in records if r.key == session["id"]}
            wanted = {"org.cercle.sessions.session.scheduled.v1", "org.cercle.sessions.registration.confirmed.v1"}
            return wanted <= by_type.keys() and by_type

        by_type = reader.wait_for(both, timeout=60, message="scheduled and confirmed")
        scheduled = by_type["org.cercle.sessions.session.scheduled.v1"]
        assert scheduled.topic == topics.SESSIONS.name
        assert scheduled.envelope.source == "/cercle/sessions"
        assert scheduled.envelope.data["community_id"] == community["id"]
        confirmed = by_type["org.cercle.sessions.registration.confirmed.v1"]
        assert confirmed.topic == topics.SESSION_REGISTRATIONS.name
        assert confirmed.envelope.data["member_id"] == member["id"]
        assert "marie" not in confirmed.value.decode().lower()
