"""Every list route of insights answers a crafted cursor with a 422 naming `cursor`, never a 500 (issue 8, item 5).

The list of communities is sorted by French name, then id: both strings."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.services import auth

from . import events as ev


def raw(value: Any) -> str:
    """A cursor carrying any JSON at all, as a client could craft it."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CRAFTED = {
    "not base64": "!!!!",
    "impossible padding": "a",
    "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "truncated json": base64.urlsafe_b64encode(b"[1, 2").decode(),
    "an object": raw({"a": 1}),
    "a string": raw("text"),
    "null": raw(None),
    "one part": raw(["CoP"]),
    "three parts": raw(["CoP", "x", 1]),
    "no sort value": raw([None, "x"]),
    "a number for a name": raw([3, "x"]),
    "a huge number for a name": raw([10**40, "x"]),
    "a float for a name": raw([1e308, "x"]),
    "a boolean for a name": raw([True, "x"]),
    "a date for a name": raw([{"dt": "2026-09-01T12:00:00+00:00"}, "x"]),
    "an out-of-range date for a name": raw([{"dt": "9999-12-31T23:59:59-01:00"}, "x"]),
    "an integer id": raw(["CoP", 5]),
    "a boolean id": raw(["CoP", False]),
    "a null id": raw(["CoP", None]),
    "a name with a NUL": raw(["Co\u0000P", "x"]),
    "an id with a NUL": raw(["CoP", "x\u0000"]),
    "a name with a lone surrogate": raw(["Co\udfffP", "x"]),
    "an id with a lone surrogate": raw(["CoP", "\ud800"]),
    "deep nesting": base64.urlsafe_b64encode(("[" * 600 + "]" * 600).encode()).decode(),
}

ROLES = {
    "operator": lambda: auth("operator"),
    "partner": lambda: auth("partner"),
    "coordinator": lambda: auth("coordinator", regions=["13"]),
    "facilitator": lambda: auth("facilitator", communities=["c-1"]),
    "member": lambda: auth("member", member_id="m-1"),
}


@pytest.fixture
def communities(project):
    project(*(ev.community_created(ev.new_id(), name=f"CoP {n}") for n in range(3)))


@pytest.mark.parametrize("cursor", CRAFTED.values(), ids=CRAFTED.keys())
@pytest.mark.parametrize("role", ROLES)
def test_a_crafted_cursor_on_the_communities_is_a_422_naming_cursor(insights, communities, cursor, role):
    response = insights.api.get("/v1/communities", params={"cursor": cursor, "limit": 1}, headers=ROLES[role]())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"
