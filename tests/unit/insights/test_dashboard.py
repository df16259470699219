"""The dashboard pages: signed links (signature, expiry, scope, the caller's rights at opening), bearer tokens,
what the page shows in both languages, and the headers that keep it private and script-free."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.services import auth

from . import events as ev
from .test_reports import LAURENTIDES, LAVAL, held


@pytest.fixture
def laval(project):
    community = ev.new_id()
    project(
        ev.community_created(community, regions=[LAVAL], name="CoP Laval", name_en="Laval CoP"),
        ev.joined(community, "m-1", at=ev.day(0)),
        ev.joined(community, "m-2", at=ev.day(0)),
        ev.joined(community, "m-3", at=ev.day(0)),
        *held(community, ev.day(10), 8, 2),
        *held(community, ev.day(40), 9, 1),
    )
    return community


def link(insights, headers, **body) -> str:
    response = insights.api.post("/v1/dashboard-links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    parts = urlsplit(response.json()["url"])
    return parts.path + "?" + parts.query


def test_a_signed_link_opens_the_community_page_with_its_figures_and_charts(insights, laval):
    url = link(insights, insights.as_coordinator(LAVAL), community_id=laval)
    assert url.startswith(f"/dashboard/communities/{laval}?token=")

    page = insights.api.get(url)  # no Authorization header: a browser following the link

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="fr">' in html
    assert "<h1>CoP Laval</h1>" in html
    assert 'data-key="members.active"><dt>Membres actifs</dt><dd>3</dd>' in html
    assert 'data-key="attendance.rate"><dt>Taux de présence</dt><dd>85\u00a0%</dd>' in html
    assert '<figure class="chart" data-chart="attendance">' in html
    assert "<svg " in html
    assert "<title>Présence au fil du temps</title>" in html
    assert "<script" not in html.lower()
    assert 'name="viewport"' in html


def test_pages_are_not_cached_and_run_no_script(insights, laval):
    page = insights.api.get(link(insights, insights.as_operator(), community_id=laval))
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_page_speaks_english_on_request_and_keeps_its_link_for_switching_back(insights, laval):
    url = link(insights, insights.as_operator(), community_id=laval, lang="en")
    assert "lang=en" in url
    html = insights.api.get(url).text
    assert '<html lang="en">' in html
    assert "<h1>Laval CoP</h1>" in html
    assert "<dt>Active members</dt><dd>3</dd>" in html
    assert "<dd>85%</dd>" in html
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert f'href="/dashboard/communities/{laval}?token={token}"' in html  # the FR switch


def test_a_bearer_token_opens_the_page_too(insights, laval):
    assert insights.api.get(f"/dashboard/communities/{laval}", headers=insights.as_member("m-1")).status_code == 200
    assert insights.api.get(f"/dashboard/communities/{laval}", headers=auth("member", member_id="x")).status_code == 403


def test_without_a_link_or_a_token_the_page_answers_401(insights, laval):
    response = insights.api.get(f"/dashboard/communities/{laval}")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_expired_link_is_refused(insights, laval):
    url = link(insights, insights.as_operator(), community_id=laval)
    insights.advance(seconds=insights.settings.dashboard_link_ttl - 1)
    assert insights.api.get(url).status_code == 200
    insights.advance(seconds=2)

    response = insights.api.get(url)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_link_opens_its_own_page_only(insights, project, laval):
    other = ev.new_id()
    project(ev.community_created(other, regions=[LAVAL], name="Autre"))
    url = link(insights, insights.as_coordinator(LAVAL), community_id=laval)
    token = parse_qs(urlsplit(url).query)["token"][0]

    assert insights.api.get(f"/dashboard/communities/{other}?token={token}").status_code == 401
    assert insights.api.get(f"/dashboard/regions/{LAVAL}?token={token}").status_code == 401


def test_a_tampered_or_forged_link_is_refused(insights, laval):
    url = link(insights, insights.as_member("m-1"), community_id=laval)
    token = parse_qs(urlsplit(url).query)["token"][0]
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    bearer = auth("operator")["Authorization"].removeprefix("Bearer ")  # a bearer token is not a link

    for bad in (f"{header}.{payload}.{flipped}", bearer, "not-a-token", ""):
        assert insights.api.get(f"/dashboard/communities/{laval}?token={bad}").status_code == 401, bad


def test_a_link_carries_its_callers_rights_checked_again_when_opened(insights, project, laval):
    membership = ev.joined(laval, "m-leaving")
    project(membership)
    url = link(insights, insights.as_member("m-leaving"), community_id=laval)
    assert insights.api.get(url).status_code == 200

    project(ev.left(membership, at=ev.day(60)))
    assert insights.api.get(url).status_code == 403


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (auth("coordinator", regions=[LAURENTIDES]), "community", 403),
        (auth("member", member_id="m-stranger"), "community", 403),
        (auth("coordinator", regions=[LAURENTIDES]), {"region": LAVAL}, 403),
        (auth("operator"), {"community_id": "nope"}, 404),
        (auth("operator"), {}, 422),
        (auth("operator"), "both", 422),
        (auth("operator"), {"region": "99"}, 422),
        ({}, {"region": LAVAL}, 401),
    ],
)
def test_a_link_is_only_given_for_a_page_the_caller_may_read(insights, laval, headers, body, status):
    if body == "community":
        body = {"community_id": laval}
    elif body == "both":
        body = {"community_id": laval, "region": LAVAL}
    assert insights.api.post("/v1/dashboard-links", json=body, headers=headers).status_code == status


def test_the_region_page_sums_its_communities(insights, project, laval):
    other = ev.new_id()
    project(ev.community_created(other, regions=[LAVAL], name="CoP 2"), ev.joined(other, "m-9", at=ev.day(1)))
    html = insights.api.get(link(insights, insights.as_coordinator(LAVAL), region=LAVAL)).text
    assert "<h1>Région 13</h1>" in html
    assert 'data-key="communities.total"><dt>Communautés</dt><dd>2</dd>' in html
    assert 'data-key="members.active"><dt>Membres actifs</dt><dd>4</dd>' in html


def test_the_annual_report_is_a_printable_page_of_that_year(insights, laval):
    url = link(insights, insights.as_operator(), community_id=laval)
    path, query = url.split("?")
    year = ev.day(10).year
    page = insights.api.get(f"{path}/report?{query}&year={year}")
    assert page.status_code == 200
    assert f"Rapport annuel {year}" in page.text
    assert "@media print" in page.text
    assert f'data-key="year.sessions"><dt>Séances tenues en {year}</dt><dd>2</dd>' in page.text
    empty = insights.api.get(f"{path}/report?{query}&year={year - 3}")
    assert f'data-key="year.sessions"><dt>Séances tenues en {year - 3}</dt><dd>0</dd>' in empty.text
    assert insights.api.get(f"{path}/report?{query}&year=1800").status_code == 422


def test_a_members_page_leaves_out_what_she_may_not_read(insights, laval):
    page = insights.api.get(f"/dashboard/communities/{laval}", headers=insights.as_member("m-1"))
    assert page.status_code == 200
    assert 'data-chart="attendance"' in page.text
    assert 'data-chart="funnel"' not in page.text  # coordinators' figure


def test_a_coordinator_sees_every_chart(insights, laval):
    html = insights.api.get(f"/dashboard/communities/{laval}", headers=insights.as_coordinator(LAVAL)).text
    for chart in ("attendance", "indicators", "funnel", "health"):
        assert f'data-chart="{chart}"' in html
    assert 'data-key="health.score"' in html
