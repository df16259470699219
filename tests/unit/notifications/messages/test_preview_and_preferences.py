"""Operators preview every message with sample data; members choose their categories and digest day in their
preferences, which keep their ETag versioning."""

from __future__ import annotations

import pytest

from cercle_notifications.domain.model import CATEGORY_OF, EmailKind

from .conftest import new_id

OURS = [
    EmailKind.SIGN_IN_LINK,
    EmailKind.ANNOUNCEMENT_SESSION_SCHEDULED,
    EmailKind.ANNOUNCEMENT_CALL_FOR_THEMES,
    EmailKind.ANNOUNCEMENT_VOTE_OPENED,
    EmailKind.ANNOUNCEMENT_VOTE_CLOSING,
    EmailKind.ANNOUNCEMENT_THEMES_RETAINED,
    EmailKind.WEEKLY_DIGEST,
    EmailKind.REGISTRATION_CONFIRMED,
    EmailKind.REGISTRATION_WAITLISTED,
    EmailKind.REGISTRATION_PROMOTED,
    EmailKind.REGISTRATION_CANCELLED,
    EmailKind.SESSION_RESCHEDULED,
    EmailKind.SESSION_CANCELLED,
]

# The categories of the emails sent on insights' behalf (issue 11), all on by default.
NEW_CATEGORIES_ON = {"surveys": True, "action_plans": True, "coordination": True}


@pytest.mark.parametrize("kind", OURS)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_operator_previews_every_message_in_both_languages(h, kind, language):
    response = h.api.get(f"/v1/templates/{kind}/preview", params={"language": language}, headers=h.as_operator())
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["kind"] == kind
    assert preview["language"] == language
    assert preview["subject"]
    assert "Marie Tremblay" in preview["text"]
    assert f'<html lang="{language}">' in preview["html"]
    assert ("/v1/unsubscribe/" in preview["text"]) == (kind in CATEGORY_OF)  # the footer link, by category


def test_the_preview_defaults_to_french(h):
    response = h.api.get("/v1/templates/weekly_digest/preview", headers=h.as_operator())
    assert response.json()["subject"] == "Cette semaine dans vos communautés"


@pytest.mark.parametrize("who", ["member", "coordinator", "partner"])
def test_only_operators_preview(h, who):
    headers = {"member": h.as_member(new_id()), "coordinator": h.as_coordinator("13"), "partner": h.as_partner()}[who]
    response = h.api.get("/v1/templates/weekly_digest/preview", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("path", "params"), [("nope", {}), ("weekly_digest", {"language": "de"})])
def test_an_unknown_kind_or_language_is_a_422_problem(h, path, params):
    response = h.api.get(f"/v1/templates/{path}/preview", params=params, headers=h.as_operator())
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_preferences_show_every_category_on_and_monday_by_default(h):
    member_id = new_id()
    response = h.api.get(f"/v1/members/{member_id}/preferences", headers=h.as_member(member_id))
    assert response.json()["categories"] == {
        "reminders": True,
        "announcements": True,
        "digest": True,
        "surveys": True,
        "action_plans": True,
        "coordination": True,
    }
    assert response.json()["digest_day"] == "monday"


def test_a_member_changes_only_the_categories_she_names_and_her_digest_day_with_etag(h):
    member_id = new_id()
    url, me = f"/v1/members/{member_id}/preferences", h.as_member(member_id)
    first = h.api.put(url, json={"categories": {"digest": False}, "digest_day": "friday"}, headers=me)
    assert first.status_code == 200, first.text
    assert first.json()["categories"] == {
        "reminders": True,
        "announcements": True,
        "digest": False,
        **NEW_CATEGORIES_ON,
    }
    etag = first.headers["ETag"]
    second = h.api.put(url, json={"categories": {"reminders": False}}, headers={**me, "If-Match": etag})
    assert second.status_code == 200
    assert second.json()["categories"] == {
        "reminders": False,
        "announcements": True,
        "digest": False,
        **NEW_CATEGORIES_ON,
    }
    assert second.json()["digest_day"] == "friday"  # absent: unchanged
    stale = h.api.put(url, json={"categories": {"digest": True}}, headers={**me, "If-Match": etag})
    assert stale.status_code == 409  # a newer version exists


@pytest.mark.parametrize(
    ("body", "field"),
    [({"categories": {"newsletters": False}}, "categories"), ({"digest_day": "someday"}, "digest_day")],
)
def test_unknown_categories_or_days_are_refused_naming_the_field(h, body, field):
    member_id = new_id()
    response = h.api.put(f"/v1/members/{member_id}/preferences", json=body, headers=h.as_member(member_id))
    assert response.status_code == 422
    assert field in response.text
