"""A community's year, across the services: propose, vote, retain, plan, schedule, register, waitlist,
cancel, promote, attend, publish a summary, share a resource — then the email, the stats and the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

import icalendar
import pytest

from devtools.smtp import read_messages
from devtools.wait import wait_until
from tests.support.replicas import wait_for_members_in_sessions

pytestmark = pytest.mark.e2e


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def community(api):
    op = api.auth("operator")
    community_id = _created(
        api.registration.post(
            "/v1/communities",
            headers=op,
            json={
                "name_fr": "CoP Santé mieux-être au travail — Laval",
                "name_en": "Workplace wellbeing CoP — Laval",
                "regions": ["13"],
            },
        )
    )["id"]
    members = {}
    for key, language in (("alice", "en"), ("benoit", "fr"), ("chloe", "fr")):
        members[key] = _created(
            api.registration.post(
                "/v1/members",
                headers=op,
                json={
                    "display_name": key.title(),
                    "email": f"{key}@example.org",
                    "language": language,
                    "region": "13",
                    "consents": {"processing": True, "email": True},
                },
            )
        )["id"]
        _created(
            api.registration.post(
                f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": members[key]}
            )
        )
    return {"id": community_id, "members": members}


def test_a_year_of_a_community(api, stack, community):
    cid, members = community["id"], community["members"]
    facilitator = api.auth("facilitator", communities=[cid])
    coordinator = api.auth("coordinator", regions=["13"])
    as_member = {key: api.auth("member", member_id=mid) for key, mid in members.items()}
    # Proposals close a few seconds after `now`: every member must be in the sessions replica before (each
    # membership is an event of its own, which sessions may learn after the community and after one another).
    wait_for_members_in_sessions(api.sessions, cid, members.values(), lambda m: api.auth("member", member_id=m))
    now = datetime.now(UTC).replace(microsecond=0)

    # A program cycle: proposals for a few seconds, then the vote.
    cycle = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{cid}/cycles",
            headers=facilitator,
            json={
                "label": "2026-2027",
                "starts_on": date.today().isoformat(),
                "ends_on": (date.today() + timedelta(days=90)).isoformat(),
                "proposals_close_at": (now + timedelta(seconds=8)).isoformat(),
                "voting_opens_at": (now + timedelta(seconds=8)).isoformat(),
                "voting_closes_at": (now + timedelta(hours=1)).isoformat(),
                "themes_to_retain": 2,
                "sessions_per_theme": 1,
                "votes_per_member": 2,
            },
        ),
        lambda r: r.status_code == 201,
        message="sessions to learn about the community",
    ).json()

    def propose(who, title, need):
        return api.eventually(
            lambda: api.sessions.post(
                f"/v1/cycles/{cycle['id']}/themes", headers=as_member[who], json={"title": title, "need": need}
            ),
            lambda r: r.status_code == 201,
            message=f"{who} to be known as a member",
        ).json()

    nature = propose("alice", "Nature et santé mentale", "Des équipes épuisées cherchent à se ressourcer.")
    recognition = propose("benoit", "Reconnaissance au travail", "Le roulement de personnel augmente.")
    duplicate = propose("chloe", "Santé mentale et nature", "Sortir dehors pendant les réunions.")
    remote = propose("chloe", "Télétravail et isolement", "Des collègues se sentent seuls.")
    merged = api.sessions.post(
        f"/v1/cycles/{cycle['id']}/themes/{duplicate['id']}/merge",
        headers=facilitator,
        json={"into_theme_id": nature["id"]},
    )
    assert merged.status_code == 200, merged.text

    ballots = {"alice": [nature, recognition], "benoit": [nature, remote], "chloe": [recognition]}
    for who, themes in ballots.items():
        for theme in themes:
            api.eventually(
                lambda who=who, theme=theme: api.sessions.post(
                    f"/v1/cycles/{cycle['id']}/votes", headers=as_member[who], json={"theme_id": theme["id"]}
                ),
                lambda r: r.status_code == 201,
                message="the voting window to open",
            )
    too_many = api.sessions.post(
        f"/v1/cycles/{cycle['id']}/votes", headers=as_member["alice"], json={"theme_id": remote["id"]}
    )
    assert too_many.status_code == 409
    assert too_many.json()["errors"][0]["field"] == "theme_id"
    live = api.sessions.get(f"/v1/cycles/{cycle['id']}/results", headers=as_member["chloe"]).json()
    assert live["total_votes"] == 5

    closed = _created(api.sessions.post(f"/v1/cycles/{cycle['id']}/close-vote", headers=facilitator))
    # nature and recognition tie at 2 votes: the theme proposed first ranks first
    assert [t["theme_id"] for t in closed["retained"]] == [nature["id"], recognition["id"]]

    tomorrow = date.today() + timedelta(days=1)
    plan = _created(
        api.sessions.post(
            f"/v1/cycles/{cycle['id']}/plan",
            headers=facilitator,
            json={"weekday": tomorrow.weekday(), "start_time": "13:00", "duration_minutes": 120},
        )
    )
    assert len(plan["plan"]) == 2
    confirmed = _created(
        api.sessions.post(
            f"/v1/cycles/{cycle['id']}/plan/confirm",
            headers=coordinator,
            json={"capacity": 1, "mode": "hybrid", "location": "Laval"},
        )
    )
    planned = next(s for s in confirmed["sessions"] if s["theme_id"] == recognition["id"])

    # Register, waitlist, cancel, promote.
    seat = _created(
        api.sessions.post(f"/v1/sessions/{planned['id']}/registrations", headers=as_member["alice"], json={})
    )
    waiting = _created(
        api.sessions.post(f"/v1/sessions/{planned['id']}/registrations", headers=as_member["benoit"], json={})
    )
    assert (seat["status"], waiting["status"]) == ("confirmed", "waitlisted")
    cancelled = api.sessions.delete(
        f"/v1/sessions/{planned['id']}/registrations/{seat['id']}", headers=as_member["alice"]
    )
    assert cancelled.status_code == 200, cancelled.text
    mine = api.items(api.sessions.get("/v1/me/sessions", headers=as_member["benoit"]))
    assert [m["registration"]["status"] for m in mine if m["session"]["id"] == planned["id"]] == ["confirmed"]

    # Benoît is told, in French, over SMTP.
    def benoit_mail():
        return [m for m in read_messages(stack.base / "mail") if "benoit@example.org" in m["To"]]

    wait_until(lambda: len(benoit_mail()) >= 2, 60, message="benoit's waitlist and promotion emails")

    # A session that starts in a few seconds: register, attend, summarize, share.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    soon = _created(
        api.sessions.post(
            f"/v1/communities/{cid}/sessions",
            headers=facilitator,
            json={
                "title": "Nature et santé mentale — partage d'expériences",
                "theme_id": nature["id"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "mode": "in_person",
                "location": "Parc de la Rivière-des-Mille-Îles",
                "capacity": 10,
                "formats": ["experience_sharing"],
                "guests": [{"name": "Dre Lucie Gagnon", "expertise": "nature"}],
            },
        )
    )
    chloe_seat = _created(
        api.sessions.post(f"/v1/sessions/{soon['id']}/registrations", headers=as_member["chloe"], json={})
    )
    attendance = api.eventually(
        lambda: api.sessions.put(
            f"/v1/sessions/{soon['id']}/attendance",
            headers=facilitator,
            json={"records": [{"registration_id": chloe_seat["id"], "present": True}]},
        ),
        lambda r: r.status_code == 200,
        message="the session to start",
    )
    assert attendance.json()["present"] == 1
    summary = {
        "body_fr": "## Idées clés\n- Marcher dehors en réunion\n## Pistes d'action\n- Essayer en équipe",
        "body_en": "## Key ideas\n- Walking meetings outdoors",
    }
    assert (
        _created(api.sessions.put(f"/v1/sessions/{soon['id']}/summary", headers=facilitator, json=summary))["version"]
        == 1
    )
    summary["body_fr"] += "\n- Un livre recommandé par l'invitée"
    assert (
        _created(api.sessions.put(f"/v1/sessions/{soon['id']}/summary", headers=facilitator, json=summary))["version"]
        == 2
    )
    assert len(api.items(api.sessions.get(f"/v1/sessions/{soon['id']}/summary/versions", headers=facilitator))) == 2
    _created(
        api.sessions.post(
            f"/v1/communities/{cid}/resources",
            headers=as_member["chloe"],
            json={
                "title": "Dernier enfant des bois",
                "kind": "book",
                "language": "fr",
                "session_id": soon["id"],
                "theme_id": nature["id"],
                "tags": ["nature", "santé mentale"],
            },
        )
    )
    found = api.items(api.sessions.get("/v1/resources", headers=as_member["alice"], params={"q": "enfant bois"}))
    assert [r["title"] for r in found] == ["Dernier enfant des bois"]

    # Insights followed every step through Kafka.
    def stats_match(r) -> bool:
        body = r.json() if r.status_code == 200 else None
        return (
            bool(body)
            and body["sessions"]["total"] == 3
            and body["attendance"]["present"] == 1
            and body["registrations"]["confirmed"] == 2
            and body["registrations"]["cancelled"] == 1
        )

    api.eventually(
        lambda: api.insights.get(f"/v1/communities/{cid}/stats", headers=api.auth("operator")),
        stats_match,
        message="insights to follow the year",
    )

    # Benoît's calendar, as a calendar app reads it.
    feed = _created(api.sessions.post("/v1/me/calendar-feed", headers=as_member["benoit"]))
    ics = api.sessions.get(urlparse(feed["url"]).path)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(ics.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    assert "Reconnaissance" in str(events[0]["SUMMARY"])
    assert events[0].walk("VALARM")
    assert calendar.walk("VTIMEZONE")
