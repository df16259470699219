"""Calendar feeds: revoked with their owner's rights, deletable, throttled on misses, and safe against any stored
value (issue 8: items 7, 9 and 15)."""

from datetime import timedelta

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cercle_sessions.adapters import orm
from cercle_shared.contracts import registration
from tests.support.harness import migrated_sqlite
from tests.support.services import auth

from .conftest import SessionsHarness


def member(member_id):
    return auth("member", member_id=member_id)


FACILITATOR = auth("facilitator", communities=["c-1"])


def _path(feed_url):
    return feed_url[feed_url.index("/v1/calendars/") :]


def _issue(harness, headers, community_id="c-1"):
    response = harness.api.post(f"/v1/communities/{community_id}/calendar-feed", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _left(harness, membership_id, member_id, community_id="c-1"):
    harness.publish(
        registration.MembershipLeft(
            membership_id=membership_id, community_id=community_id, member_id=member_id, left_at=harness.clock.now
        )
    )


def test_a_community_feed_is_revoked_when_its_owner_leaves_and_stays_revoked_if_she_comes_back(harness):
    harness.community()
    membership = harness.join("m-1")
    harness.schedule(title="Retour au travail", link="https://meet.example/secret", mode="hybrid")
    feed = _issue(harness, member("m-1"))
    path = _path(feed["url"])
    assert harness.api.get(path).status_code == 200
    _left(harness, membership, "m-1")
    gone = harness.api.get(path)
    assert gone.status_code == 404
    assert b"meet.example" not in gone.content
    harness.publish(
        registration.MembershipJoined(
            membership_id="ms-again",
            community_id="c-1",
            member_id="m-1",
            role="participant",
            joined_at=harness.clock.now,
        )
    )
    assert harness.api.get(path).status_code == 404  # revoked, not merely suspended


def test_a_community_feed_is_revoked_when_its_owner_is_erased(harness):
    harness.community()
    harness.join("m-1")
    harness.schedule()
    path = _path(_issue(harness, member("m-1"))["url"])
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=harness.clock.now))
    assert harness.api.get(path).status_code == 404


def test_a_feed_token_is_checked_against_its_owners_current_rights_at_every_read(harness):
    harness.community(regions=["13"])
    harness.schedule()
    coordinator = _path(_issue(harness, auth("coordinator", regions=["13"]))["url"])
    facilitator = _path(_issue(harness, FACILITATOR)["url"])
    assert harness.api.get(coordinator).status_code == 200
    assert harness.api.get(facilitator).status_code == 200
    harness.publish(  # the community moves to another region: region 13's coordinator no longer covers it
        registration.CommunityUpdated(
            community_id="c-1",
            name_fr="CoP Laurentides",
            name_en="Laurentians CoP",
            kind="community_of_practice",
            regions=["15"],
            cadence=6,
            status="active",
            updated_at=harness.clock.now,
        )
    )
    assert harness.api.get(coordinator).status_code == 404
    assert harness.api.get(facilitator).status_code == 200


def test_a_member_with_a_lapsed_membership_reads_nothing_even_before_the_revocation_runs(harness):
    """A feed whose owner no longer belongs answers 404 whatever the way the membership went."""
    harness.community()
    harness.join("m-1")
    harness.schedule()
    path = _path(_issue(harness, member("m-1"))["url"])
    with harness.runtime.db_factory() as db:  # the replica alone changes (as a late or replayed event could)
        db.execute(update(orm.memberships).values(active=False))
        db.commit()
    assert harness.api.get(path).status_code == 404


