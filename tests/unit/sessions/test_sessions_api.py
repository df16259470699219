from cercle_shared.contracts import registration
from tests.support.services import auth

SCHEDULED = "org.cercle.sessions.session.scheduled.v1"
CONFIRMED = "org.cercle.sessions.registration.confirmed.v1"
WAITLISTED = "org.cercle.sessions.registration.waitlisted.v1"
PROMOTED = "org.cercle.sessions.registration.promoted.v1"
CANCELLED = "org.cercle.sessions.registration.cancelled.v1"


def member(member_id):
    return auth("member", member_id=member_id)


def test_a_facilitator_of_the_community_schedules_a_session_and_it_is_published(harness):
    harness.community()
    session = harness.schedule(
        headers=auth("facilitator", communities=["c-1"]),
        formats=["experience_sharing"],
        guests=[{"name": "Dre Gagnon", "expertise": "nature"}],
    )
    assert session["status"] == "scheduled"
    assert session["timezone"] == "America/Toronto"
    [event] = harness.payloads(SCHEDULED)
    assert event["session_id"] == session["id"]
    assert event["community_id"] == "c-1"
    assert event["capacity"] == 2
    assert event["location"] == "Maison des arts de Laval"
    assert "Gagnon" not in str(event)  # guests' names stay off the partner-visible topic


def test_who_may_schedule_is_scoped_to_the_community(harness):
    harness.community(regions=["13"])
    harness.join("m-1")
    body = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    url = "/v1/communities/c-1/sessions"
    assert harness.api.post(url, json=body, headers=auth("coordinator", regions=["13"])).status_code == 201
    assert harness.api.post(url, json=body, headers=auth("coordinator", regions=["06"])).status_code == 403
    assert harness.api.post(url, json=body, headers=auth("facilitator", communities=["other"])).status_code == 403
    assert harness.api.post(url, json=body, headers=member("m-1")).status_code == 403
    assert harness.api.post(url, json=body).status_code == 401
    assert harness.api.post("/v1/communities/nope/sessions", json=body, headers=auth()).status_code == 404


def test_a_member_with_a_facilitator_membership_manages_its_sessions(harness):
    harness.community()
    harness.join("m-fac", role="facilitator")
    harness.schedule(headers=member("m-fac"))


def test_bad_session_input_is_a_problem_naming_the_field_and_nothing_is_written(harness):
    harness.community()
    base = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    cases = [
        ({"ends_at": "2026-10-01T12:00:00-04:00"}, "ends_at"),
        ({"starts_at": "2026-10-01T13:00:00"}, "starts_at"),
        ({"capacity": 0}, "capacity"),
        ({"mode": "telepathy"}, "mode"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"colour": "blue"}, "colour"),
        ({"starts_at": "2026-08-01T13:00:00-04:00", "ends_at": "2026-08-01T15:00:00-04:00"}, "starts_at"),
    ]
    for change, field in cases:
        response = harness.api.post("/v1/communities/c-1/sessions", json={**base, **change}, headers=auth())
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert harness.published() == []
    assert harness.api.get("/v1/communities/c-1/sessions", headers=auth()).json()["items"] == []


def test_members_register_until_the_session_is_full_then_wait_in_line(harness):
    harness.community()
    for m in ("m-1", "m-2", "m-3", "m-4"):
        harness.join(m)
    session = harness.schedule(capacity=2)
    url = f"/v1/sessions/{session['id']}/registrations"
    statuses = [harness.api.post(url, json={}, headers=member(m)).json() for m in ("m-1", "m-2", "m-3", "m-4")]
    assert [s["status"] for s in statuses] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [s["position"] for s in statuses] == [None, None, 1, 2]
    assert [e["member_id"] for e in harness.payloads(CONFIRMED)] == ["m-1", "m-2"]
    assert [(e["member_id"], e["position"]) for e in harness.payloads(WAITLISTED)] == [("m-3", 1), ("m-4", 2)]
    assert all(e["key"] == session["id"] for e in harness.payloads(CONFIRMED))
    read = harness.api.get(f"/v1/sessions/{session['id']}", headers=member("m-1")).json()
    assert (read["confirmed"], read["waitlisted"]) == (2, 2)


