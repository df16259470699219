from tests.support.services import auth

from .conftest import OPERATOR, member_body

COORD_06 = auth("coordinator", regions=["06"])
COORD_03 = auth("coordinator", regions=["03"])


def test_registering_publishes_registered_consents_and_contact_through_the_outbox(h, api, db, register):
    member = register(expertise=["Ergonomie"])
    types = [e["type"].split(".")[3:5] for e in h.published()]
    assert ["member", "registered"] in types
    assert ["member", "contact_changed"] in types
    assert len(h.published("member.consent_changed")) == 4
    (contact,) = h.published("member.contact_changed")
    assert contact["topic"] == "cercle.registration.member-contacts"
    assert contact["data"]["email"] == "marie@example.org"
    assert db.count("consent_changes", "member_id = :m", m=member["id"]) == 4


def test_duplicate_email_is_a_409_whatever_its_case(api, register, db):
    register("marie@example.org")
    response = api.post("/v1/members", json=member_body("MARIE@Example.org"), headers=OPERATOR)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "email"
    assert db.count("members") == 1


def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(api, db):
    cases = {
        "email": member_body("not-an-email"),
        "region": member_body(region="42"),
        "nickname": {**member_body(), "nickname": "Mimi"},
        "consents.processing": member_body(consents={"processing": False}),
    }
    for field, body in cases.items():
        response = api.post("/v1/members", json=body, headers=OPERATOR)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert db.count("members") == 0
    assert db.count("outbox") == 0


def test_a_disabled_region_is_unknown_to_this_deployment(make_api):
    api = make_api(enabled_regions="06,13")
    assert [r["code"] for r in api.get("/v1/regions", headers=OPERATOR).json()] == ["06", "13"]
    response = api.post("/v1/members", json=member_body(region="03"), headers=OPERATOR)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "region"


def test_regions_lists_the_17_with_french_and_english_names(api):
    regions = api.get("/v1/regions", headers=auth("member", member_id="m1")).json()
    assert len(regions) == 17
    assert {"code": "05", "name_fr": "Estrie", "name_en": "Eastern Townships"} in regions


def test_partners_get_403_everywhere_here(api, register):
    member = register()
    partner = auth("partner", organization_id="o1")
    for path in ("/v1/regions", "/v1/members", f"/v1/members/{member['id']}", "/v1/communities", "/v1/organizations"):
        assert api.get(path, headers=partner).status_code == 403, path


