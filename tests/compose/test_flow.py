"""The thin flow through the compose stack's published ports: community, members, session, registration and
waitlist, the confirmation email read back from the compose SMTP service's API, insights, an erasure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devtools.wait import wait_until

pytestmark = pytest.mark.compose

TITLE = "Nature et santé mentale"


@pytest.fixture(scope="module")
def flow(compose_api):
    api = compose_api
    op = api.auth("operator")
    community = api.registration.post(
        "/v1/communities",
        headers=op,
        json={"name_fr": "CoP Santé — Laval", "name_en": "Wellbeing CoP — Laval", "regions": ["13"]},
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    suffix = uuid.uuid4().hex[:6]
    people = {
        "ana": (f"Anastasia Quibbleworth-{suffix}", f"anastasia.{suffix}@example.org", "en"),
        "luc": (f"Lucien Vantongerloo-{suffix}", f"lucien.{suffix}@example.org", "fr"),
    }
    members = {}
    for key, (name, email, language) in people.items():
        created = api.registration.post(
            "/v1/members",
            headers=op,
            json={
                "display_name": name,
                "email": email,
                "language": language,
                "region": "13",
                "consents": {"processing": True, "email": True},
            },
        )
        assert created.status_code == 201, created.text
        members[key] = created.json()["id"]
        joined = api.registration.post(
            f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": members[key]}
        )
        assert joined.status_code == 201, joined.text

    starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    session = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{community_id}/sessions",
            headers=api.auth("facilitator", communities=[community_id]),
            json={
                "title": TITLE,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "mode": "hybrid",
                "location": "Laval",
                "capacity": 1,
            },
        ),
        lambda r: r.status_code == 201,
        message="sessions to learn about the community over Kafka",
    )
    session_id = session.json()["id"]
    registrations = {}
    for key in ("ana", "luc"):
        member = api.auth("member", member_id=members[key])
        registrations[key] = api.eventually(
            lambda member=member: api.sessions.post(
                f"/v1/sessions/{session_id}/registrations", headers=member, json={}
            ),
            lambda r: r.status_code == 201,
            message=f"sessions to learn that {key} is a member",
        ).json()
    return {
        "community": community_id,
        "members": members,
        "emails": {key: person[1] for key, person in people.items()},
        "session": session_id,
        "registrations": registrations,
    }


def test_the_stack_serves_only_the_regions_of_its_env_file(compose_api):
    regions = compose_api.registration.get("/v1/regions", headers=compose_api.auth("operator"))
    assert regions.status_code == 200, regions.text
    assert sorted(r["code"] for r in compose_api.items(regions)) == ["06", "13"]
    refused = compose_api.registration.post(
        "/v1/communities",
        headers=compose_api.auth("operator"),
        json={"name_fr": "Hors territoire", "name_en": "Out of area", "regions": ["03"]},
    )
    assert refused.status_code == 422, refused.text
    assert "regions" in refused.text


def test_capacity_confirms_the_first_member_and_waitlists_the_second(flow):
    assert flow["registrations"]["ana"]["status"] == "confirmed"
    assert flow["registrations"]["luc"]["status"] == "waitlisted"
    assert flow["registrations"]["luc"]["position"] == 1


def test_the_confirmation_email_reaches_the_compose_smtp_service(flow, compose_api):
    ana = wait_until(
        lambda: compose_api.registration_mail_to(flow["emails"]["ana"]),
        90,
        interval=0.5,
        message="the confirmation email in the SMTP service",
    )
    assert len(ana) == 1, [m["Subject"] for m in ana]
    assert TITLE in ana[0]["Text"]
    assert ana[0]["Subject"] == f"Registration confirmed: {TITLE}"  # in English, as she asked
    luc = wait_until(lambda: compose_api.registration_mail_to(flow["emails"]["luc"]), 90, message="the waitlist email")
    assert [m["Subject"] for m in luc] == [f"Liste d'attente : {TITLE}"]  # in French


def test_insights_counts_members_sessions_and_registrations(flow, compose_api):
    compose_api.eventually(
        lambda: compose_api.insights.get(
            f"/v1/communities/{flow['community']}/stats", headers=compose_api.auth("operator")
        ),
        lambda r: (
            r.status_code == 200
            and (
                r.json()["members"]["active"],
                r.json()["sessions"]["total"],
                r.json()["registrations"]["confirmed"],
                r.json()["registrations"]["waitlisted"],
            )
            == (2, 1, 1, 1)
        ),
        message="insights' stats of the community",
    )


def test_an_erasure_reaches_every_service(flow, compose_api):
    api, op = compose_api, compose_api.auth("operator")
    ana, session_id = flow["members"]["ana"], flow["session"]
    assert api.registration.delete(f"/v1/members/{ana}", headers=op).status_code == 204
    assert api.registration.get(f"/v1/members/{ana}", headers=op).status_code == 404

    registrations = api.eventually(
        lambda: api.sessions.get(f"/v1/sessions/{session_id}/registrations", headers=op),
        lambda r: r.status_code == 200 and all(x["member_id"] != ana for x in api.items(r)),
        message="sessions to forget Ana",
    )
    assert [x["status"] for x in api.items(registrations)].count("confirmed") == 1
    api.eventually(
        lambda: api.notifications.get("/v1/deliveries", headers=op),
        lambda r: (
            r.status_code == 200
            and not any(d["member_id"] == ana or d["recipient"] == flow["emails"]["ana"] for d in r.json()["items"])
            and any(d["anonymized"] for d in r.json()["items"])
        ),
        message="notifications to anonymize Ana's deliveries",
    )
    stats = api.eventually(
        lambda: api.insights.get(f"/v1/communities/{flow['community']}/stats", headers=op),
        lambda r: (
            r.status_code == 200 and r.json()["members"]["active"] == 1 and r.json()["registrations"]["confirmed"] == 1
        ),
        message="insights to count the erasure",
    )
    assert ana not in stats.text
