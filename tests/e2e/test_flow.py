"""Drive the foundation's flow over HTTP through four separate service processes, Kafka and SMTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from devtools.smtp import read_messages

pytestmark = pytest.mark.e2e

TITLE = "Nature et santé mentale"


@pytest.fixture(scope="module")
def flow(api, stack):
    """Community, two members, a one-seat session: the first member gets the seat, the second waits."""
    started = time.monotonic()
    op = api.auth("operator")
    community = api.registration.post(
        "/v1/communities",
        headers=op,
        json={
            "name_fr": "CoP Santé mieux-être au travail — Laval",
            "name_en": "Workplace wellbeing CoP — Laval",
            "regions": ["13"],
        },
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    members = {}
    for key, name, language in (("ana", "Ana Roy", "en"), ("luc", "Luc Côté", "fr")):
        response = api.registration.post(
            "/v1/members",
            headers=op,
            json={
                "display_name": name,
                "email": f"{key}@example.org",
                "language": language,
                "region": "13",
                "consents": {"processing": True, "email": True},
            },
        )
        assert response.status_code == 201, response.text
        members[key] = response.json()["id"]
        joined = api.registration.post(
            f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": members[key]}
        )
        assert joined.status_code == 201, joined.text

    starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    facilitator = api.auth("facilitator", communities=[community_id])
    session = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{community_id}/sessions",
            headers=facilitator,
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
        message="sessions to learn about the community",
    )
    session_id = session.json()["id"]

    registrations = {}
    for key in ("ana", "luc"):
        member = api.auth("member", member_id=members[key])
        response = api.eventually(
            lambda member=member: api.sessions.post(
                f"/v1/sessions/{session_id}/registrations", headers=member, json={}
            ),
            lambda r: r.status_code == 201,
            message=f"sessions to learn that {key} is a member",
        )
        registrations[key] = response.json()
    return {
        "community": community_id,
        "members": members,
        "session": session_id,
        "registrations": registrations,
        "started": started,
    }


def test_capacity_confirms_the_first_member_and_waitlists_the_second(flow):
    assert flow["registrations"]["ana"]["status"] == "confirmed"
    assert flow["registrations"]["luc"]["status"] == "waitlisted"
    assert flow["registrations"]["luc"]["position"] == 1


def test_the_confirmed_member_gets_an_email_in_her_language_over_smtp(flow, stack, api):
    mail_dir = stack.base / "mail"

    def ana_mail():
        return [m for m in read_messages(mail_dir) if "ana@example.org" in m["To"]]

    from devtools.wait import wait_until

    messages = wait_until(ana_mail, 60, message="the confirmation email to ana")
    assert len(messages) == 1
    message = messages[0]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert TITLE in body
    assert message["Subject"]
    assert "confirm" in message["Subject"].lower()
    # English, as she asked: no French subject
    assert "inscription" not in message["Subject"].lower()

    deliveries = api.eventually(
        lambda: api.notifications.get(
            "/v1/deliveries", headers=api.auth("operator"), params={"member_id": flow["members"]["ana"]}
        ),
        lambda r: r.status_code == 200 and any(d["status"] == "sent" for d in r.json()["items"]),
        message="the delivery recorded as sent",
    )
    assert any(d["language"] == "en" for d in deliveries.json()["items"])
    print(f"\nflow to email: {time.monotonic() - flow['started']:.1f}s")


def test_insights_counts_members_sessions_and_registrations(flow, api):
    def matches(response) -> bool:
        if response.status_code != 200:
            return False
        body = response.json()
        return (
            body["members"]["active"],
            body["sessions"]["total"],
            body["registrations"]["confirmed"],
            body["registrations"]["waitlisted"],
        ) == (2, 1, 1, 1)

    api.eventually(
        lambda: api.insights.get(f"/v1/communities/{flow['community']}/stats", headers=api.auth("operator")),
        matches,
        message="the stats to move",
    )


def test_an_erasure_reaches_every_service(flow, api):
    """Registration erases Ana; sessions, notifications and insights drop her identity but keep the counts."""
    ana, session_id, op = flow["members"]["ana"], flow["session"], api.auth("operator")
    assert api.registration.delete(f"/v1/members/{ana}", headers=op).status_code == 204
    assert api.registration.get(f"/v1/members/{ana}", headers=op).status_code == 404

    registrations = api.eventually(
        lambda: api.sessions.get(f"/v1/sessions/{session_id}/registrations", headers=op),
        lambda r: r.status_code == 200 and all(x["member_id"] != ana for x in r.json()),
        message="sessions to forget Ana",
    )
    assert [x["status"] for x in registrations.json()].count("confirmed") == 1  # her seat still counts

    api.eventually(
        lambda: api.notifications.get("/v1/deliveries", headers=op),
        lambda r: (
            r.status_code == 200
            and not any(d["member_id"] == ana or d["recipient"] == "ana@example.org" for d in r.json()["items"])
            and any(d["anonymized"] for d in r.json()["items"])
        ),
        message="notifications to anonymize Ana's deliveries",
    )

    stats = api.eventually(
        lambda: api.insights.get(f"/v1/communities/{flow['community']}/stats", headers=op),
        lambda r: r.status_code == 200 and r.json()["members"]["active"] == 1,
        message="insights to count the erasure",
    )
    assert stats.json()["registrations"]["confirmed"] == 1
    assert ana not in stats.text


SHUTDOWN_BOUND = 15 + 5  # CERCLE_SHUTDOWN_TIMEOUT plus process teardown


def test_each_service_shuts_down_gracefully_and_in_time_on_sigterm(flow, stack):
    """Last in this module: SIGTERM each service of the stack the flow used."""
    for name in ("registration", "sessions", "notifications", "insights"):
        service = stack.services[name]
        elapsed = stack.stop_service(name, timeout=SHUTDOWN_BOUND + 10)
        # uvicorn re-raises the signal once its graceful shutdown is done, hence -15 rather than 0
        assert service.returncode in (0, -15), f"{name} exited with {service.returncode}"
        log = service.log.read_text(errors="replace")
        assert "Application shutdown complete" in log, f"{name} did not run its shutdown:\n{log[-2000:]}"
        assert elapsed < SHUTDOWN_BOUND, f"{name} took {elapsed:.1f}s to stop"
        print(f"\n{name} stopped in {elapsed:.1f}s")
