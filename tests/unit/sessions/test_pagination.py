"""Every sessions list answers the same cursor pages as the rest of Cercle, and a crafted cursor is a 422 naming
`cursor` (issue 8: items 5 and 17)."""

import base64
import json
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from cercle_shared.contracts import registration
from cercle_shared.web.pagination import Page
from tests.support.services import auth

OPERATOR = auth()
MEMBER = auth("member", member_id="m-1")
FACILITATOR = auth("facilitator", communities=["c-1"])


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CRAFTED = [
    "!!!not-base64!!!",
    _b64("{}"),
    _b64("[1, 2, 3]"),
    _b64('["x", "id"]'),
    _b64('[{"dt": "not a date"}, "id"]'),
    _b64('[{"dt": "2026-01-01T00:00:00"}, "id"]'),  # naive
    _b64('[{"dt": "2026-01-01T00:00:00+00:00", "x": 1}, "id"]'),
    _b64('[[1], "id"]'),
    _b64('[{"dt": "2026-01-01T00:00:00+00:00"}, 1.5]'),
    _b64('[{"dt": "2026-01-01T00:00:00+00:00"}, true]'),
    _b64('[1e999, "id"]'),
    "A" * 5000,
    # values no database can bind: a date past the calendar's edge once in UTC, a NUL, a lone surrogate
    _b64('[{"dt": "9999-12-31T23:59:59-05:00"}, "id"]'),
    _b64('[{"dt": "0001-01-01T00:00:00+05:00"}, "id"]'),
    _b64('[{"dt": "2026-01-01T00:00:00+00:00"}, "a\\u0000"]'),
    _b64('[{"dt": "2026-01-01T00:00:00+00:00"}, "\\ud800"]'),
    _b64('["2026-01-01", "a\\u0000"]'),
    _b64('["2026-01-01", "\\ud800"]'),
    _b64('[1, "a\\u0000"]'),
    _b64('[1, "\\ud800"]'),
    _b64('["\\ud800", "id"]'),
]

# (path template, caller): every list route of the service
LISTS = [
    ("/v1/communities/c-1/sessions", OPERATOR),
    ("/v1/sessions/{session}/registrations", OPERATOR),
    ("/v1/me/sessions", MEMBER),
    ("/v1/communities/c-1/cycles", OPERATOR),
    ("/v1/cycles/{cycle}/themes", OPERATOR),
    ("/v1/sessions/{session}/summary/versions", OPERATOR),
    ("/v1/resources", OPERATOR),
    ("/v1/me/calendar-feeds", MEMBER),
    ("/v1/communities/c-1/calendar-feeds", OPERATOR),
    ("/v1/sessions/{session}/roster", OPERATOR),
    ("/v1/communities/c-1/roster", OPERATOR),
]


@pytest.fixture
def data(harness, clock):
    harness.community()
    for m in ("m-1", "m-2", "m-3"):
        harness.join(m)
        harness.publish(
            registration.MemberContactChanged(
                member_id=m,
                email=f"{m}@example.org",
                display_name=f"Nom {m}",
                language="fr",
                consents={"processing": True},
                updated_at=clock.now,
            )
        )
    cycle = harness.api.post(
        "/v1/communities/c-1/cycles",
        json={
            "label": "2026-2027",
            "starts_on": "2026-09-01",
            "ends_on": "2027-06-30",
            "proposals_close_at": (clock.now + timedelta(days=10)).isoformat(),
            "voting_opens_at": (clock.now + timedelta(days=10)).isoformat(),
            "voting_closes_at": (clock.now + timedelta(days=20)).isoformat(),
        },
        headers=OPERATOR,
    ).json()
    harness.api.post(
        "/v1/communities/c-1/cycles",
        json={
            "label": "2027-2028",
            "starts_on": "2027-09-01",
            "ends_on": "2028-06-30",
            "proposals_close_at": (clock.now + timedelta(days=10)).isoformat(),
            "voting_opens_at": (clock.now + timedelta(days=10)).isoformat(),
            "voting_closes_at": (clock.now + timedelta(days=20)).isoformat(),
        },
        headers=OPERATOR,
    )
    for title in ("Nature", "Télétravail", "Reconnaissance"):
        clock.advance(minutes=1)
        harness.api.post(f"/v1/cycles/{cycle['id']}/themes", json={"title": title, "need": "x"}, headers=MEMBER)
    sessions = [
        harness.schedule(
            title=f"Rencontre {i}",
            starts_at=(clock.now + timedelta(days=10 + i)).isoformat(),
            ends_at=(clock.now + timedelta(days=10 + i, hours=2)).isoformat(),
        )
        for i in range(3)
    ]
    for s in sessions:
        for m in ("m-1", "m-2", "m-3"):
            harness.api.post(f"/v1/sessions/{s['id']}/registrations", json={}, headers=auth("member", member_id=m))
    for i in range(3):
        harness.api.post("/v1/communities/c-1/resources", json={"title": f"Livre {i}", "kind": "book"}, headers=MEMBER)
        harness.api.post("/v1/communities/c-1/calendar-feed", headers=MEMBER)
    harness.api.post("/v1/me/calendar-feed", headers=MEMBER)
    clock.advance(days=11)
    for i in range(3):
        harness.api.put(f"/v1/sessions/{sessions[0]['id']}/summary", json={"body_fr": f"v{i}"}, headers=OPERATOR)
    return {"session": sessions[0]["id"], "cycle": cycle["id"]}


def _url(template, data):
    return template.format(**data)


@pytest.mark.parametrize(("template", "caller"), LISTS, ids=[t for t, _ in LISTS])
def test_every_list_pages_with_a_cursor_and_refuses_a_crafted_one(harness, data, template, caller):
    url = _url(template, data)
    whole = harness.api.get(url, params={"limit": 200}, headers=caller)
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert len(body["items"]) >= 2, f"{template}: the fixture should give this list several items"
    paged, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = harness.api.get(url, params=params, headers=caller)
        assert page.status_code == 200, page.text
        paged.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert paged == body["items"]
    for crafted in CRAFTED:
        response = harness.api.get(url, params={"cursor": crafted}, headers=caller)
        assert response.status_code == 422, (template, crafted, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"], response.json()
    assert harness.api.get(url, params={"limit": 0}, headers=caller).status_code == 422
    assert harness.api.get(url, params={"limit": 201}, headers=caller).status_code == 422


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper around an included router
            yield from _api_routes(route.original_router.routes)


def test_the_table_above_names_every_list_route_of_the_service(harness):
    routes = [r for r in _api_routes(harness.app.routes) if "GET" in r.methods]
    listed = {template.split("?")[0] for template, _ in LISTS}

    def normalized(path):
        return (
            path.replace("{community_id}", "c-1").replace("{session_id}", "{session}").replace("{cycle_id}", "{cycle}")
        )

    pages = {
        normalized(r.path) for r in routes if isinstance(r.response_model, type) and issubclass(r.response_model, Page)
    }
    plain_lists = [r.path for r in routes if getattr(r.response_model, "__origin__", None) is list]
    assert plain_lists == [], "list routes answer cursor pages"
    assert pages == listed


def test_a_cycle_cursor_with_a_value_that_is_not_a_date_is_refused(harness, data):
    response = harness.api.get(
        "/v1/communities/c-1/cycles", params={"cursor": _b64('["2026-13-45", "id"]')}, headers=OPERATOR
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
    json.dumps(response.json())