def test_a_cancellation_promotes_the_first_on_the_waitlist(harness):
    harness.community()
    for m in ("m-1", "m-2", "m-3", "m-4"):
        harness.join(m)
    session = harness.schedule(capacity=2)
    url = f"/v1/sessions/{session['id']}/registrations"
    regs = {m: harness.api.post(url, json={}, headers=member(m)).json() for m in ("m-1", "m-2", "m-3", "m-4")}
    response = harness.api.delete(f"{url}/{regs['m-1']['id']}", headers=member("m-1"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert [e["member_id"] for e in harness.payloads(PROMOTED)] == ["m-3"]
    assert [(e["member_id"], e["was"]) for e in harness.payloads(CANCELLED)] == [("m-1", "confirmed")]
    listed = {r["member_id"]: r for r in harness.api.get(url, headers=auth()).json()["items"]}
    assert listed["m-3"]["status"] == "confirmed"
    assert listed["m-4"]["position"] == 1
    [mine] = harness.api.get("/v1/me/sessions", headers=member("m-4")).json()["items"]
    assert mine["session"]["id"] == session["id"]
    assert mine["registration"]["position"] == 1
    assert harness.api.get("/v1/me/sessions", headers=member("m-1")).json()["items"] == []
    assert harness.api.delete(f"{url}/{regs['m-2']['id']}", headers=member("m-4")).status_code == 403


def test_registering_is_for_members_of_the_community_once_and_before_the_start(harness, clock):
    harness.community()
    harness.join("m-1")
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}/registrations"
    stranger = harness.api.post(url, json={}, headers=member("m-out"))
    assert stranger.status_code == 403
    on_behalf = harness.api.post(url, json={"member_id": "m-out"}, headers=auth())
    assert on_behalf.status_code == 422
    assert on_behalf.json()["errors"][0]["field"] == "member_id"
    assert harness.api.post(url, json={"member_id": "m-1"}, headers=member("m-2")).status_code == 403
    assert harness.api.post(url, json={}, headers=member("m-1")).status_code == 201
    again = harness.api.post(url, json={}, headers=member("m-1"))
    assert again.status_code == 409
    assert harness.api.post(url, json={"seat": 3}, headers=member("m-1")).status_code == 422
    harness.join("m-2")
    clock.advance(days=15)
    late = harness.api.post(url, json={}, headers=member("m-2"))
    assert late.status_code == 409
    assert "started" in late.json()["detail"]
    assert len(harness.published(CONFIRMED)) == 1


def test_a_manager_registers_a_member_on_their_behalf(harness):
    harness.community()
    harness.join("m-1")
    session = harness.schedule()
    response = harness.api.post(
        f"/v1/sessions/{session['id']}/registrations",
        json={"member_id": "m-1"},
        headers=auth("facilitator", communities=["c-1"]),
    )
    assert response.status_code == 201
    assert response.json()["member_id"] == "m-1"


def test_a_member_who_left_can_no_longer_register(harness):
    harness.community()
    membership = harness.join("m-1")
    harness.publish(
        registration.MembershipLeft(
            membership_id=membership, community_id="c-1", member_id="m-1", left_at=harness.clock.now
        )
    )
    session = harness.schedule()
    assert (
        harness.api.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=member("m-1")).status_code
        == 403
    )


def test_sessions_of_a_closed_community_cannot_be_scheduled(harness):
    harness.community()
    harness.publish(
        registration.CommunityStatusChanged(community_id="c-1", status="closed", changed_at=harness.clock.now)
    )
    body = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    assert harness.api.post("/v1/communities/c-1/sessions", json=body, headers=auth()).status_code == 409


