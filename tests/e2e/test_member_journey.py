"""A member on her own, on the running stack (four service processes, Kafka, a real SMTP server): she signs in with
the link Cercle emails her, proposes and votes for a theme, registers for a session, receives its reminder with an
.ics invitation a calendar reads, and stops reminders with the one-click unsubscribe of that email."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from devtools.smtp import read_messages
from devtools.stack import Stack
from devtools.wait import wait_until
from tests.support.replicas import wait_for_members_in_sessions

pytestmark = pytest.mark.e2e

TITLE = "Nature et santé mentale"
VOTING_OPENS_IN = timedelta(seconds=20)
# Reminders this long before the session (the shortest offset a community may set), for a session that starts a
# little after it: the reminder is due about a minute into the test.
REMINDER = "PT15M"
STARTS_IN = timedelta(minutes=16)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The stack on SQLite, its scheduler looking for due messages every second."""
    stack = Stack.on_free_ports(
        tmp_path_factory.mktemp("stack-journey"),
        extra_env={"CERCLE_TIMED_POLL_INTERVAL": "1", "CERCLE_HOUSEKEEPING_INTERVAL": "5"},
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def mail_to(stack: Stack, email: str) -> list[EmailMessage]:
    return [m for m in read_messages(stack.base / "mail") if email in str(m["To"]).lower()]


def wait_for_mail(stack: Stack, email: str, matches, what: str, timeout: float = 120) -> EmailMessage:
    def found():
        return [m for m in mail_to(stack, email) if matches(m)]

    return wait_until(found, timeout, interval=0.5, message=what)[-1]


@pytest.fixture(scope="module")
def journey(api, stack):
    op = api.auth("operator")
    suffix = uuid.uuid4().hex[:6]
    email = f"marie.journey.{suffix}@example.org"
    community = api.registration.post(
        "/v1/communities",
        headers=op,
        json={"name_fr": "CoP SMET Laval", "name_en": "Laval workplace health CoP", "regions": ["13"]},
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    member = api.registration.post(
        "/v1/members",
        headers=op,
        json={
            "display_name": f"Marie Journey {suffix}",
            "email": email,
            "language": "en",
            "region": "13",
            "consents": {"processing": True, "email": True},
        },
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    joined = api.registration.post(
        f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": member_id}
    )
    assert joined.status_code == 201, joined.text
    return {"community": community_id, "member": member_id, "email": email, "tokens": {}}


def test_she_signs_in_with_the_link_emailed_to_her(journey, api, stack):
    asked = api.eventually(
        lambda: api.registration.post("/v1/auth/links", json={"email": journey["email"]}),
        lambda r: r.status_code == 202,
        message="a sign-in link",
    )
    assert asked.status_code == 202
    try:
        message = wait_for_mail(
            stack, journey["email"], lambda m: "code" in m.get_body(("plain",)).get_content(), "the sign-in email"
        )
    except TimeoutError:  # say what notifications holds (the link's email waits for her contact, from another topic)
        held = api.notifications.get(
            "/v1/deliveries", params={"member_id": journey["member"]}, headers=api.auth("operator")
        )
        raise AssertionError(f"no sign-in email; notifications holds: {held.text}") from None
    body = message.get_body(("plain",)).get_content()
    code = re.search(r"code: (\S+)", body)
    assert code, body
    tokens = api.registration.post("/v1/auth/token", json={"code": code.group(1)})
    assert tokens.status_code == 200, tokens.text
    journey["tokens"] = tokens.json()
    me = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert api.notifications.get(f"/v1/members/{journey['member']}/preferences", headers=me).status_code == 200
    journey["me"] = me


def test_she_proposes_a_theme_and_votes_for_it(journey, api):
    me = journey["me"]
    # Her membership comes on its own topic, apart from the community the cycle waits for; and proposals close
    # at a set time after `now`.
    wait_for_members_in_sessions(
        api.sessions, journey["community"], [journey["member"]], lambda m: api.auth("member", member_id=m)
    )
    now = datetime.now(UTC).replace(microsecond=0)
    opens = now + VOTING_OPENS_IN
    cycle = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{journey['community']}/cycles",
            headers=api.auth("operator"),
            json={
                "label": "2026-2027",
                "starts_on": date.today().isoformat(),
                "ends_on": (date.today() + timedelta(days=300)).isoformat(),
                "proposals_close_at": (opens - timedelta(seconds=1)).isoformat(),
                "voting_opens_at": opens.isoformat(),
                "voting_closes_at": (opens + timedelta(days=7)).isoformat(),
            },
        ),
        lambda r: r.status_code == 201,
        message="sessions to learn about the community",
    )
    cycle_id = cycle.json()["id"]
    theme = api.sessions.post(
        f"/v1/cycles/{cycle_id}/themes",
        headers=me,
        json={"title": TITLE, "need": "Des équipes épuisées cherchent des façons simples de se ressourcer."},
    )
    assert theme.status_code == 201, theme.text
    time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()))  # the vote opens at a set time
    vote = api.eventually(
        lambda: api.sessions.post(f"/v1/cycles/{cycle_id}/votes", headers=me, json={"theme_id": theme.json()["id"]}),
        lambda r: r.status_code == 201,
        timeout=30,
        message="her vote",
    )
    assert vote.json()["theme_id"] == theme.json()["id"]


def test_she_registers_and_gets_the_reminder_with_an_invitation_her_calendar_reads(journey, api, stack):
    op, me = api.auth("operator"), journey["me"]
    offsets = api.eventually(
        lambda: api.notifications.put(
            f"/v1/communities/{journey['community']}/reminders", headers=op, json={"offsets": [REMINDER]}
        ),
        lambda r: r.status_code == 200,
        message="notifications to learn about the community",
    )
    assert offsets.json()["offsets"] == [REMINDER]
    starts = (datetime.now(UTC) + STARTS_IN).replace(microsecond=0)
    session = api.sessions.post(
        f"/v1/communities/{journey['community']}/sessions",
        headers=api.auth("facilitator", communities=[journey["community"]]),
        json={
            "title": TITLE,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "mode": "in_person",
            "location": "Maison du citoyen, Laval",
            "capacity": 10,
        },
    )
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    registration = api.sessions.post(f"/v1/sessions/{session_id}/registrations", headers=me, json={})
    assert (registration.status_code, registration.json()["status"]) == (201, "confirmed"), registration.text

    reminder = wait_for_mail(
        stack, journey["email"], lambda m: str(m["Subject"]).startswith("Reminder:"), "the reminder", timeout=180
    )
    [part] = [p for p in reminder.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{session_id}@sessions.cercle"
    assert event.decoded("DTSTART") == starts
    assert str(event["SUMMARY"]) == TITLE
    journey["reminder"] = reminder


def test_she_stops_reminders_with_the_one_click_unsubscribe(journey, api):
    reminder = journey["reminder"]
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = re.findall(r"<([^>]+)>", str(reminder["List-Unsubscribe"]))
    [url] = [link for link in links if link.startswith("http")]
    assert any(link.startswith("mailto:") for link in links)
    target = urlsplit(url)
    # the link names the service's public address; on this stack the service listens on a port of its own
    path = target.path + (f"?{target.query}" if target.query else "")
    response = api.notifications.post(
        path, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code in (200, 204), response.text
    preferences = api.notifications.get(f"/v1/members/{journey['member']}/preferences", headers=journey["me"])
    assert preferences.status_code == 200
    assert preferences.json()["categories"]["reminders"] is False, preferences.text
    assert preferences.json()["categories"]["announcements"] is True  # exactly that category
