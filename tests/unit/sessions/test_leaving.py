"""A member who leaves a community (or is erased) gives up her future seats and waitlist places; the next
people are promoted, with the same events as a cancellation by hand (issue 8: item 13)."""

from datetime import timedelta

from cercle_shared.contracts import registration
from tests.support.services import auth

CANCELLED = "org.cercle.sessions.registration.cancelled.v1"
PROMOTED = "org.cercle.sessions.registration.promoted.v1"


def member(member_id):
    return auth("member", member_id=member_id)


def _register(harness, session, member_id):
    response = harness.api.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=member(member_id))
    assert response.status_code == 201, response.text
    return response.json()


def _statuses(harness, session):
    listed = harness.api.get(f"/v1/sessions/{session['id']}/registrations", headers=auth()).json()["items"]
    return {r["member_id"]: (r["status"], r["position"]) for r in listed}


def _leave(harness, membership_id, member_id, community_id="c-1"):
    harness.publish(
        registration.MembershipLeft(
            membership_id=membership_id, community_id=community_id, member_id=member_id, left_at=harness.clock.now
        )
    )


def test_leaving_cancels_future_seats_and_places_and_promotes_the_next_in_line(harness, clock):
    harness.community("c-1")
    harness.community("c-2")
    memberships = {m: harness.join(m) for m in ("m-1", "m-2", "m-3", "m-4")}
    harness.join("m-1", "c-2")
    past = harness.schedule(capacity=5, title="Passée")
    _register(harness, past, "m-1")
    clock.advance(days=15)  # `past` has started
    seat = harness.schedule(capacity=1, title="Siège")
    line = harness.schedule(capacity=1, title="File")
    elsewhere = harness.schedule("c-2", capacity=1, title="Ailleurs")
    for m in ("m-1", "m-2", "m-3"):
        _register(harness, seat, m)
    for m in ("m-2", "m-1", "m-4"):
        _register(harness, line, m)
    _register(harness, elsewhere, "m-1")

    _leave(harness, memberships["m-1"], "m-1")

    assert _statuses(harness, seat) == {
        "m-1": ("cancelled", None),
        "m-2": ("confirmed", None),
        "m-3": ("waitlisted", 1),
    }
    assert _statuses(harness, line) == {
        "m-2": ("confirmed", None),
        "m-1": ("cancelled", None),
        "m-4": ("waitlisted", 1),
    }
    assert _statuses(harness, past)["m-1"] == ("confirmed", None)  # history stays
    assert _statuses(harness, elsewhere)["m-1"] == ("confirmed", None)  # another community
    cancelled = [(e["session_id"], e["member_id"], e["was"]) for e in harness.payloads(CANCELLED)]
    assert sorted(cancelled) == sorted([(seat["id"], "m-1", "confirmed"), (line["id"], "m-1", "waitlisted")])
    assert [(e["session_id"], e["member_id"]) for e in harness.payloads(PROMOTED)] == [(seat["id"], "m-2")]
    assert all(e["key"] == e["session_id"] for e in harness.payloads(CANCELLED))
    mine = harness.api.get("/v1/me/sessions", headers=member("m-1")).json()["items"]
    assert sorted(m["session"]["title"] for m in mine) == ["Ailleurs", "Passée"]

    # replaying the event changes nothing more
    _leave(harness, memberships["m-1"], "m-1")
    assert len(harness.payloads(CANCELLED)) == 2


def test_a_member_who_is_still_a_member_through_another_membership_keeps_her_seats(harness):
    harness.community()
    harness.join("m-1")
    session = harness.schedule(capacity=1)
    _register(harness, session, "m-1")
    harness.publish(
        registration.MembershipJoined(
            membership_id="ms-second",
            community_id="c-1",
            member_id="m-1",
            role="facilitator",
            joined_at=harness.clock.now,
        )
    )
    _leave(harness, "ms-c-1-m-1", "m-1")
    assert _statuses(harness, session)["m-1"] == ("confirmed", None)
    assert harness.published(CANCELLED) == []


def test_an_erased_member_gives_up_her_future_seats_and_nobody_can_tell_it_was_her(harness, clock):
    harness.community()
    for m in ("m-1", "m-2"):
        harness.join(m)
    past = harness.schedule(capacity=1)
    _register(harness, past, "m-1")
    clock.advance(days=15)
    future = harness.schedule(
        capacity=1,
        starts_at=(clock.now + timedelta(days=3)).isoformat(),
        ends_at=(clock.now + timedelta(days=3, hours=2)).isoformat(),
    )
    _register(harness, future, "m-1")
    _register(harness, future, "m-2")
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=clock.now))
    statuses = _statuses(harness, future)
    assert statuses.pop("m-2") == ("confirmed", None)
    [(marker, status)] = statuses.items()
    assert marker.startswith("erased-")
    assert status == ("cancelled", None)
    [cancelled] = harness.payloads(CANCELLED)
    assert cancelled["member_id"] != "m-1"
    assert cancelled["was"] == "confirmed"
    assert [e["member_id"] for e in harness.payloads(PROMOTED)] == ["m-2"]
    assert harness.api.get(f"/v1/sessions/{past['id']}", headers=auth()).json()["confirmed"] == 1
