from datetime import timedelta

import icalendar

from cercle_shared.contracts import registration
from tests.support.services import auth


def member(member_id):
    return auth("member", member_id=member_id)


FACILITATOR = auth("facilitator", communities=["c-1"])


def test_summary_notes_come_after_the_start_and_every_edit_is_a_new_version(harness, clock):
    harness.community()
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}/summary"
    early = harness.api.put(url, json={"body_fr": "## Idées clés"}, headers=FACILITATOR)
    assert early.status_code == 409
    clock.advance(days=14, hours=4)
    assert harness.api.put(url, json={}, headers=FACILITATOR).status_code == 422
    assert harness.api.put(url, json={"body_fr": "x"}, headers=member("m-1")).status_code == 403
    first = harness.api.put(url, json={"body_fr": "## Idées clés\n- la nature soigne"}, headers=FACILITATOR)
    assert first.status_code == 200
    assert first.json()["version"] == 1
    assert first.json()["languages"] == ["fr"]
    second = harness.api.put(
        url,
        json={"body_fr": "## Idées clés\n- la nature soigne\n## Pistes d'action", "body_en": "## Key ideas"},
        headers=FACILITATOR,
    )
    assert second.json()["version"] == 2
    assert second.json()["languages"] == ["fr", "en"]
    assert harness.api.get(url, headers=FACILITATOR).json()["version"] == 2
    versions = harness.api.get(f"{url}/versions", headers=FACILITATOR).json()["items"]
    assert next(v["body_fr"] for v in versions) == "## Idées clés\n- la nature soigne"
    events = harness.payloads("org.cercle.sessions.summary.published.v1")
    assert [(e["version"], e["languages"]) for e in events] == [(1, ["fr"]), (2, ["fr", "en"])]


def test_resources_are_found_by_words_without_accents_only_in_visible_communities(harness):
    harness.community("c-1", regions=["13"])
    harness.community("c-2", regions=["06"])
    harness.join("m-1", "c-1")
    harness.join("m-2", "c-2")
    session = harness.schedule("c-1", title="Nature et santé mentale")
    shared = harness.api.post(
        "/v1/communities/c-1/resources",
        headers=member("m-1"),
        json={
            "title": "Dernier enfant des bois",
            "kind": "book",
            "language": "fr",
            "tags": ["Nature", "enfance"],
            "description": "Recommandé par l'invitée",
            "session_id": session["id"],
        },
    )
    assert shared.status_code == 201, shared.text
    harness.api.post(
        "/v1/communities/c-2/resources",
        headers=member("m-2"),
        json={"title": "Gabarit de plan d'action en santé", "kind": "template", "language": "fr"},
    )
    harness.api.post(
        "/v1/communities/c-1/resources",
        headers=FACILITATOR,
        json={"title": "Return-to-work toolkit", "kind": "tool", "language": "en", "url": "https://example.org/rtw"},
    )

    def titles(q, headers, **params):
        response = harness.api.get("/v1/resources", params={"q": q, **params}, headers=headers)
        assert response.status_code == 200, response.text
        return [r["title"] for r in response.json()["items"]]

    assert titles("sante", member("m-1")) == ["Dernier enfant des bois"]  # found through its session's title
    assert titles("SANTÉ", member("m-2")) == ["Gabarit de plan d'action en santé"]
    assert titles("enf bois", member("m-1")) == ["Dernier enfant des bois"]
    assert titles("toolkit", member("m-2")) == []
    assert sorted(titles("", auth())) == [
        "Dernier enfant des bois",
        "Gabarit de plan d'action en santé",
        "Return-to-work toolkit",
    ]
    assert titles("", auth("coordinator", regions=["06"])) == ["Gabarit de plan d'action en santé"]
    assert titles("", member("m-1"), kind="tool") == ["Return-to-work toolkit"]
    assert titles("", member("m-1"), tag="nature") == ["Dernier enfant des bois"]
    assert titles("", member("m-1"), language="en") == ["Return-to-work toolkit"]
    assert titles("100%_", member("m-1")) == []
    assert (
        harness.api.post(
            "/v1/communities/c-2/resources", headers=member("m-1"), json={"title": "x", "kind": "book"}
        ).status_code
        == 403
    )
    wrong_session = harness.api.post(
        "/v1/communities/c-2/resources",
        headers=member("m-2"),
        json={"title": "x", "kind": "book", "session_id": session["id"]},
    )
    assert wrong_session.status_code == 422
    assert wrong_session.json()["errors"][0]["field"] == "session_id"
    assert (
        harness.api.post(
            "/v1/communities/c-1/resources", headers=member("m-1"), json={"title": "x", "kind": "podcast"}
        ).status_code
        == 422
    )
    events = harness.payloads("org.cercle.sessions.resource.shared.v1")
    assert len(events) == 3
    assert events[0]["session_id"] == session["id"]
    assert events[0]["tags"] == ["enfance", "nature"]


