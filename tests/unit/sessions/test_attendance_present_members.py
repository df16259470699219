"""Attendance names the members marked present (issue 11), so that insights can ask them for their feedback."""

from cercle_shared.contracts import registration
from tests.support.services import auth

ATTENDANCE = "org.cercle.sessions.attendance.recorded.v1"


def member(member_id):
    return auth("member", member_id=member_id)


def test_attendance_lists_the_members_marked_present_and_not_the_absent_or_waitlisted(harness, clock):
    harness.community()
    for m in ("m-1", "m-2", "m-3", "m-4"):
        harness.join(m)
    session = harness.schedule(capacity=3)
    url = f"/v1/sessions/{session['id']}"
    regs = {
        m: harness.api.post(f"{url}/registrations", json={}, headers=member(m)).json() for m in ("m-3", "m-1", "m-2")
    }
    assert harness.api.post(f"{url}/registrations", json={}, headers=member("m-4")).json()["status"] == "waitlisted"
    clock.advance(days=14, minutes=5)

    recorded = harness.api.put(
        f"{url}/attendance",
        json={
            "records": [
                {"registration_id": regs["m-3"]["id"], "present": True},
                {"registration_id": regs["m-1"]["id"], "present": True},
                {"registration_id": regs["m-2"]["id"], "present": False},
            ]
        },
        headers=auth("facilitator", communities=["c-1"]),
    )

    assert recorded.status_code == 200, recorded.text
    last = harness.payloads(ATTENDANCE)[-1]
    assert last["present_member_ids"] == ["m-1", "m-3"]
    assert last["present"] == 2


def test_a_check_in_adds_her_and_an_erased_member_is_never_named(harness, clock):
    harness.community()
    for m in ("m-1", "m-2"):
        harness.join(m)
    session = harness.schedule(capacity=5)
    url = f"/v1/sessions/{session['id']}"
    regs = {m: harness.api.post(f"{url}/registrations", json={}, headers=member(m)).json() for m in ("m-1", "m-2")}
    clock.advance(days=14, minutes=5)
    assert (
        harness.api.post(f"{url}/registrations/{regs['m-2']['id']}/check-in", headers=member("m-2")).status_code == 200
    )
    assert harness.payloads(ATTENDANCE)[-1]["present_member_ids"] == ["m-2"]

    harness.api.put(
        f"{url}/attendance",
        json={"records": [{"registration_id": regs["m-1"]["id"], "present": True}]},
        headers=auth("facilitator", communities=["c-1"]),
    )
    assert harness.payloads(ATTENDANCE)[-1]["present_member_ids"] == ["m-1", "m-2"]

    harness.publish(registration.MemberErased(member_id="m-1", erased_at=clock.now), source="/cercle/registration")
    harness.api.put(
        f"{url}/attendance",
        json={"records": [{"registration_id": regs["m-2"]["id"], "present": True}]},
        headers=auth("facilitator", communities=["c-1"]),
    )
    last = harness.payloads(ATTENDANCE)[-1]
    assert last["present"] == 2
    assert last["present_member_ids"] == ["m-2"]