def test_rescheduling_raises_the_sequence_and_capacity_cannot_drop_below_the_confirmed(harness):
    harness.community()
    for m in ("m-1", "m-2", "m-3"):
        harness.join(m)
    session = harness.schedule(capacity=2)
    url = f"/v1/sessions/{session['id']}"
    for m in ("m-1", "m-2", "m-3"):
        harness.api.post(f"{url}/registrations", json={}, headers=member(m))
    too_small = harness.api.patch(url, json={"capacity": 1}, headers=auth())
    assert too_small.status_code == 409
    assert too_small.json()["errors"][0]["field"] == "capacity"
    later = {"starts_at": "2026-09-20T13:00:00-04:00", "ends_at": "2026-09-20T16:00:00-04:00"}
    stale = harness.api.patch(url, json=later, headers={**auth(), "If-Match": 'W/"99"'})
    assert stale.status_code == 409
    current = harness.api.get(url, headers=auth()).headers["ETag"]
    moved = harness.api.patch(url, json={**later, "capacity": 3}, headers={**auth(), "If-Match": current})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "rescheduled"
    assert moved.json()["sequence"] == 1
    [event] = harness.payloads("org.cercle.sessions.session.rescheduled.v1")
    assert event["sequence"] == 1
    assert event["capacity"] == 3
    assert [e["member_id"] for e in harness.payloads(PROMOTED)] == ["m-3"]
    inverted = harness.api.patch(url, json={"ends_at": "2026-09-20T12:00:00-04:00"}, headers=auth())
    assert inverted.status_code == 422
    assert inverted.json()["errors"][0]["field"] == "ends_at"
    emptied = harness.api.patch(url, json={"title": None}, headers=auth())
    assert emptied.status_code == 422
    assert emptied.json()["errors"][0]["field"] == "title"
    past = harness.api.patch(url, json={"starts_at": "2026-08-20T12:00:00-04:00"}, headers=auth())
    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "starts_at"
    assert harness.api.patch(url, json={"link": None, "capacity": 4}, headers=auth()).status_code == 200


def test_a_cancelled_session_cannot_be_edited_nor_registered_to(harness):
    harness.community()
    harness.join("m-1")
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}"
    cancelled = harness.api.post(f"{url}/cancel", json={"reason": "tempête"}, headers=auth())
    assert cancelled.json()["status"] == "cancelled"
    assert harness.payloads("org.cercle.sessions.session.cancelled.v1")[0]["reason"] == "tempête"
    assert harness.api.patch(url, json={"title": "autre"}, headers=auth()).status_code == 409
    assert harness.api.post(f"{url}/registrations", json={}, headers=member("m-1")).status_code == 409


def test_attendance_after_the_session_with_counts_and_check_in(harness, clock):
    harness.community()
    for m in ("m-1", "m-2", "m-3"):
        harness.join(m)
    session = harness.schedule(capacity=5)
    url = f"/v1/sessions/{session['id']}"
    regs = {
        m: harness.api.post(f"{url}/registrations", json={}, headers=member(m)).json() for m in ("m-1", "m-2", "m-3")
    }
    early = harness.api.put(
        f"{url}/attendance", json={"records": [{"registration_id": regs["m-1"]["id"], "present": True}]}, headers=auth()
    )
    assert early.status_code == 409
    clock.advance(days=14, minutes=5)
    checked = harness.api.post(f"{url}/registrations/{regs['m-3']['id']}/check-in", headers=member("m-3"))
    assert checked.status_code == 200
    assert checked.json()["present"] == 1
    recorded = harness.api.put(
        f"{url}/attendance",
        json={
            "records": [
                {"registration_id": regs["m-1"]["id"], "present": True},
                {"registration_id": regs["m-2"]["id"], "present": False},
            ]
        },
        headers=auth("facilitator", communities=["c-1"]),
    )
    assert recorded.json() == {"session_id": session["id"], "confirmed": 3, "present": 2, "absent": 1, "unrecorded": 0}
    last = harness.payloads("org.cercle.sessions.attendance.recorded.v1")[-1]
    assert (last["present"], last["absent"], last["confirmed"]) == (2, 1, 3)
    assert (
        harness.api.put(
            f"{url}/attendance", json={"records": [{"registration_id": "nope", "present": True}]}, headers=auth()
        ).status_code
        == 422
    )
    held = harness.api.post(f"{url}/held", headers=auth())
    assert held.json()["status"] == "held"
    assert harness.payloads("org.cercle.sessions.session.held.v1")[0]["session_id"] == session["id"]


