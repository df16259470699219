import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.services import auth

from .conftest import OPERATOR

COORD_06 = auth("coordinator", regions=["06"])


def test_coordinators_create_communities_in_their_regions_only(api, found):
    assert (
        api.post(
            "/v1/communities", json={"name_fr": "a", "name_en": "a", "regions": ["03"]}, headers=COORD_06
        ).status_code
        == 403
    )
    assert (
        api.post(
            "/v1/communities", json={"name_fr": "a", "name_en": "a", "province_wide": True}, headers=COORD_06
        ).status_code
        == 403
    )
    created = found(headers=COORD_06, cadence=8, kind="co_development_group")
    assert (created["status"], created["cadence"], created["kind"]) == ("active", 8, "co_development_group")
    assert found(regions=[], province_wide=True)["province_wide"]


def test_a_community_is_updated_with_its_version_and_publishes_updated(h, api, found):
    community = found()
    path = f"/v1/communities/{community['id']}"
    etag = api.get(path, headers=OPERATOR).headers["etag"]
    updated = api.patch(
        path, json={"description_fr": "Échanges entre pairs", "cadence": 10}, headers={**COORD_06, "If-Match": etag}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["cadence"] == 10
    assert updated.json()["version"] == 2
    assert h.published("community.updated")[-1]["data"]["cadence"] == 10
    assert api.patch(path, json={"cadence": 5, "version": 1}, headers=COORD_06).status_code == 409
    assert api.patch(path, json={"regions": ["03"], "version": 2}, headers=COORD_06).status_code == 403
    assert api.patch(path, json={"cadence": None, "version": 2}, headers=COORD_06).status_code == 422
    assert api.patch(path, json={"colour": "blue", "version": 2}, headers=COORD_06).status_code == 422


def test_status_changes_publish_and_a_closed_community_takes_no_new_members(h, api, db, register, found):
    community = found()
    member = register()
    status_path = f"/v1/communities/{community['id']}/status"
    facilitator = auth("facilitator", communities=[community["id"]])
    assert api.post(status_path, json={"status": "paused", "version": 1}, headers=facilitator).status_code == 403
    closed = api.post(status_path, json={"status": "closed", "version": 1}, headers=COORD_06)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert h.published("community.status_changed")[-1]["data"]["status"] == "closed"
    joined = api.post(
        f"/v1/communities/{community['id']}/memberships",
        json={"member_id": member["id"]},
        headers=auth("member", member_id=member["id"]),
    )
    assert joined.status_code == 409
    assert db.count("memberships") == 0
    reopened = api.post(status_path, json={"status": "active", "version": 2}, headers=COORD_06)
    assert reopened.status_code == 409


def test_join_leave_and_rejoin_keep_the_tenure_history(h, api, register, found):
    community, member = found(), register()
    me = auth("member", member_id=member["id"])
    base = f"/v1/communities/{community['id']}/memberships"
    assert api.post(base, json={"member_id": member["id"]}, headers=me).status_code == 201
    assert api.post(base, json={"member_id": member["id"]}, headers=me).status_code == 409
    assert api.post(base, json={"member_id": member["id"], "role": "coordinator"}, headers=me).status_code == 403
    h.advance(days=30)
    assert api.delete(f"{base}/{member['id']}", headers=me).status_code == 200
    assert api.delete(f"{base}/{member['id']}", headers=me).status_code == 409
    h.advance(days=30)
    assert api.post(base, json={"member_id": member["id"]}, headers=me).status_code == 201
    history = api.get(f"/v1/members/{member['id']}/memberships", headers=me).json()["items"]
    assert [m["left_at"] is None for m in history] == [False, True]
    assert [e["type"].rsplit(".", 2)[-2] for e in h.published() if ".membership." in e["type"]] == [
        "joined",
        "left",
        "joined",
    ]
    current = api.get(f"{base}?active=true", headers=COORD_06).json()["items"]
    assert len(current) == 1
    assert api.get(base, headers=me).status_code == 403


def test_leaving_a_community_never_joined_is_a_404(api, register, found):
    community, member = found(), register()
    response = api.delete(f"/v1/communities/{community['id']}/memberships/{member['id']}", headers=OPERATOR)
    assert response.status_code == 404


def test_managers_change_roles_with_a_version_and_facilitators_are_listed(h, api, register, found):
    community, member = found(), register()
    base = f"/v1/communities/{community['id']}/memberships"
    api.post(base, json={"member_id": member["id"]}, headers=OPERATOR)
    facilitator = auth("facilitator", communities=[community["id"]])
    changed = api.patch(f"{base}/{member['id']}", json={"role": "facilitator", "version": 1}, headers=facilitator)
    assert changed.status_code == 200
    assert changed.json()["role"] == "facilitator"
    assert h.published("membership.role_changed")[-1]["data"]["role"] == "facilitator"
    assert (
        api.patch(f"{base}/{member['id']}", json={"role": "participant", "version": 1}, headers=facilitator).status_code
        == 409
    )
    assert (
        api.patch(
            f"{base}/{member['id']}",
            json={"role": "participant", "version": 2},
            headers=auth("facilitator", communities=["another"]),
        ).status_code
        == 403
    )
    assert api.get(f"/v1/communities/{community['id']}", headers=OPERATOR).json()["facilitators"] == [member["id"]]


def test_communities_are_listed_filtered_by_region_and_status(api, found):
    laval = found(name_fr="CoP Laval", regions=["13"])
    found(name_fr="CoP Montréal", regions=["06"])
    anyone = auth("member", member_id="m")
    items = api.get("/v1/communities?region=13", headers=anyone).json()["items"]
    assert [c["id"] for c in items] == [laval["id"]]
    assert api.get("/v1/communities?status=closed", headers=anyone).json()["items"] == []
    assert api.get("/v1/communities?status=gone", headers=anyone).status_code == 422


def test_the_directory_shows_consenting_current_members_to_peers_and_managers(api, register, found):
    community = found()
    org = api.post("/v1/organizations", json={"name": "CISSS de Laval", "region": "13"}, headers=OPERATOR).json()
    listed = register(
        "a@example.org",
        display_name="Alice",
        organization_id=org["id"],
        expertise=["ergonomie"],
        consents={"processing": True, "directory": True},
    )
    hidden = register("b@example.org", display_name="Bruno", consents={"processing": True, "directory": False})
    other = register(
        "c@example.org", display_name="Chloé", expertise=["sst"], consents={"processing": True, "directory": True}
    )
    outsider = register("d@example.org")
    base = f"/v1/communities/{community['id']}"
    for m in (listed, hidden, other):
        api.post(f"{base}/memberships", json={"member_id": m["id"]}, headers=OPERATOR)
    api.delete(f"{base}/memberships/{other['id']}", headers=OPERATOR)  # left: no longer listed

    peer = auth("member", member_id=hidden["id"])
    entries = api.get(f"{base}/directory", headers=peer).json()["items"]
    assert [e["display_name"] for e in entries] == ["Alice"]
    assert entries[0]["organization_name"] == "CISSS de Laval"
    assert entries[0]["expertise"] == ["ergonomie"]
    assert "email" not in entries[0]
    assert api.get(f"{base}/directory?expertise=sst", headers=peer).json()["items"] == []
    assert api.get(f"{base}/directory", headers=auth("facilitator", communities=[community["id"]])).status_code == 200
    assert api.get(f"{base}/directory", headers=auth("member", member_id=outsider["id"])).status_code == 403
    assert api.get(f"{base}/directory", headers=auth("coordinator", regions=["03"])).status_code == 403


def test_organizations_crud_with_scope_version_and_events(h, api, register):
    body = {"name": "CISSS de Laval", "sector": "santé", "region": "13", "size_band": "1000+"}
    assert api.post("/v1/organizations", json=body, headers=COORD_06).status_code == 403
    created = api.post("/v1/organizations", json=body, headers=auth("coordinator", regions=["13"]))
    assert created.status_code == 201
    org = created.json()
    path = f"/v1/organizations/{org['id']}"
    assert api.post("/v1/organizations", json={**body, "size_band": "huge"}, headers=OPERATOR).status_code == 422
    updated = api.patch(path, json={"size_band": "250-999"}, headers={**OPERATOR, "If-Match": 'W/"1"'})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    assert api.patch(path, json={"name": "x", "version": 1}, headers=OPERATOR).status_code == 409
    assert [o["id"] for o in api.get("/v1/organizations?region=13", headers=COORD_06).json()["items"]] == [org["id"]]
    register(organization_id=org["id"])
    assert api.delete(path, headers=OPERATOR).status_code == 409
    assert (
        api.post(
            "/v1/members",
            json={
                "display_name": "X",
                "email": "x@example.org",
                "organization_id": "nope",
                "consents": {"processing": True},
            },
            headers=OPERATOR,
        ).status_code
        == 422
    )
    other = api.post("/v1/organizations", json={"name": "Vide"}, headers=OPERATOR).json()
    assert api.delete(f"/v1/organizations/{other['id']}", headers=COORD_06).status_code == 403
    assert api.delete(f"/v1/organizations/{other['id']}", headers=OPERATOR).status_code == 204
    kinds = [e["type"].rsplit(".", 2)[-2] for e in h.published() if ".organization." in e["type"]]
    assert kinds == ["created", "updated", "created", "deleted"]


def test_the_openapi_document_names_every_operation(api):
    spec = api.get("/openapi.json").json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert all(op.get("summary") for op in operations)
    for name in (
        "MemberCreate",
        "MemberUpdate",
        "MemberPublic",
        "CommunityCreate",
        "CommunityUpdate",
        "OrganizationCreate",
        "OrganizationUpdate",
        "OrganizationPublic",
    ):
        assert name in spec["components"]["schemas"]


def test_the_database_refuses_a_second_current_membership_even_if_two_joins_race(api, db, register, found):
    community, member = found(), register()
    api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR)
    with pytest.raises(IntegrityError), db.engine.begin() as c:
        c.execute(
            text("insert into memberships values ('x', :c, :m, 'participant', '2026-01-01', null, 1)"),
            {"c": community["id"], "m": member["id"]},
        )