def _feed(harness, url_path_token):
    response = harness.api.get(url_path_token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def _path(feed_url):
    return feed_url[feed_url.index("/v1/calendars/") :]


def test_the_community_calendar_follows_reschedules_and_cancellations(harness, clock):
    harness.community()
    harness.join("m-1")
    kept = harness.schedule(title="Retour au travail", capacity=10)
    dropped = harness.schedule(
        title="Télétravail",
        starts_at=(clock.now + timedelta(days=30)).isoformat(),
        ends_at=(clock.now + timedelta(days=30, hours=2)).isoformat(),
    )
    harness.schedule(title="Brouillon", draft=True)
    feed = harness.api.post("/v1/communities/c-1/calendar-feed", headers=member("m-1"))
    assert feed.status_code == 201
    assert feed.json()["kind"] == "community"
    assert harness.api.post("/v1/communities/c-1/calendar-feed", headers=member("m-out")).status_code == 403
    path = _path(feed.json()["url"])

    calendar = _feed(harness, path)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Retour au travail", "Télétravail"}
    first_uid = str(events["Retour au travail"]["uid"])
    assert int(events["Retour au travail"]["sequence"]) == 0
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Toronto"]
    assert events["Retour au travail"]["dtstart"].params["TZID"] == "America/Toronto"
    assert events["Retour au travail"]["dtstart"].dt.utcoffset() == timedelta(hours=-4)
    alarm = events["Retour au travail"].walk("VALARM")[0]
    assert alarm["trigger"].dt == timedelta(days=-1)

    harness.api.patch(
        f"/v1/sessions/{kept['id']}",
        headers=FACILITATOR,
        json={
            "starts_at": (clock.now + timedelta(days=15)).isoformat(),
            "ends_at": (clock.now + timedelta(days=15, hours=3)).isoformat(),
        },
    )
    harness.api.post(f"/v1/sessions/{dropped['id']}/cancel", json={}, headers=FACILITATOR)
    events = {str(e["summary"]): e for e in _feed(harness, path).walk("VEVENT")}
    assert str(events["Retour au travail"]["uid"]) == first_uid
    assert int(events["Retour au travail"]["sequence"]) == 1
    assert str(events["Retour au travail"]["status"]) == "CONFIRMED"
    assert str(events["Télétravail"]["status"]) == "CANCELLED"
    assert int(events["Télétravail"]["sequence"]) == 1

    assert harness.api.get("/v1/calendars/not-a-token.ics").status_code == 404


def test_a_member_calendar_lists_their_registrations_and_a_new_url_revokes_the_old(harness):
    harness.community()
    harness.join("m-1")
    harness.join("m-2")
    mine = harness.schedule(title="Inscrite")
    full = harness.schedule(title="Complète", capacity=1)
    harness.schedule(title="Pas inscrite")
    harness.api.post(f"/v1/sessions/{full['id']}/registrations", json={}, headers=member("m-2"))
    for session in (mine, full):
        harness.api.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=member("m-1"))
    old = _path(harness.api.post("/v1/me/calendar-feed", headers=member("m-1")).json()["url"])
    statuses = {str(e["summary"]): str(e["status"]) for e in _feed(harness, old).walk("VEVENT")}
    assert statuses == {"Inscrite": "CONFIRMED", "Complète": "TENTATIVE"}  # waitlisted: tentative
    new = _path(harness.api.post("/v1/me/calendar-feed", headers=member("m-1")).json()["url"])
    assert harness.api.get(old).status_code == 404
    assert harness.api.get(new).status_code == 200
    assert harness.api.post("/v1/me/calendar-feed", headers=auth()).status_code == 422
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=harness.clock.now))
    assert harness.api.get(new).status_code == 404