def test_feeds_are_listed_and_deleted_by_their_owner_or_the_communitys_managers(harness):
    harness.community()
    harness.join("m-1")
    harness.join("m-2")
    harness.schedule()
    first = _issue(harness, member("m-1"))
    assert set(first) >= {"id", "url", "kind"}
    mine = harness.api.get("/v1/me/calendar-feeds", headers=member("m-1"))
    assert mine.status_code == 200, mine.text
    assert [f["id"] for f in mine.json()["items"]] == [first["id"]]
    assert "url" not in mine.json()["items"][0]  # the token is handed out once, never again

    # another member can neither list nor delete it
    assert harness.api.get("/v1/communities/c-1/calendar-feeds", headers=member("m-2")).status_code == 403
    assert harness.api.delete(f"/v1/calendars/{first['id']}", headers=member("m-2")).status_code == 404
    assert harness.api.get(_path(first["url"])).status_code == 200

    # a facilitator of the community lists and deletes it
    listed = harness.api.get("/v1/communities/c-1/calendar-feeds", headers=FACILITATOR)
    assert listed.status_code == 200, listed.text
    assert [(f["id"], f["member_id"]) for f in listed.json()["items"]] == [(first["id"], "m-1")]
    assert harness.api.delete(f"/v1/calendars/{first['id']}", headers=FACILITATOR).status_code == 204
    assert harness.api.get(_path(first["url"])).status_code == 404
    assert harness.api.delete(f"/v1/calendars/{first['id']}", headers=FACILITATOR).status_code == 404

    # the owner deletes by id
    second = _issue(harness, member("m-1"))
    assert harness.api.delete(f"/v1/calendars/{second['id']}", headers=member("m-1")).status_code == 204
    assert harness.api.get(_path(second["url"])).status_code == 404

    # whoever holds the secret URL may revoke it, with no bearer token (the token is the credential)
    third = _issue(harness, member("m-1"))
    token = _path(third["url"]).removeprefix("/v1/calendars/")
    assert harness.api.delete(f"/v1/calendars/{token}").status_code == 204
    assert harness.api.get(_path(third["url"])).status_code == 404

    # by id, a bearer token is needed; an unknown id or token reveals nothing
    fourth = _issue(harness, member("m-1"))
    assert harness.api.delete(f"/v1/calendars/{fourth['id']}").status_code == 404
    assert harness.api.get(_path(fourth["url"])).status_code == 200
    assert harness.api.delete("/v1/calendars/not-a-token").status_code == 404

    # the personal feed is listed and deletable as well
    personal = harness.api.post("/v1/me/calendar-feed", headers=member("m-1")).json()
    kinds = sorted(f["kind"] for f in harness.api.get("/v1/me/calendar-feeds", headers=member("m-1")).json()["items"])
    assert kinds == ["community", "member"]
    assert harness.api.delete(f"/v1/calendars/{personal['id']}", headers=FACILITATOR).status_code == 404
    assert harness.api.delete(f"/v1/calendars/{personal['id']}", headers=member("m-1")).status_code == 204


@pytest.fixture
def throttled(tmp_path, tmp_path_factory):
    h = SessionsHarness(
        "sessions",
        migrated_sqlite("sessions", tmp_path, tmp_path_factory.getbasetemp()),
        settings_overrides={"feed_miss_limit": 5, "feed_miss_window": 60},
    )
    yield h
    h.runtime.engine.dispose()


def test_repeated_misses_on_feed_urls_from_one_address_are_throttled(throttled):
    h = throttled
    h.community()
    h.join("m-1")
    h.schedule()
    good = _path(_issue(h, member("m-1"))["url"])
    for i in range(5):
        assert h.api.get(f"/v1/calendars/guess-{i}.ics").status_code == 404
    refused = h.api.get("/v1/calendars/guess-5.ics")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert h.api.get(good).status_code == 429  # a throttled address learns nothing, even from a right guess
    assert h.api.delete("/v1/calendars/guess-6").status_code == 429

    other = TestClient(h.app, raise_server_exceptions=False, client=("192.0.2.7", 50000))
    assert other.get(good).status_code == 200  # per client address

    h.advance(seconds=61)  # the window slides past the misses
    assert h.api.get(good).status_code == 200


def _calendar(harness, path):
    response = harness.api.get(path)
    assert response.status_code == 200, response.text
    return icalendar.Calendar.from_ical(response.content)