def test_a_member_reads_and_updates_their_own_profile_and_consents(h, api, db, register):
    member = register()
    me = auth("member", member_id=member["id"])
    read = api.get("/v1/members/me", headers=me)
    assert read.status_code == 200
    assert read.headers["etag"] == 'W/"1"'
    updated = api.patch(
        "/v1/members/me",
        json={"job_title": "Conseillère SST", "language": "en", "consents": {"directory": True, "email": False}},
        headers={**me, "If-Match": read.headers["etag"]},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["job_title"] == "Conseillère SST"
    assert body["version"] == 2
    assert body["consents"] == {"processing": True, "directory": True, "email": False, "surveys": False}
    consent_events = [e["data"] for e in h.published("member.consent_changed")][4:]
    assert {(e["purpose"], e["granted"]) for e in consent_events} == {("directory", True), ("email", False)}
    assert h.published("member.profile_updated")[-1]["data"]["language"] == "en"
    assert h.published("member.contact_changed")[-1]["data"]["consents"]["email"] is False
    assert db.count("consent_changes", "member_id = :m", m=member["id"]) == 6


def test_another_member_cannot_read_or_change_me(api, register):
    member = register()
    other = auth("member", member_id="someone-else")
    assert api.get(f"/v1/members/{member['id']}", headers=other).status_code == 403
    assert (
        api.patch(f"/v1/members/{member['id']}", json={"job_title": "x", "version": 1}, headers=other).status_code
        == 403
    )


def test_a_stale_update_is_a_409_and_a_missing_version_a_428(api, register):
    member = register()
    path = f"/v1/members/{member['id']}"
    assert api.patch(path, json={"job_title": "A", "version": 1}, headers=OPERATOR).status_code == 200
    stale = api.patch(path, json={"job_title": "B"}, headers={**OPERATOR, "If-Match": 'W/"1"'})
    assert stale.status_code == 409
    assert stale.json()["title"] == "Stale version"
    assert api.patch(path, json={"job_title": "B"}, headers=OPERATOR).status_code == 428
    assert api.get(path, headers=OPERATOR).json()["job_title"] == "A"


def test_changing_email_to_one_already_taken_is_a_409(api, register):
    register("a@example.org")
    b = register("b@example.org")
    response = api.patch(f"/v1/members/{b['id']}", json={"email": "A@example.org", "version": 1}, headers=OPERATOR)
    assert response.status_code == 409


def test_withdrawing_consent_to_processing_is_refused(api, register):
    member = register()
    response = api.patch(
        "/v1/members/me",
        json={"consents": {"processing": False}, "version": 1},
        headers=auth("member", member_id=member["id"]),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "consents.processing"


def test_only_the_member_or_an_operator_changes_consents(api, register):
    member = register()
    response = api.patch(
        f"/v1/members/{member['id']}", json={"consents": {"surveys": True}, "version": 1}, headers=COORD_06
    )
    assert response.status_code == 403


def test_coordinator_of_06_neither_reads_nor_changes_members_of_03(api, register):
    in_03 = register("q@example.org", region="03")
    in_06 = register("m@example.org", region="06")
    assert api.get(f"/v1/members/{in_03['id']}", headers=COORD_06).status_code == 403
    assert (
        api.patch(f"/v1/members/{in_03['id']}", json={"job_title": "x", "version": 1}, headers=COORD_06).status_code
        == 403
    )
    assert api.get("/v1/members?region=03", headers=COORD_06).status_code == 403
    listed = api.get("/v1/members", headers=COORD_06).json()["items"]
    assert [m["id"] for m in listed] == [in_06["id"]]
    moved = api.patch(f"/v1/members/{in_06['id']}", json={"region": "03", "version": 1}, headers=COORD_06)
    assert moved.status_code == 403
    assert api.post("/v1/members", json=member_body("n@example.org", region="03"), headers=COORD_06).status_code == 403
    csv_text = api.get("/v1/members/export", headers=COORD_06).text
    assert "m@example.org" in csv_text
    assert "q@example.org" not in csv_text
    assert api.get("/v1/members/export?region=03", headers=COORD_06).status_code == 403


def test_members_list_is_paginated_filtered_and_sorted(api, register):
    for i, name in enumerate(["Chloé", "Alice", "Béatrice", "Denis"]):
        register(f"p{i}@example.org", display_name=name, expertise=["ergonomie"] if i % 2 else ["sst"])
    first = api.get("/v1/members?limit=3", headers=OPERATOR).json()
    assert [m["display_name"] for m in first["items"]] == ["Alice", "Béatrice", "Chloé"]
    rest = api.get(f"/v1/members?limit=3&cursor={first['next_cursor']}", headers=OPERATOR).json()
    assert [m["display_name"] for m in rest["items"]] == ["Denis"]
    assert rest["next_cursor"] is None
    desc = api.get("/v1/members?sort=-display_name", headers=OPERATOR).json()["items"]
    assert desc[0]["display_name"] == "Denis"
    ergo = api.get("/v1/members?expertise=Ergonomie", headers=OPERATOR).json()["items"]
    assert sorted(m["display_name"] for m in ergo) == ["Alice", "Denis"]
    assert api.get("/v1/members?sort=email", headers=OPERATOR).status_code == 422
    assert api.get("/v1/members?cursor=garbage", headers=OPERATOR).status_code == 422


def test_a_member_downloads_everything_held_about_them(api, register, found):
    member = register()
    community = found()
    me = auth("member", member_id=member["id"])
    api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=me)
    api.delete(f"/v1/communities/{community['id']}/memberships/{member['id']}", headers=me)
    api.patch("/v1/members/me", json={"consents": {"surveys": True}, "version": 1}, headers=me)
    export = api.get("/v1/members/me/export", headers=me)
    assert export.status_code == 200
    data = export.json()
    assert data["profile"]["email"] == "marie@example.org"
    assert [c["purpose"] for c in data["consent_history"]][-1] == "surveys"
    assert data["memberships"][0]["left_at"] is not None
    assert data["memberships"][0]["community_name_fr"] == "CoP Montréal"
    assert api.get(f"/v1/members/{member['id']}/export", headers=COORD_06).status_code == 403


def test_erasure_deletes_the_pii_and_publishes_erased_then_a_contact_tombstone(h, api, db, register, found):
    member = register()
    community = found()
    api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR)
    assert api.delete(f"/v1/members/{member['id']}", headers=COORD_06).status_code == 403
    response = api.post(f"/v1/members/{member['id']}/erasure", headers=auth("member", member_id=member["id"]))
    assert response.status_code == 204
    assert db.count("members") == 0
    assert db.count("consent_changes") == 0
    assert db.count("memberships") == 0
    events = h.published()
    erased = [e for e in events if e["type"] == "org.cercle.registration.member.erased.v1"]
    assert erased
    assert erased[0]["key"] == member["id"]
    tombstone = events[-1]
    assert tombstone["topic"] == "cercle.registration.member-contacts"
    assert tombstone["key"] == member["id"]
    assert tombstone["data"] is None
    assert api.delete(f"/v1/members/{member['id']}", headers=OPERATOR).status_code == 404


def test_the_region_csv_export_keeps_formulas_inert(api, register):
    register(display_name='=HYPERLINK("http://evil")')
    lines = api.get("/v1/members/export?region=06", headers=OPERATOR).text.splitlines()
    assert lines[0].startswith("id,display_name,email")
    assert "'=HYPERLINK" in lines[1]
    assert api.get("/v1/members/export", headers=OPERATOR).status_code == 422
    assert api.get("/v1/members/export", headers=auth("facilitator", communities=["c"])).status_code == 403