def test_drafts_are_announced_only_when_scheduled(harness):
    harness.community()
    harness.join("m-1")
    draft = harness.schedule(draft=True)
    assert draft["status"] == "draft"
    assert harness.published(SCHEDULED) == []
    assert harness.api.get("/v1/communities/c-1/sessions", headers=member("m-1")).json()["items"] == []
    assert harness.api.get(f"/v1/sessions/{draft['id']}", headers=member("m-1")).status_code == 404
    assert (
        harness.api.post(f"/v1/sessions/{draft['id']}/registrations", json={}, headers=member("m-1")).status_code == 404
    )
    assert harness.api.post(f"/v1/sessions/{draft['id']}/schedule", headers=auth()).json()["status"] == "scheduled"
    assert len(harness.published(SCHEDULED)) == 1


def test_erasure_keeps_the_counts_but_not_the_member(harness):
    harness.community()
    harness.join("m-1")
    harness.join("m-2")
    session = harness.schedule()
    for m in ("m-1", "m-2"):
        harness.api.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=member(m))
    # the session took place: its counts are history (her places in sessions ahead are given up: test_leaving.py)
    harness.advance(days=15)
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=harness.clock.now))
    listed = harness.api.get(f"/v1/sessions/{session['id']}/registrations", headers=auth()).json()["items"]
    assert len(listed) == 2
    assert "m-1" not in {r["member_id"] for r in listed}
    assert harness.api.get(f"/v1/sessions/{session['id']}", headers=auth()).json()["confirmed"] == 2
    harness.join("m-1")  # a late membership event must not bring the member back
    assert (
        harness.api.post(f"/v1/sessions/{session['id']}/registrations", json={}, headers=member("m-1")).status_code
        == 403
    )


def test_co_facilitators_are_members_and_the_theme_belongs_to_the_community(harness):
    harness.community()
    harness.join("m-1")
    body = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    url = "/v1/communities/c-1/sessions"
    stranger = harness.api.post(url, json={**body, "co_facilitators": ["m-1", "m-9"]}, headers=auth())
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "co_facilitators"
    unknown_theme = harness.api.post(url, json={**body, "theme_id": "t-nope"}, headers=auth())
    assert unknown_theme.status_code == 422
    assert unknown_theme.json()["errors"][0]["field"] == "theme_id"
    created = harness.api.post(url, json={**body, "co_facilitators": ["m-1"]}, headers=auth())
    assert created.status_code == 201
    assert created.json()["co_facilitators"] == ["m-1"]


def test_the_replica_follows_role_changes_and_community_updates(harness):
    harness.community(regions=["13"])
    membership = harness.join("m-1")
    body = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    url = "/v1/communities/c-1/sessions"
    assert harness.api.post(url, json=body, headers=member("m-1")).status_code == 403
    harness.publish(
        registration.MembershipRoleChanged(
            membership_id=membership,
            community_id="c-1",
            member_id="m-1",
            role="facilitator",
            changed_at=harness.clock.now,
        )
    )
    assert harness.api.post(url, json=body, headers=member("m-1")).status_code == 201
    harness.publish(
        registration.CommunityUpdated(
            community_id="c-1",
            name_fr="CoP Laval-Laurentides",
            name_en="Laval-Laurentians CoP",
            kind="community_of_practice",
            regions=["13", "15"],
            cadence=8,
            status="active",
            updated_at=harness.clock.now,
        )
    )
    assert harness.api.post(url, json=body, headers=auth("coordinator", regions=["15"])).status_code == 201