def test_a_stored_session_out_of_any_sane_range_does_not_break_the_feed(harness):
    harness.community()
    harness.join("m-1")
    far = harness.schedule(title="Très loin")
    zone = harness.schedule(title="Fuseau inconnu")
    text = harness.schedule(title="Titre propre")
    harness.schedule(title="Normale")
    path = _path(_issue(harness, member("m-1"))["url"])
    with harness.runtime.db_factory() as db:  # values stored before the API bounded them
        s = orm.sessions
        db.execute(
            update(s)
            .where(s.c.id == far["id"])
            .values(
                starts_at=harness.clock.now.replace(year=9999, month=12, day=31),
                ends_at=harness.clock.now.replace(year=9999, month=12, day=31, hour=23),
            )
        )
        db.execute(update(s).where(s.c.id == zone["id"]).values(timezone="Mars/Olympus"))
        db.execute(update(s).where(s.c.id == text["id"]).values(title="Titre\r\nX-INJECTED:1\x07", location="a\nb"))
        db.commit()
    calendar = _calendar(harness, path)
    summaries = sorted(str(e["summary"]) for e in calendar.walk("VEVENT"))
    assert summaries == ["Fuseau inconnu", "Normale", "Titre X-INJECTED:1"]  # the far one alone is left out
    raw = harness.api.get(path).text
    assert "\r\nX-INJECTED" not in raw
    assert "\x07" not in raw
    [odd_zone] = [e for e in calendar.walk("VEVENT") if str(e["summary"]) == "Fuseau inconnu"]
    assert odd_zone["dtstart"].dt.utcoffset() == timedelta(0)  # an unknown zone falls back to UTC
    # the JSON API still reads the stored session
    assert harness.api.get(f"/v1/sessions/{far['id']}", headers=auth()).status_code == 200


def test_calendar_events_name_the_guests_and_the_co_facilitators_who_are_listed(harness):
    harness.community()
    for m in ("m-1", "m-2", "m-3"):
        harness.join(m)
    for member_id, name, listed in (("m-2", "Marie Tremblay", True), ("m-3", "Paul Secret", False)):
        harness.publish(
            registration.MemberContactChanged(
                member_id=member_id,
                email=f"{member_id}@example.org",
                display_name=name,
                language="fr",
                consents={"processing": True, "directory": listed},
                updated_at=harness.clock.now,
            )
        )
    harness.schedule(
        title="Nature",
        description="Marcher dehors.",
        co_facilitators=["m-2", "m-3"],
        guests=[{"name": "Dre Lucie Gagnon", "expertise": "santé mentale et nature"}, {"name": "Jean Roy"}],
    )
    path = _path(_issue(harness, member("m-1"))["url"])
    [event] = _calendar(harness, path).walk("VEVENT")
    description = str(event["description"])
    assert description.startswith("Marcher dehors.")
    assert "Dre Lucie Gagnon (santé mentale et nature)" in description
    assert "Jean Roy" in description
    assert "Marie Tremblay" in description
    contacts = event.get("contact")
    contacts = [str(c) for c in (contacts if isinstance(contacts, list) else [contacts])]
    assert contacts == ["Marie Tremblay"]
    text = harness.api.get(path).text
    assert "Paul Secret" not in text  # not in the directory: not named to peers
    assert "@example.org" not in text  # no email ever goes into a feed


def test_feed_lookups_answer_404_after_a_revocation_through_the_token_path_with_ics(harness):
    harness.community()
    harness.join("m-1")
    feed = _issue(harness, member("m-1"))
    token_with_suffix = _path(feed["url"]).removeprefix("/v1/calendars/")
    assert token_with_suffix.endswith(".ics")
    assert harness.api.delete(f"/v1/calendars/{token_with_suffix}").status_code == 204
    assert harness.api.get(_path(feed["url"])).status_code == 404


def test_the_calendar_is_bounded_in_time_zones_even_with_sessions_years_apart(harness, clock):
    harness.community()
    harness.join("m-1")
    harness.schedule(title="Bientôt")
    harness.schedule(
        title="Dans longtemps",
        starts_at=(clock.now + timedelta(days=365 * 150)).isoformat(),
        ends_at=(clock.now + timedelta(days=365 * 150, hours=2)).isoformat(),
    )
    path = _path(_issue(harness, member("m-1"))["url"])
    assert {str(e["summary"]) for e in _calendar(harness, path).walk("VEVENT")} == {"Bientôt", "Dans longtemps"}
