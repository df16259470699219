"""Rosters with names for the people who run a session, from a replica of registration's contacts topic; CSV
exports of registrations and attendance (issue 8: item 14)."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from cercle_sessions.adapters import orm
from cercle_shared.contracts import registration, topics
from cercle_shared.messaging import Record
from tests.support.services import auth

FACILITATOR = auth("facilitator", communities=["c-1"])
NAMES = {"m-1": "Ana Lopez", "m-2": '=HYPERLINK("https://evil.example","clic")', "m-3": "Luc Martin"}


def member(member_id):
    return auth("member", member_id=member_id)


def _contact(harness, member_id, name, **extra):
    harness.publish(
        registration.MemberContactChanged(
            member_id=member_id,
            email=f"{member_id}@example.org",
            display_name=name,
            language="fr",
            consents={"processing": True},
            updated_at=extra.pop("updated_at", harness.clock.now),
        )
    )


def _tombstone(harness, member_id):
    harness._offset += 1
    record = Record(
        topic=topics.MEMBER_CONTACTS.name,
        partition=0,
        offset=10_000 + harness._offset,
        key=member_id.encode(),
        value=None,
        headers={},
    )
    assert harness.runtime.messaging.consumer.apply_now(record)


@pytest.fixture
def community(harness, clock):
    harness.community("c-1", regions=["13"])
    for m, name in NAMES.items():
        harness.join(m)
        _contact(harness, m, name)
    first = harness.schedule(title="Nature", capacity=2)
    second = harness.schedule(
        title="Télétravail",
        capacity=5,
        starts_at=(clock.now + timedelta(days=20)).isoformat(),
        ends_at=(clock.now + timedelta(days=20, hours=2)).isoformat(),
    )
    regs = {}
    for m in ("m-1", "m-2", "m-3"):
        regs[m] = harness.api.post(f"/v1/sessions/{first['id']}/registrations", json={}, headers=member(m)).json()
    harness.api.post(f"/v1/sessions/{second['id']}/registrations", json={}, headers=member("m-3"))
    clock.advance(days=14, minutes=10)
    harness.api.put(
        f"/v1/sessions/{first['id']}/attendance",
        json={
            "records": [
                {"registration_id": regs["m-1"]["id"], "present": True},
                {"registration_id": regs["m-2"]["id"], "present": False},
            ]
        },
        headers=FACILITATOR,
    )
    return {"first": first, "second": second, "regs": regs}


def test_a_facilitator_reads_the_roster_of_a_session_with_names(harness, community):
    first = community["first"]
    response = harness.api.get(f"/v1/sessions/{first['id']}/roster", headers=FACILITATOR)
    assert response.status_code == 200, response.text
    rows = response.json()["items"]
    assert [(r["member_id"], r["display_name"], r["status"], r["position"], r["attendance"]) for r in rows] == [
        ("m-1", "Ana Lopez", "confirmed", None, "present"),
        ("m-2", NAMES["m-2"], "confirmed", None, "absent"),
        ("m-3", "Luc Martin", "waitlisted", 1, None),
    ]
    assert "email" not in rows[0]
    assert "@example.org" not in response.text
    paged = harness.api.get(f"/v1/sessions/{first['id']}/roster", params={"limit": 2}, headers=FACILITATOR).json()
    assert len(paged["items"]) == 2
    rest = harness.api.get(
        f"/v1/sessions/{first['id']}/roster", params={"cursor": paged["next_cursor"]}, headers=FACILITATOR
    ).json()
    assert [r["member_id"] for r in rest["items"]] == ["m-3"]


def test_the_community_roster_lists_every_registration_of_its_sessions(harness, community):
    response = harness.api.get("/v1/communities/c-1/roster", headers=auth("coordinator", regions=["13"]))
    assert response.status_code == 200, response.text
    rows = response.json()["items"]
    assert len(rows) == 4
    assert {(r["session_id"], r["display_name"]) for r in rows} >= {
        (community["second"]["id"], "Luc Martin"),
        (community["first"]["id"], "Ana Lopez"),
    }
    assert all("session_title" in r for r in rows)


@pytest.mark.parametrize(
    "headers",
    [
        member("m-1"),
        auth("partner", organization_id="o-1"),
        auth("coordinator", regions=["06"]),
        auth("facilitator", communities=["c-other"]),
    ],
)
def test_members_partners_and_others_never_see_the_names(harness, community, headers):
    first = community["first"]
    for path in (
        f"/v1/sessions/{first['id']}/roster",
        f"/v1/sessions/{first['id']}/roster.csv",
        "/v1/communities/c-1/roster",
        "/v1/communities/c-1/roster.csv",
    ):
        response = harness.api.get(path, headers=headers)
        assert response.status_code == 403, (path, response.status_code)
        assert "Ana Lopez" not in response.text
    registrations = harness.api.get(f"/v1/sessions/{first['id']}/registrations", headers=headers)
    assert "Ana Lopez" not in registrations.text


def _csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_of_a_session_and_of_a_community_with_attendance_and_formula_safe_cells(harness, community):
    first = community["first"]
    rows = _csv(harness.api.get(f"/v1/sessions/{first['id']}/roster.csv", headers=FACILITATOR))
    assert [(r["member_id"], r["display_name"], r["status"], r["attendance"]) for r in rows] == [
        ("m-1", "Ana Lopez", "confirmed", "present"),
        ("m-2", "'" + NAMES["m-2"], "confirmed", "absent"),  # a formula stays text in a spreadsheet
        ("m-3", "Luc Martin", "waitlisted", ""),
    ]
    assert {"session_id", "session_title", "starts_at", "position", "registered_at", "checked_in_at"} <= set(rows[0])
    everything = _csv(harness.api.get("/v1/communities/c-1/roster.csv", headers=auth()))
    assert len(everything) == 4
    assert [r["session_title"] for r in everything] == ["Nature", "Nature", "Nature", "Télétravail"]


def test_names_follow_the_contacts_topic_and_go_with_a_tombstone_or_an_erasure(harness, community):
    first = community["first"]

    def names():
        rows = harness.api.get(f"/v1/sessions/{first['id']}/roster", headers=FACILITATOR).json()["items"]
        return {r["member_id"]: r["display_name"] for r in rows}

    _contact(harness, "m-1", "Ana López-Roy")
    assert names()["m-1"] == "Ana López-Roy"
    _tombstone(harness, "m-3")
    assert names()["m-3"] is None
    harness.publish(registration.MemberErased(member_id="m-1", erased_at=harness.clock.now))
    _contact(harness, "m-1", "Ana López-Roy")  # a late contact event after the erasure is dropped
    assert "Ana" not in str(names())
    with harness.runtime.db_factory() as db:
        stored = db.execute(select(orm.member_contacts)).all()
    assert {row.member_id for row in stored} == {"m-2"}
    assert all("example.org" not in str(tuple(row)) for row in stored)  # no email is kept
