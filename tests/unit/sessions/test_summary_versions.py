"""A new version of a summary note updates the languages given and keeps the others; each version says who
published it (issue 8: items 12 and 15)."""

from tests.support.services import auth

FACILITATOR = auth("facilitator", communities=["c-1"], subject="fac-lea")
MEMBER_FACILITATOR = auth("member", member_id="m-fac")


def _versions(harness, url, headers=FACILITATOR):
    response = harness.api.get(f"{url}/versions", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_version_with_only_the_english_text_keeps_the_french(harness, clock):
    harness.community()
    harness.join("m-fac", role="facilitator")
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}/summary"
    clock.advance(days=15)
    first = harness.api.put(url, json={"body_fr": "## Idées clés", "body_en": "## Key ideas"}, headers=FACILITATOR)
    assert first.status_code == 200, first.text
    second = harness.api.put(url, json={"body_en": "## Key ideas\n- walk outside"}, headers=MEMBER_FACILITATOR)
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    assert second.json()["body_fr"] == "## Idées clés"  # kept
    assert second.json()["body_en"] == "## Key ideas\n- walk outside"
    assert second.json()["languages"] == ["fr", "en"]
    third = harness.api.put(url, json={"body_fr": None, "body_en": "## Key ideas (v3)"}, headers=FACILITATOR)
    assert third.json()["body_fr"] == "## Idées clés"  # null means "not given", like leaving it out
    events = harness.payloads("org.cercle.sessions.summary.published.v1")
    assert [e["languages"] for e in events] == [["fr", "en"], ["fr", "en"], ["fr", "en"]]


def test_an_empty_text_removes_a_language_but_a_note_keeps_at_least_one(harness, clock):
    harness.community()
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}/summary"
    clock.advance(days=15)
    harness.api.put(url, json={"body_fr": "## Idées clés", "body_en": "## Key ideas"}, headers=FACILITATOR)
    removed = harness.api.put(url, json={"body_en": ""}, headers=FACILITATOR)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["body_fr"], removed.json()["body_en"], removed.json()["languages"]) == (
        "## Idées clés",
        None,
        ["fr"],
    )
    nothing = harness.api.put(url, json={"body_fr": ""}, headers=FACILITATOR)
    assert nothing.status_code == 422
    assert nothing.json()["errors"][0]["field"] == "body_fr"
    assert harness.api.put(url, json={}, headers=FACILITATOR).status_code == 422
    assert len(_versions(harness, url)) == 2


def test_each_version_shows_who_published_it(harness, clock):
    harness.community()
    harness.join("m-fac", role="facilitator")
    harness.join("m-1")
    session = harness.schedule()
    url = f"/v1/sessions/{session['id']}/summary"
    clock.advance(days=15)
    harness.api.put(url, json={"body_fr": "v1"}, headers=FACILITATOR)
    harness.api.put(url, json={"body_fr": "v2"}, headers=MEMBER_FACILITATOR)
    versions = _versions(harness, url, headers=auth("member", member_id="m-1"))
    assert [(v["version"], v["published_by"]) for v in versions] == [(1, "fac-lea"), (2, "m-fac")]
    assert harness.api.get(url, headers=FACILITATOR).json()["published_by"] == "m-fac"
