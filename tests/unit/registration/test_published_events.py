"""What each use case writes to the outbox, in order: the translation of the aggregates' domain events."""

import json

from tests.support.services import auth

from .conftest import OPERATOR


def short(rows) -> list[str]:
    return [".".join(r["type"].split(".")[3:5]) if r["type"] else f"tombstone:{r['topic']}" for r in rows]


def test_registering_publishes_registered_then_every_consent_then_the_contact(h, register):
    member = register(consents={"processing": True, "directory": True})
    rows = h.published()
    assert short(rows) == ["member.registered"] + ["member.consent_changed"] * 4 + ["member.contact_changed"]
    assert [(r["data"]["purpose"], r["data"]["granted"]) for r in rows[1:5]] == [
        ("processing", True),
        ("directory", True),
        ("email", True),  # the HTTP default
        ("surveys", False),
    ]
    assert {r["key"] for r in rows} == {member["id"]}
    assert rows[-1]["data"]["consents"] == {"processing": True, "directory": True, "email": True, "surveys": False}


def test_a_profile_and_consent_change_publishes_profile_then_consents_then_one_contact(h, api, register):
    member = register()
    before = len(h.published())
    response = api.patch(
        "/v1/members/me",
        json={"region": "13", "display_name": "Marie T.", "consents": {"surveys": True}, "version": 1},
        headers=auth("member", member_id=member["id"]),
    )
    assert response.status_code == 200, response.text
    rows = h.published()[before:]
    assert short(rows) == ["member.profile_updated", "member.consent_changed", "member.contact_changed"]
    assert rows[0]["data"]["region"] == "13"
    assert rows[2]["data"]["display_name"] == "Marie T."
    assert rows[2]["data"]["consents"]["surveys"] is True


def test_a_job_title_change_publishes_nothing(h, api, register):
    member = register()
    before = len(h.published())
    response = api.patch(f"/v1/members/{member['id']}", json={"job_title": "CRHA", "version": 1}, headers=OPERATOR)
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert h.published()[before:] == []


def test_a_name_change_publishes_only_the_contact(h, api, register):
    member = register()
    before = len(h.published())
    response = api.patch(f"/v1/members/{member['id']}", json={"display_name": "M. T.", "version": 1}, headers=OPERATOR)
    assert response.status_code == 200
    assert short(h.published()[before:]) == ["member.contact_changed"]


def test_an_unchanged_update_publishes_nothing_and_keeps_the_version(h, api, register, found):
    member, community = register(), found()
    before = len(h.published())
    same = api.patch(f"/v1/members/{member['id']}", json={"language": "fr", "version": 1}, headers=OPERATOR)
    assert same.json()["version"] == 1
    same = api.patch(f"/v1/communities/{community['id']}", json={"cadence": 6, "version": 1}, headers=OPERATOR)
    assert same.json()["version"] == 1
    assert h.published()[before:] == []


def test_erasure_publishes_erased_then_a_tombstone_on_the_contacts_topic(h, api, register, found):
    member, community = register(), found()
    api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR)
    assert api.delete(f"/v1/members/{member['id']}", headers=OPERATOR).status_code == 204
    rows = h.published()[-2:]
    assert short(rows) == ["member.erased", "tombstone:cercle.registration.member-contacts"]
    assert [r["key"] for r in rows] == [member["id"], member["id"]]


def test_erasure_leaves_no_contact_of_the_member_in_the_outbox(h, api, register):
    member = register(display_name="Ana Erased", email="ana.erased@example.org")
    other = register(email="bruno@example.org")
    assert [r["type"] for r in h.published() if r["type"] and "contact_changed" in r["type"]]
    assert api.delete(f"/v1/members/{member['id']}", headers=OPERATOR).status_code == 204
    contacts = [r for r in h.published() if r["topic"] == "cercle.registration.member-contacts"]
    assert [r["data"] for r in contacts if r["key"] == member["id"]] == [None]  # the tombstone alone
    assert any(r["key"] == other["id"] and r["data"] for r in contacts)  # others' contacts untouched
    assert "ana.erased@example.org" not in json.dumps(h.published())


def test_an_import_publishes_each_row_in_file_order(h, api, found):
    community = found()
    before = len(h.published())
    text = (
        "email,display_name,consent_processing,region,communities\n"
        f"a@example.org,Alice,yes,06,{community['id']}\n"
        "b@example.org,Bruno,yes,06,\n"
    )
    response = api.post("/v1/members/import", content=text, headers={**OPERATOR, "Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    per_member = ["member.registered"] + ["member.consent_changed"] * 4 + ["member.contact_changed"]
    assert short(h.published()[before:]) == [*per_member, "membership.joined", *per_member]
