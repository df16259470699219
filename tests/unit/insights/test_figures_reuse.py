"""The faster paths of health, figures and dashboards show the same figures as before and never a stale one: votes
counted by year in SQL (UTC years, whatever offset the event carried), one computation per page reused by its
charts and headlines, and drawn charts kept by the figures they show (new figures, a new drawing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cercle_insights.adapters import charts
from cercle_insights.service_layer import reports
from cercle_shared.contracts import sessions as ses

from . import events as ev
from .test_health_flow import NOW, community, meeting, members

MONTREAL = timezone(timedelta(hours=-5))
PARIS = timezone(timedelta(hours=1))


@pytest.fixture
def h(insights):
    insights.clock.now = NOW
    return insights


def _votes(h, community_id: str, *times: datetime) -> None:
    theme = ses.ThemeProposed(
        theme_id=ev.new_id(),
        cycle_id="cy",
        community_id=community_id,
        title="Pauses actives",
        need="Sédentarité",
        proposed_at=datetime(2025, 6, 1, tzinfo=UTC),
    )
    h.publish(theme)
    for at in times:
        h.publish(
            ses.VoteCast(
                vote_id=ev.new_id(), theme_id=theme.theme_id, cycle_id="cy", community_id=community_id, cast_at=at
            )
        )


def test_votes_by_year_count_each_vote_in_its_utc_year_in_the_region_and_the_province(h):
    laval = community(h, regions=("13",), created_at=datetime(2025, 1, 1, tzinfo=UTC))
    both = community(h, regions=("13", "14"), created_at=datetime(2025, 1, 1, tzinfo=UTC))
    members(h, laval, 2, at=datetime(2025, 1, 2, tzinfo=UTC))
    members(h, both, 2, at=datetime(2025, 1, 2, tzinfo=UTC))
    _votes(
        h,
        laval,
        datetime(2025, 12, 31, 20, 30, tzinfo=MONTREAL),  # 2026-01-01 01:30 UTC: 2026
        datetime(2026, 1, 1, 0, 30, tzinfo=PARIS),  # 2025-12-31 23:30 UTC: 2025
        datetime(2025, 7, 1, tzinfo=UTC),
    )
    _votes(h, both, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))

    region13 = h.api.get("/v1/regions/13/figures", headers=h.as_operator()).json()
    region14 = h.api.get("/v1/regions/14/figures", headers=h.as_operator()).json()
    province = h.api.get("/v1/province/figures", headers=h.as_operator()).json()
    only_2025 = h.api.get("/v1/province/figures", params={"year": 2025}, headers=h.as_operator()).json()

    assert {y["year"]: y["votes"] for y in region13["years"]} == {2025: 2, 2026: 3}
    assert {y["year"]: y["votes"] for y in region14["years"]} == {2025: 0, 2026: 2}
    assert {y["year"]: y["votes"] for y in province["years"]} == {2025: 2, 2026: 3}  # `both` counted once
    assert {r["region"]: r["figures"]["votes"] for r in province["regions"]} == {"13": 3, "14": 2}  # this year
    assert [y["votes"] for y in only_2025["years"]] == [2]
    assert {r["region"]: r["figures"]["votes"] for r in only_2025["regions"]} == {"13": 2, "14": 0}


def test_the_community_page_shows_the_score_the_api_gives_and_the_next_event_changes_it(h):
    community_id = community(h, created_at=NOW - timedelta(days=400))
    people = members(h, community_id, 6, at=NOW - timedelta(days=390))
    meeting(h, community_id, NOW - timedelta(days=60), people[:5], 1)
    headers = h.as_operator()

    def score_on_page() -> str:
        html = h.api.get(f"/dashboard/communities/{community_id}", headers=headers).text
        return html.split('data-key="health.score"><dt>Score de santé</dt><dd>', 1)[1].split("<", 1)[0]

    def score_from_api() -> float:
        return h.api.get(f"/v1/communities/{community_id}/health", headers=headers).json()["score"]

    before = score_on_page()
    assert before == reports.number(score_from_api(), reports.Lang.FR)
    page_before = h.api.get(f"/dashboard/communities/{community_id}", headers=headers).text

    members(h, community_id, 3, at=NOW - timedelta(days=2))  # newcomers: renewal, hence the score, go up
    meeting(h, community_id, NOW - timedelta(days=1), people[:6], 0)

    after = score_on_page()
    assert after == reports.number(score_from_api(), reports.Lang.FR)
    assert after != before
    page_after = h.api.get(f"/dashboard/communities/{community_id}", headers=headers).text
    health_chart = '<figure class="chart" data-chart="health">'
    assert page_after.split(health_chart, 1)[1][:20000] != page_before.split(health_chart, 1)[1][:20000]
    assert 'data-key="members.active"><dt>Membres actifs</dt><dd>9</dd>' in page_after


def _chart(values: list[float | None]) -> reports.ChartData:
    series = [charts.Series("Présences", values)]
    return reports.ChartData(
        "health", reports.ChartKind.LINE, "Santé", "Présences par mois.", ["2026-10", "2026-11"], series, "personnes"
    )


def test_a_chart_drawn_again_from_the_same_figures_is_the_same_and_new_figures_draw_a_new_one():
    first = reports.draw(_chart([3, 4]), charts.Format.SVG)

    assert reports.draw(_chart([3, 4]), charts.Format.SVG) == first
    assert reports.draw(_chart([3, 5]), charts.Format.SVG) != first
    assert reports.draw(_chart([3, 4]), charts.Format.SVG, titled=False) != first
    assert reports.draw(_chart([3, 4]), charts.Format.PNG).startswith(b"\x89PNG")
    assert reports._draw(_chart([3, 4]), charts.Format.SVG, titled=True) == first  # what is kept is what is drawn


def test_a_request_context_computes_once_and_a_new_request_computes_again():
    calls = []
    ctx = reports.Ctx(NOW, reports.Lang.FR)

    assert ctx.once(("k",), lambda: calls.append(1) or len(calls)) == 1
    assert ctx.once(("k",), lambda: calls.append(1) or len(calls)) == 1
    assert reports.Ctx(NOW, reports.Lang.FR).once(("k",), lambda: calls.append(1) or len(calls)) == 2


def test_active_members_at_each_months_end_count_a_person_once_and_hold_at_the_exact_boundaries():
    from cercle_insights.domain import health as domain

    march, april = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    facts = domain.Facts(
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        spans=[
            domain.Span("ann", datetime(2026, 1, 10, tzinfo=UTC), march),  # left at February's end: counted in Feb
            domain.Span("ann", april - timedelta(microseconds=1)),  # back the last instant of March
            domain.Span("bob", march),  # joined at March's start: not at February's end
            domain.Span("bob", datetime(2026, 3, 5, tzinfo=UTC)),  # a second membership: still one person
            domain.Span("cat", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),
            domain.Span("dan", datetime(2026, 2, 2, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),  # left before
        ],
    )

    points = domain.series(facts, now=datetime(2026, 4, 15, tzinfo=UTC), months=12)

    assert [(p.month.month, p.active_members) for p in points] == [(1, 1), (2, 1), (3, 2), (4, 2)]
