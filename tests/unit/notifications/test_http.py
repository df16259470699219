"""The HTTP API on SQLite, without its lifespan (no broker, no sender): scopes, validation, pagination."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cercle_notifications.domain.model import Category, EmailKind
from cercle_notifications.service_layer import reactions
from tests.support.services import auth

from .factories import confirmed, contact_changed, new_id, session_scheduled


@pytest.fixture
def api(h) -> TestClient:
    return h.api


@pytest.fixture
def two_members(apply):
    """Two members, each with a pending confirmation and one waiting for its session."""
    members = [new_id(), new_id()]
    session = new_id()
    apply(reactions.session_scheduled, session_scheduled(session))
    for i, member in enumerate(members):
        apply(reactions.contact_changed, contact_changed(member, email=f"member{i}@example.org"))
        apply(reactions.registration_confirmed, confirmed(member, session))
        apply(reactions.registration_confirmed, confirmed(member, new_id()))  # session unknown: waits
    return members


def test_operators_see_every_delivery_newest_first_page_by_page(api, two_members):
    first = api.get("/v1/deliveries", params={"limit": 3}, headers=auth("operator"))
    assert first.status_code == 200
    body = first.json()
    assert len(body["items"]) == 3
    assert body["next_cursor"]
    rest = api.get("/v1/deliveries", params={"limit": 3, "cursor": body["next_cursor"]}, headers=auth("operator"))
    items = body["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert len({i["id"] for i in items}) == 4
    assert [i["created_at"] for i in items] == sorted((i["created_at"] for i in items), reverse=True)


def test_deliveries_filter_by_member_status_and_kind(api, two_members):
    member = two_members[0]
    pending = api.get("/v1/deliveries", params={"member_id": member, "status": "pending"}, headers=auth("operator"))
    [item] = pending.json()["items"]
    assert (item["member_id"], item["status"], item["kind"]) == (member, "pending", EmailKind.REGISTRATION_CONFIRMED)
    waitlisted = api.get("/v1/deliveries", params={"kind": EmailKind.REGISTRATION_WAITLISTED}, headers=auth("operator"))
    assert waitlisted.json()["items"] == []


def test_a_member_sees_only_their_own_deliveries(api, two_members):
    mine, theirs = two_members
    own = api.get("/v1/deliveries", headers=auth("member", member_id=mine))
    assert {i["member_id"] for i in own.json()["items"]} == {mine}
    assert len(own.json()["items"]) == 2
    other = api.get("/v1/deliveries", params={"member_id": theirs}, headers=auth("member", member_id=mine))
    assert other.status_code == 403


@pytest.mark.parametrize(
    ("role", "claims"),
    [
        ("partner", {"organization_id": "o-1"}),
        ("coordinator", {"regions": ["13"]}),
        ("facilitator", {"communities": ["c-1"]}),
    ],
)
def test_other_roles_may_not_list_deliveries(api, two_members, role, claims):
    response = api.get("/v1/deliveries", headers=auth(role, **claims))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "example.org" not in response.text


def test_listing_needs_a_token_and_valid_filters(api):
    assert api.get("/v1/deliveries").status_code == 401
    bad = api.get("/v1/deliveries", params={"status": "lost"}, headers=auth("operator"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"
    cursor = api.get("/v1/deliveries", params={"cursor": "%%%"}, headers=auth("operator"))
    assert cursor.status_code == 422
    assert cursor.json()["errors"][0]["field"] == "cursor"


def test_preferences_default_to_the_profile_language_and_every_kind(api):
    member = new_id()
    response = api.get(f"/v1/members/{member}/preferences", headers=auth("member", member_id=member))
    assert response.status_code == 200
    assert response.json() == {
        "member_id": member,
        "language": None,
        "opt_out": [],
        "version": 0,
        "categories": dict.fromkeys(Category, True),
        "digest_day": "monday",
    }
    assert response.headers["ETag"] == 'W/"0"'


def test_a_member_sets_their_own_preferences(api):
    member = new_id()
    url, headers = f"/v1/members/{member}/preferences", auth("member", member_id=member)
    saved = api.put(url, json={"language": "en", "opt_out": [EmailKind.REGISTRATION_WAITLISTED]}, headers=headers)
    assert saved.status_code == 200
    assert saved.json() == {
        "member_id": member,
        "language": "en",
        "opt_out": [EmailKind.REGISTRATION_WAITLISTED],
        "version": 1,
        "categories": dict.fromkeys(Category, True),
        "digest_day": "monday",
    }
    assert api.get(url, headers=headers).json()["language"] == "en"
    again = api.put(url, json={"opt_out": []}, headers={**headers, "If-Match": saved.headers["ETag"]})
    assert again.json()["version"] == 2
    assert again.json()["language"] is None


def test_a_stale_if_match_is_refused(api):
    member = new_id()
    url = f"/v1/members/{member}/preferences"
    api.put(url, json={"language": "en"}, headers=auth("operator"))
    stale = api.put(url, json={"language": "fr"}, headers={**auth("operator"), "If-Match": 'W/"0"'})
    assert stale.status_code == 409
    assert api.get(url, headers=auth("operator")).json()["language"] == "en"


def test_only_the_member_or_an_operator_may_touch_preferences(api):
    member = new_id()
    url = f"/v1/members/{member}/preferences"
    assert api.put(url, json={"language": "en"}, headers=auth("operator")).status_code == 200
    assert api.get(url, headers=auth("member", member_id=new_id())).status_code == 403
    assert api.put(url, json={"language": "fr"}, headers=auth("member", member_id=new_id())).status_code == 403
    assert api.put(url, json={"language": "fr"}, headers=auth("coordinator", regions=["13"])).status_code == 403
    assert api.get(url, headers=auth("operator")).json()["language"] == "en"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "de"}, "language"),
        ({"opt_out": ["newsletter"]}, "opt_out[0]"),
        ({"language": "en", "email": "x@example.org"}, "email"),
    ],
)
def test_bad_preferences_are_refused_naming_the_field(api, body, field):
    member = new_id()
    response = api.put(f"/v1/members/{member}/preferences", json=body, headers=auth("member", member_id=member))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert api.get(f"/v1/members/{member}/preferences", headers=auth("operator")).json()["version"] == 0


def test_a_delivery_whose_status_or_kind_this_version_does_not_know_still_lists(api, two_members, h):
    """Rows written by a newer version (the columns read unknown values back as strings) do not break the list."""
    from sqlalchemy import text

    with h.runtime.db_factory.begin() as db:
        db.execute(text("UPDATE deliveries SET status = 'bounced', kind = 'digest', reason = 'too_late'"))
    response = api.get("/v1/deliveries", headers=auth("operator"))
    assert response.status_code == 200, response.text
    assert {(d["status"], d["kind"], d["reason"]) for d in response.json()["items"]} == {
        ("bounced", "digest", "too_late")
    }
    member = api.get("/v1/deliveries", headers=auth("member", member_id=two_members[0]))
    assert member.status_code == 200, member.text


def test_every_accepted_put_of_preferences_makes_a_new_version_even_with_the_same_values(api):
    """Two writers holding one ETag must not both win: a PUT that repeats the stored values still moves the
    version, so the second writer's If-Match is stale (the clock of the test harness does not move)."""
    member = "m-same-values"
    url, headers = f"/v1/members/{member}/preferences", auth("member", member_id=member)
    body = {"language": "fr", "opt_out": []}
    first = api.put(url, json=body, headers=headers)
    assert first.status_code == 200
    again = api.put(url, json=body, headers={**headers, "If-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]
    late = api.put(url, json=body, headers={**headers, "If-Match": first.headers["ETag"]})
    assert late.status_code == 409
