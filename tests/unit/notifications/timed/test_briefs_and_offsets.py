"""The facilitators' brief the day before, and a community's reminder offsets set over HTTP."""

from __future__ import annotations

from datetime import timedelta

from cercle_notifications.domain.timed import TimedStatus
from cercle_shared.contracts import registration as reg

from .conftest import local

SESSION = local(2026, 9, 15, 18)
ONE_DAY = local(2026, 9, 14, 18)


def test_the_facilitator_gets_a_brief_the_day_before_with_confirmed_waitlisted_first_timers_and_guests(world):
    facilitator, facilitator_email = world.person(name="Fatima Facilitatrice", language="en")
    world.join(facilitator, "facilitator")
    regular, _ = world.person(name="Rémi Régulier")
    newcomer, _ = world.person(name="Nadia Nouvelle")
    guest, _ = world.person(name="Gilles Invité")
    waiting, _ = world.person(name="Wendy Waiting")
    for member in (regular, newcomer, waiting):
        world.join(member)
    earlier = world.schedule(local(2026, 9, 3, 18))
    world.confirm(regular, earlier)
    session = world.schedule(SESSION)
    for member in (regular, newcomer, guest):
        world.confirm(member, session)
    world.waitlist(waiting, session)

    world.run_until(ONE_DAY - timedelta(minutes=1))
    assert world.inbox(facilitator_email, "Tomorrow") == []
    world.run_until(ONE_DAY)
    [brief] = world.inbox(facilitator_email, "Tomorrow")
    assert brief["Subject"] == "Tomorrow: Nature et santé mentale (3 registered)"
    text = brief.get_body(("plain",)).get_content()
    confirmed = text.split("Confirmed (3):")[1].split("Waitlist")[0]
    assert [line.strip("- ").strip() for line in confirmed.strip().splitlines()] == [
        "Gilles Invité",
        "Nadia Nouvelle",
        "Rémi Régulier",
    ]
    assert "Waitlist (1):\n- Wendy Waiting" in text
    assert "First time (2):\n- Gilles Invité\n- Nadia Nouvelle\n" in text
    assert "Guests, not members of the community (1):\n- Gilles Invité" in text
    html = brief.get_body(("html",)).get_content()
    assert "<li>Wendy Waiting</li>" in html


def test_someone_who_stops_facilitating_gets_no_brief_and_a_new_facilitator_does(world, h):
    former, former_email = world.person(name="Ancien")
    session = world.schedule(SESSION)
    membership = world.join(former, "facilitator")
    assert [m.kind for m in world.timed(former)] == ["facilitator_brief"]
    h.publish(
        reg.MembershipRoleChanged(
            membership_id=membership,
            community_id=world.community_id,
            member_id=former,
            role="participant",
            changed_at=h.clock.now,
        )
    )
    assert [m.status for m in world.timed(former)] == [TimedStatus.CANCELLED]
    newer, newer_email = world.person(name="Nouvelle")
    world.join(newer, "facilitator")
    world.run_until(ONE_DAY)
    assert world.inbox(former_email) == []
    assert len(world.inbox(newer_email, "Demain")) == 1
    assert session


def test_a_coordinator_of_the_communitys_region_changes_its_offsets_and_planned_reminders_follow(world, h):
    member, email = world.person(language="en")
    session = world.schedule(SESSION)
    world.confirm(member, session)
    url = f"/v1/communities/{world.community_id}/reminders"

    got = h.api.get(url, headers=h.as_coordinator("13"))
    assert (got.status_code, got.json()["offsets"], got.json()["updated_by"]) == (200, ["P7D", "P1D"], None)
    put = h.api.put(url, json={"offsets": ["PT2H", "P3D"]}, headers=h.as_coordinator("13"))
    assert put.status_code == 200, put.text
    assert put.json()["offsets"] == ["P3D", "PT2H"]

    planned = [(m.offset, m.due_at) for m in world.timed(member) if m.status == TimedStatus.PLANNED]
    assert sorted(planned) == [("P3D", local(2026, 9, 12, 18)), ("PT2H", local(2026, 9, 15, 16))]
    world.run_until(local(2026, 9, 15, 16))
    assert sorted(m["Subject"] for m in world.inbox(email, "Reminder")) == [
        "Reminder: Nature et santé mentale, in 2 hours",
        "Reminder: Nature et santé mentale, in 3 days",
    ]


def test_offsets_are_refused_to_others_and_bad_ones_name_the_field(world, h):
    url = f"/v1/communities/{world.community_id}/reminders"
    member, _ = world.person()
    assert h.api.put(url, json={"offsets": ["P1D"]}, headers=h.as_member(member)).status_code == 403
    assert h.api.put(url, json={"offsets": ["P1D"]}, headers=h.as_coordinator("06")).status_code == 403
    assert h.api.get(url).status_code == 401
    for body in ({"offsets": ["PT5M"]}, {"offsets": ["P1D", "P1D"]}, {"offsets": ["P90D"]}, {"offsets": ["nope"]}):
        response = h.api.put(url, json=body, headers=h.as_operator())
        assert response.status_code in (400, 422), (body, response.text)
        assert "offsets" in response.text
    unknown = h.api.get("/v1/communities/nope/reminders", headers=h.as_operator())
    assert unknown.status_code == 404
