"""Who may reach partner resources: a partner only its own organization's (others' are 404), operators all."""

from __future__ import annotations

import pytest

from .helpers import endpoint, grant, registration_confirmed

A, B = "org-a", "org-b"


@pytest.fixture
def setup(h, rx):
    for org in (A, B):
        grant(h.api, org, h.as_operator())
    ep = endpoint(h.api, B, h.as_partner(B), rx.url)
    h.publish(registration_confirmed("c-1"))
    h.run_job("deliver-webhooks")
    rx.wait_for(1)
    [message] = h.api.get(f"/v1/partners/{B}/endpoints/{ep['id']}/messages", headers=h.as_operator()).json()["items"]
    return ep["id"], message["id"]


def _calls(endpoint_id: str, message_id: str):
    base = f"/v1/partners/{B}/endpoints"
    one = f"{base}/{endpoint_id}"
    return [
        ("GET", base, None),
        ("POST", base, {"url": "http://127.0.0.1:9/x", "event_types": ["org.cercle.sessions.registration.*"]}),
        ("GET", one, None),
        ("PATCH", one, {"description": "x"}),
        ("POST", f"{one}/secret/rotate", None),
        ("POST", f"{one}/test", None),
        ("GET", f"{one}/messages", None),
        ("GET", f"{one}/messages/{message_id}/attempts", None),
        ("POST", f"{one}/messages/{message_id}/replay", None),
        ("POST", f"{one}/recover", {"since": "2026-01-01T00:00:00Z"}),
        ("GET", f"{one}/stats", None),
        ("GET", f"/v1/partners/{B}/events", None),
        ("GET", f"/v1/partners/{B}/grant", None),
        ("DELETE", one, None),
    ]


def test_partner_a_cannot_reach_anything_of_partner_b(h, setup):
    for method, path, body in _calls(*setup):
        r = h.api.request(method, path, json=body, headers=h.as_partner(A))
        assert r.status_code == 404, (method, path, r.status_code)


def test_a_partner_token_without_organization_gets_403(h, setup):
    for method, path, body in _calls(*setup):
        r = h.api.request(method, path, json=body, headers=h.as_partner())
        assert r.status_code == 403, (method, path, r.status_code)


@pytest.mark.parametrize("who", ["member", "facilitator", "coordinator"])
def test_members_facilitators_and_coordinators_get_403(h, setup, who):
    headers = {
        "member": h.as_member("m-1"),
        "facilitator": h.as_facilitator("c-1"),
        "coordinator": h.as_coordinator("13"),
    }[who]
    for method, path, body in _calls(*setup):
        r = h.api.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.status_code)


def test_only_operators_grant_and_revoke(h):
    for headers in (h.as_partner(A), h.as_coordinator("13")):
        r = h.api.put(f"/v1/partners/{A}/grant", json={"event_types": ["org.cercle.sessions."]}, headers=headers)
        assert r.status_code == 403
        assert h.api.delete(f"/v1/partners/{A}/grant", headers=headers).status_code == 403


def test_operators_may_do_everything(h, setup):
    for method, path, body in _calls(*setup):
        r = h.api.request(method, path, json=body, headers=h.as_operator())
        assert r.status_code < 400, (method, path, r.status_code, r.text)


def test_partners_see_the_subscribable_event_types_with_their_schemas(h):
    r = h.api.get("/v1/partners/event-types", headers=h.as_partner(A))
    assert r.status_code == 200
    types = {t["type"]: t for t in r.json()}
    assert "org.cercle.sessions.registration.confirmed.v1" in types
    assert "org.cercle.registration.member.contact_changed.v1" not in types
    assert types["org.cercle.sessions.registration.confirmed.v1"]["json_schema"]["properties"]["member_id"]
    assert h.api.get("/v1/partners/event-types", headers=h.as_member("m-1")).status_code == 403
