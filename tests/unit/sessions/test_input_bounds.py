"""Dates within sane years and single-line fields without control characters, on every sessions body
(issue 8: items 9 and 11)."""

from datetime import timedelta

import pytest

from tests.support.harness import START
from tests.support.services import auth

OPERATOR = auth()


def _fields(response):
    return {e["field"] for e in response.json().get("errors", [])}


def _cycle_body(**overrides):
    body = {
        "label": "2026-2027",
        "starts_on": "2026-09-01",
        "ends_on": "2027-06-30",
        "proposals_close_at": (START + timedelta(days=10)).isoformat(),
        "voting_opens_at": (START + timedelta(days=10)).isoformat(),
        "voting_closes_at": (START + timedelta(days=20)).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": "9999-10-01T13:00:00-04:00", "ends_at": "9999-10-01T16:00:00-04:00"}, "starts_at"),
        ({"ends_at": "9999-10-01T16:00:00-04:00"}, "ends_at"),
        ({"starts_at": "1900-10-01T13:00:00-04:00"}, "starts_at"),
    ],
)
def test_a_session_far_out_of_range_is_refused_when_scheduled_and_when_changed(harness, change, field):
    harness.community()
    base = {"title": "x", "starts_at": "2026-10-01T13:00:00-04:00", "ends_at": "2026-10-01T16:00:00-04:00"}
    created = harness.api.post("/v1/communities/c-1/sessions", json={**base, "capacity": 5, **change}, headers=OPERATOR)
    assert created.status_code == 422, created.text
    assert field in _fields(created)
    session = harness.schedule()
    changed = harness.api.patch(f"/v1/sessions/{session['id']}", json=change, headers=OPERATOR)
    assert changed.status_code == 422, changed.text
    assert field in _fields(changed)
    assert len(harness.published("org.cercle.sessions.session.scheduled.v1")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_on": "9999-06-30"}, "ends_on"),
        ({"starts_on": "0001-01-01"}, "starts_on"),
        ({"voting_closes_at": "9999-09-30T23:59:00-04:00"}, "voting_closes_at"),
        ({"proposals_open_at": "1000-09-30T23:59:00-04:00"}, "proposals_open_at"),
    ],
)
def test_cycle_dates_out_of_range_are_refused(harness, change, field):
    harness.community()
    response = harness.api.post("/v1/communities/c-1/cycles", json=_cycle_body(**change), headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in _fields(response)


def test_a_cycle_lasts_a_bounded_number_of_years(harness):
    """A plan is drawn day by day over the cycle: a cycle over two centuries would tie a request up."""
    harness.community()
    response = harness.api.post(
        "/v1/communities/c-1/cycles", json=_cycle_body(starts_on="1970-01-01", ends_on="2200-12-31"), headers=OPERATOR
    )
    assert response.status_code == 422, response.text
    assert "ends_on" in _fields(response)


def test_plan_dates_out_of_range_are_refused(harness):
    harness.community()
    cycle = harness.api.post("/v1/communities/c-1/cycles", json=_cycle_body(), headers=OPERATOR).json()
    blackout = harness.api.post(
        f"/v1/cycles/{cycle['id']}/plan",
        json={"weekday": 3, "start_time": "13:00", "blackout_dates": ["9999-12-24"]},
        headers=OPERATOR,
    )
    assert blackout.status_code == 422
    assert any(f.startswith("blackout_dates[0]") for f in _fields(blackout)), blackout.json()
    item = {"theme_id": "t", "starts_at": "9999-10-01T13:00:00-04:00", "ends_at": "9999-10-01T16:00:00-04:00"}
    confirm = harness.api.post(
        f"/v1/cycles/{cycle['id']}/plan/confirm", json={"capacity": 5, "items": [item]}, headers=OPERATOR
    )
    assert confirm.status_code == 422
    assert "items[0].starts_at" in _fields(confirm)


BAD_LINES = ["Retour\r\nau travail", "Retour\nau travail", "Retour\x00", "Retour\x1b[31m", "a\u2028b"]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_single_line_fields_of_a_session_refuse_control_characters(harness, bad):
    harness.community()
    base = {
        "title": "x",
        "starts_at": "2026-10-01T13:00:00-04:00",
        "ends_at": "2026-10-01T16:00:00-04:00",
        "capacity": 5,
    }
    cases = [
        ({"title": bad}, "title"),
        ({"location": bad}, "location"),
        ({"link": bad, "mode": "virtual"}, "link"),
        ({"timezone": bad}, "timezone"),
        ({"guests": [{"name": bad}]}, "guests[0].name"),
        ({"guests": [{"name": "Dre Gagnon", "expertise": bad}]}, "guests[0].expertise"),
        ({"co_facilitators": [bad]}, "co_facilitators[0]"),
        ({"theme_id": bad}, "theme_id"),
    ]
    for change, field in cases:
        response = harness.api.post("/v1/communities/c-1/sessions", json={**base, **change}, headers=OPERATOR)
        assert response.status_code == 422, (change, response.text)
        assert field in _fields(response), (field, response.json())
    session = harness.schedule()
    for change, field in cases[:6]:
        response = harness.api.patch(f"/v1/sessions/{session['id']}", json=change, headers=OPERATOR)
        assert response.status_code == 422, (change, response.text)
        assert field in _fields(response)
    assert harness.published("org.cercle.sessions.session.rescheduled.v1") == []


def test_free_texts_keep_their_line_breaks_but_refuse_other_control_characters(harness):
    harness.community()
    ok = harness.schedule(description="Ligne 1\nLigne 2\r\n\tindentée")
    assert ok["description"] == "Ligne 1\nLigne 2\r\n\tindentée"
    bad = harness.api.patch(f"/v1/sessions/{ok['id']}", json={"description": "bip\x07"}, headers=OPERATOR)
    assert bad.status_code == 422
    assert "description" in _fields(bad)
    cancel = harness.api.post(f"/v1/sessions/{ok['id']}/cancel", json={"reason": "tempête\x1b"}, headers=OPERATOR)
    assert cancel.status_code == 422
    assert "reason" in _fields(cancel)


def test_single_line_fields_of_the_program_and_library_refuse_control_characters(harness, clock):
    harness.community()
    harness.join("m-1")
    bad = "Télé\r\ntravail"
    cycle_label = harness.api.post("/v1/communities/c-1/cycles", json=_cycle_body(label=bad), headers=OPERATOR)
    assert cycle_label.status_code == 422
    assert "label" in _fields(cycle_label)
    cycle = harness.api.post("/v1/communities/c-1/cycles", json=_cycle_body(), headers=OPERATOR).json()
    member = auth("member", member_id="m-1")
    theme = harness.api.post(f"/v1/cycles/{cycle['id']}/themes", json={"title": bad, "need": "x"}, headers=member)
    assert theme.status_code == 422
    assert "title" in _fields(theme)
    need = harness.api.post(f"/v1/cycles/{cycle['id']}/themes", json={"title": "x", "need": "a\x00"}, headers=member)
    assert need.status_code == 422
    assert "need" in _fields(need)
    multi_line_need = harness.api.post(
        f"/v1/cycles/{cycle['id']}/themes", json={"title": "x", "need": "ligne 1\nligne 2"}, headers=member
    )
    assert multi_line_need.status_code == 201
    for body, field in (
        ({"title": bad, "kind": "book"}, "title"),
        ({"title": "x", "kind": "book", "tags": [bad]}, "tags[0]"),
        ({"title": "x", "kind": "link", "url": "https://x.example/\r\nSet-Cookie: a"}, "url"),
        ({"title": "x", "kind": "book", "description": "a\x00"}, "description"),
    ):
        response = harness.api.post("/v1/communities/c-1/resources", json=body, headers=member)
        assert response.status_code == 422, body
        assert field in _fields(response)
    session = harness.schedule()
    clock.advance(days=15)
    summary = harness.api.put(
        f"/v1/sessions/{session['id']}/summary", json={"body_fr": "## Idées\x00"}, headers=OPERATOR
    )
    assert summary.status_code == 422
    assert "body_fr" in _fields(summary)
    assert harness.published("org.cercle.sessions.resource.shared.v1") == []
