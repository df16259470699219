"""Drive the foundation's flow over HTTP through four separate service processes, Kafka and SMTP."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cercle_shared.contracts import topics
from devtools.smtp import read_messages
from devtools.wait import wait_until

from .privacy import records_holding, rows_holding, sqlite_files_holding

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
    # Names and addresses found nowhere else, so that the privacy sweep after the erasure cannot miss them.
    suffix = uuid.uuid4().hex[:6]
    people = {
        "ana": (f"Anastasia Quibbleworth-{suffix}", f"Anastasia.Quibbleworth.{suffix}@Example.org", "en"),
        "luc": (f"Lucien Vantongerloo-{suffix}", f"lucien.vantongerloo.{suffix}@example.org", "fr"),
    }
    for key, (name, email, language) in people.items():
        response = api.registration.post(
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
        "names": {key: person[0] for key, person in people.items()},
        "emails": {key: person[1].lower() for key, person in people.items()},  # stored lower-cased
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
        # her own registration's emails: the community's announcements (with List-Unsubscribe) come to her too
        return [
            m for m in read_messages(mail_dir) if flow["emails"]["ana"] in m["To"] and m["List-Unsubscribe"] is None
        ]

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
        lambda r: r.status_code == 200 and all(x["member_id"] != ana for x in api.items(r)),
        message="sessions to forget Ana",
    )
    assert [x["status"] for x in api.items(registrations)].count("confirmed") == 1  # her seat still counts

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
        # one seat taken still: hers, or Luc's once he is promoted to it (the two events may come one after the other)
        lambda r: (
            r.status_code == 200 and r.json()["members"]["active"] == 1 and r.json()["registrations"]["confirmed"] == 1
        ),
        message="insights to count the erasure",
    )
    assert ana not in stats.text


def test_after_the_erasure_no_table_and_no_topic_holds_her_name_or_email(flow, api, stack):
    """The privacy sweep: every row of every table of the four services, and every record of every topic but the
    compacted contacts topic (whose older values compaction removes within the bound the README states)."""
    needles = [flow["emails"]["ana"], flow["names"]["ana"], "Quibbleworth"]
    assert all(needle not in flow["emails"]["luc"] + flow["names"]["luc"] for needle in needles)

    def tables_holding(who: list[str]) -> list:
        found = []
        for name, service in stack.services.items():
            findings, tables = rows_holding(name, service.database_url, who)
            assert {"outbox", "processed_events"} <= tables or name == "insights", (name, tables)
            found += findings
        return found

    # The sweep finds what is there: Luc was not erased.
    still_there = {f.where.split(".")[0] for f in tables_holding([flow["emails"]["luc"]])}
    assert {"registration", "notifications"} <= still_there

    # Every service applied the erasure (the test above waited for it); replicas that learn of it later get a while.
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not tables_holding(needles), 60, interval=1, message="every table to forget Ana")
    assert [str(f) for f in tables_holding(needles)] == []

    # On SQLite, not in the files either, once the housekeeping job folded the write-ahead log back (every few
    # seconds in this stack): deleted rows are overwritten, not left in free pages.
    def files_holding() -> list:
        return [f for service in stack.services.values() for f in sqlite_files_holding(service.database_url, needles)]

    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not files_holding(), 60, interval=1, message="SQLite files to forget Ana")
    assert [str(f) for f in files_holding()] == []

    sweep = records_holding(stack.kafka.bootstrap, needles, skip=[topics.MEMBER_CONTACTS.name])
    assert topics.MEMBERS.name in sweep.topics
    assert sweep.records > 0
    assert [str(f) for f in sweep.findings] == []


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
