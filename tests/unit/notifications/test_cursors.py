"""Every list route of notifications answers a crafted cursor with a 422 naming `cursor`, never a 500 (issue 8,
item 5)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.services import auth

from .factories import confirmed, contact_changed, new_id, session_scheduled


def raw(value: Any) -> str:
    """A cursor carrying any JSON at all, as a client could craft it."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


AT = {"dt": "2026-09-01T12:00:00+00:00"}

CRAFTED = {
    "not base64": "!!!!",
    "impossible padding": "a",
    "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "truncated json": base64.urlsafe_b64encode(b"[1, 2").decode(),
    "an object": raw({"a": 1}),
    "a string": raw("text"),
    "null": raw(None),
    "one part": raw([AT]),
    "three parts": raw([AT, "x", 1]),
    "no sort value": raw([None, "x"]),
    "a number for a date": raw([1700000000, "x"]),
    "a string for a date": raw(["2026-09-01T12:00:00+00:00", "x"]),
    "a naive date": raw([{"dt": "2026-09-01T12:00:00"}, "x"]),
    "not a date": raw([{"dt": "soon"}, "x"]),
    "year 1 east of Greenwich": raw([{"dt": "0001-01-01T00:00:00+01:00"}, "x"]),
    "year 9999 west of Greenwich": raw([{"dt": "9999-12-31T23:59:59-01:00"}, "x"]),
    "an integer id": raw([AT, 5]),
    "a huge integer id": raw([AT, 10**40]),
    "a boolean id": raw([AT, True]),
    "a null id": raw([AT, None]),
    "an id with a NUL": raw([AT, "x\u0000y"]),
    "an id with a lone surrogate": raw([AT, "x\ud800"]),
    "a very long id": raw([AT, "x" * 1400]),
    "deep nesting": base64.urlsafe_b64encode(("[" * 600 + "]" * 600).encode()).decode(),
}


@pytest.fixture
def some_deliveries(h):
    member = new_id()
    h.publish(contact_changed(member))
    for _ in range(3):
        session = new_id()
        h.publish(session_scheduled(session))
        h.publish(confirmed(member, session))
    return member


@pytest.mark.parametrize("cursor", CRAFTED.values(), ids=CRAFTED.keys())
@pytest.mark.parametrize("who", ["operator", "member"])
def test_a_crafted_cursor_on_the_deliveries_is_a_422_naming_cursor(h, some_deliveries, cursor, who):
    headers = auth("operator") if who == "operator" else auth("member", member_id=some_deliveries)
    response = h.api.get("/v1/deliveries", params={"cursor": cursor, "limit": 1}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_real_cursor_still_walks_the_deliveries(h, some_deliveries):
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = h.api.get("/v1/deliveries", params=params, headers=auth("operator")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(set(seen)) == len(seen) == 3
