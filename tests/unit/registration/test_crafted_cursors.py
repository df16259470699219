"""Every list route of registration answers a crafted cursor with a 422 naming `cursor`, never a 500 (issue 8,
item 5): `decode_cursor` once checked only the base64/JSON shape, and bad dates or object values blew up later."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import OPERATOR


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor(value: object, row_id: object = "00000000-0000-0000-0000-000000000000") -> str:
    return b64(json.dumps([value, row_id]).encode())


# Each is refused: a 422 problem naming `cursor`.
MALFORMED = {
    "not base64": "!!!not-base64!!!",
    "base64 of nothing": "",
    "not JSON": b64(b"\xff\xfe not json"),
    "JSON, not a list": b64(b'{"a": 1}'),
    "a list of one": b64(b'["x"]'),
    "a list of three": b64(b'["x", "y", "z"]'),
    "a number": b64(b"42"),
    "null": b64(b"null"),
    "no position": cursor(None),
    "an object value": cursor({"x": 1}),
    "a list value": cursor([1, 2]),
    "a date that is not one": cursor({"dt": "not-a-date"}),
    "a date without offset": cursor({"dt": "2026-01-01T00:00:00"}),
    "a date and more": cursor({"dt": "2026-01-01T00:00:00+00:00", "x": 1}),
    "a date as a number": cursor({"dt": 1}),
    "a boolean id": cursor("x", True),
    "an object id": cursor("x", {"id": 1}),
    "a null id": cursor("x", None),
    "a list id": cursor("x", ["a"]),
    "too long": cursor("x" * 3000),
    "deeply nested": b64(b"[" * 5000 + b"]" * 5000),
    "a NaN": b64(b'[NaN, "id"]'),
    "huge exponent": b64(b'[1e999999, "id"]'),
}

# Of the right shape, but the wrong kind for some sort orders: refused there, never a 500 anywhere.
ODD = {
    "a number": cursor(12),
    "a huge number": cursor(10**40),
    "a float": cursor(1.5),
    "a boolean": cursor(True),
    "a string": cursor("Marie"),
    "a date": cursor({"dt": "2026-01-01T00:00:00+00:00"}),
    "the last date there is": cursor({"dt": "9999-12-31T23:59:59.999999-14:00"}),
    "the first date there is": cursor({"dt": "0001-01-01T00:00:00+14:00"}),
    "a NUL character": cursor("Marie\u0000"),
    "a lone surrogate": b64(b'["\\ud800", "id"]'),
    "a control character": cursor("\u001b[2J"),
    "a long string": cursor("é" * 600),
    "a number id": cursor("x", 12),
    "a huge id": cursor("x", 10**40),
    "an id with a NUL": cursor("x", "a\u0000b"),
}


@pytest.fixture
def lists(api, register, found) -> dict[str, str]:
    """Every list route of registration, with each of its sort orders, on data enough for two pages."""
    members = [register(f"m{i}@example.org", display_name=f"Membre {i}") for i in range(3)]
    community, other = found(), found(name_fr="CoP Laval", name_en="Laval CoP")
    api.post(f"/v1/communities/{other['id']}/memberships", json={"member_id": members[0]["id"]}, headers=OPERATOR)
    for member in members:
        api.post(f"/v1/communities/{community['id']}/memberships", json={"member_id": member["id"]}, headers=OPERATOR)
        api.patch(f"/v1/members/{member['id']}", json={"consents": {"directory": True}, "version": 1}, headers=OPERATOR)
    for i in range(3):
        api.post("/v1/organizations", json={"name": f"Org {i}", "region": "06"}, headers=OPERATOR)
    c, m = community["id"], members[0]["id"]
    return {
        "members by name": "/v1/members?sort=display_name",
        "members by name, descending": "/v1/members?sort=-display_name",
        "members by registration": "/v1/members?sort=registered_at",
        "members by registration, descending": "/v1/members?sort=-registered_at",
        "organizations by name": "/v1/organizations?sort=name",
        "organizations by creation": "/v1/organizations?sort=-created_at",
        "communities by French name": "/v1/communities?sort=name_fr",
        "communities by English name": "/v1/communities?sort=-name_en",
        "communities by creation": "/v1/communities?sort=created_at",
        "a community's memberships": f"/v1/communities/{c}/memberships?active=true",
        "a member's memberships": f"/v1/members/{m}/memberships",
        "a community's directory": f"/v1/communities/{c}/directory",
    }


LIST_NAMES = [
    "members by name",
    "members by name, descending",
    "members by registration",
    "members by registration, descending",
    "organizations by name",
    "organizations by creation",
    "communities by French name",
    "communities by English name",
    "communities by creation",
    "a community's memberships",
    "a member's memberships",
    "a community's directory",
]


def with_cursor(path: str, value: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}limit=1&cursor={value}"


def refusals(api, path: str, crafted: dict[str, str], *, pages_allowed: bool) -> list[tuple[str, int, str]]:
    """The crafted cursors that got anything but a 422 naming `cursor` (or a page, when `pages_allowed`)."""
    failures = []
    for label, value in crafted.items():
        response = api.get(with_cursor(path, value), headers=OPERATOR)
        if response.status_code == 200 and (pages_allowed or value == ""):
            continue  # an empty cursor is no cursor: the first page
        named = response.status_code == 422 and "cursor" in {e["field"] for e in response.json().get("errors", [])}
        if not named:
            failures.append((label, response.status_code, response.text[:200]))
    return failures


@pytest.mark.parametrize("name", LIST_NAMES)
def test_every_list_answers_a_crafted_cursor_with_a_422_naming_cursor_never_a_500(api, lists, name):
    path = lists[name]
    first = api.get(f"{path}{'&' if '?' in path else '?'}limit=1", headers=OPERATOR)
    assert first.status_code == 200, first.text
    assert first.json()["next_cursor"], f"{name}: one item a page should leave a next page"
    second = api.get(with_cursor(path, first.json()["next_cursor"]), headers=OPERATOR)
    assert second.status_code == 200, second.text
    assert second.json()["items"] != first.json()["items"]  # its own cursors still work

    assert refusals(api, path, MALFORMED, pages_allowed=False) == []
    assert refusals(api, path, ODD, pages_allowed=True) == []
