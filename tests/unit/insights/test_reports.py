"""CSV downloads and charts of a community's and a region's tables: contents, scope, and spreadsheet safety."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from cercle_insights.service_layer import reports
from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from tests.support.services import auth

from . import events as ev

LAVAL, LAURENTIDES = "13", "15"


def held(community_id: str, at, present: int, absent: int):
    session = ev.scheduled(community_id, starts_at=at)
    return [
        session,
        ses.SessionHeld(session_id=session.session_id, community_id=community_id, starts_at=at, held_at=at),
        ses.SessionAttendanceRecorded(
            session_id=session.session_id,
            community_id=community_id,
            confirmed=present + absent,
            present=present,
            absent=absent,
            recorded_at=at + timedelta(hours=3),
        ),
    ]


@pytest.fixture
def laval(project):
    """A Laval community with two members and three sessions held: 8/10, 6/8, then 9/10 present."""
    community = ev.new_id()
    project(
        ev.community_created(community, regions=[LAVAL], name="CoP Laval"),
        ev.joined(community, "m-1", at=ev.day(0)),
        ev.joined(community, "m-2", at=ev.day(0)),
        *held(community, ev.day(10), 8, 2),
        *held(community, ev.day(40), 6, 2),
        *held(community, ev.day(70), 9, 1),
    )
    return community


def _rows(response):
    assert response.content.startswith("\ufeff".encode())  # spreadsheets read the accents as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_attendance_over_time_downloads_as_csv_one_row_per_session_day(insights, laval):
    response = insights.api.get(f"/v1/communities/{laval}/reports/attendance.csv", headers=insights.as_operator())

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="cercle-community-{laval}-attendance.csv"'
    assert response.headers["cache-control"] == "no-store"
    assert _rows(response) == [
        ["date", "séances", "présents", "absents", "taux de présence"],
        [ev.day(10).date().isoformat(), "1", "8", "2", "0.8"],
        [ev.day(40).date().isoformat(), "1", "6", "2", "0.75"],
        [ev.day(70).date().isoformat(), "1", "9", "1", "0.9"],
    ]


def test_headers_are_in_english_on_request(insights, laval):
    url = f"/v1/communities/{laval}/reports/attendance.csv?lang=en"
    rows = _rows(insights.api.get(url, headers=insights.as_operator()))
    assert rows[0] == ["date", "sessions", "present", "absent", "attendance rate"]


def test_indicators_download_as_one_row_per_indicator(insights, laval):
    rows = _rows(insights.api.get(f"/v1/communities/{laval}/reports/indicators.csv", headers=insights.as_operator()))
    values = {row[0]: row[2] for row in rows[1:]}
    assert rows[0] == ["indicateur", "libellé", "valeur", "au"]
    assert (values["members.active"], values["sessions.held"], values["attendance.present"]) == ("2", "3", "23")
    assert values["attendance.rate"] == "0.821"
    assert {row[1] for row in rows[1:] if row[0] == "members.active"} == {"Membres actifs"}


def test_a_region_sums_its_communities_by_month(insights, project, laval):
    other = ev.new_id()
    project(ev.community_created(other, regions=[LAVAL], name="CoP 2"), *held(other, ev.day(11), 1, 1))
    rows = _rows(
        insights.api.get(f"/v1/regions/{LAVAL}/reports/attendance.csv", headers=insights.as_coordinator(LAVAL))
    )
    month = ev.day(10).strftime("%Y-%m")
    assert rows[0][0] == "mois"
    assert [month, "2", "9", "3", "0.75"] in rows


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (auth("operator"), 200),
        (auth("partner", organization_id="org-1"), 200),
        (auth("coordinator", regions=[LAVAL]), 200),
        (auth("coordinator", regions=[LAURENTIDES]), 403),
        (auth("member", member_id="m-1"), 200),
        (auth("member", member_id="m-stranger"), 403),
        ({}, 401),
    ],
)
def test_downloads_have_the_scope_of_the_json_routes(insights, laval, headers, status):
    for path in ("reports/attendance.csv", "reports/indicators.csv", "charts/attendance.svg"):
        response = insights.api.get(f"/v1/communities/{laval}/{path}", headers=headers)
        assert response.status_code == status, path
        if status != 200:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_region_table_is_for_its_coordinators(insights, laval):
    url = f"/v1/regions/{LAVAL}/reports/indicators.csv"
    assert insights.api.get(url, headers=insights.as_coordinator(LAURENTIDES)).status_code == 403
    assert insights.api.get(url, headers=insights.as_member("m-1")).status_code == 403


def test_unknown_tables_charts_and_communities_are_problems_not_errors(insights, laval):
    op = insights.as_operator()
    unknown_table = insights.api.get(f"/v1/communities/{laval}/reports/salaries.csv", headers=op)
    assert unknown_table.status_code == 422
    assert unknown_table.json()["errors"][0]["field"] == "table"
    assert insights.api.get(f"/v1/communities/{laval}/charts/attendance.gif", headers=op).status_code == 422
    assert insights.api.get(f"/v1/communities/{laval}/charts/salaries.svg", headers=op).status_code == 422
    region_only = insights.api.get(f"/v1/communities/{laval}/reports/by-year.csv", headers=op)
    assert region_only.status_code == 404
    assert region_only.json()["errors"][0]["field"] == "table"
    assert insights.api.get("/v1/communities/nope/reports/attendance.csv", headers=op).status_code == 404
    assert insights.api.get("/v1/regions/99/reports/attendance.csv", headers=op).status_code == 422


@pytest.mark.parametrize("hostile", ['=HYPERLINK("x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_cells_that_a_spreadsheet_would_run_are_made_inert(hostile):
    table = reports.Table(
        "t",
        reports.Text("t", "t"),
        [reports.Column("name", reports.Text("=nom", "name")), reports.Column("n", reports.Text("n", "n"))],
        [(hostile, -3)],
    )
    rows = list(csv.reader(io.StringIO(reports.to_csv(table))))
    assert rows == [["'=nom", "n"], ["'" + hostile, "-3"]]  # a negative number stays a number


def test_charts_come_as_svg_with_a_title_and_as_png(insights, laval):
    op = insights.as_operator()
    svg = insights.api.get(f"/v1/communities/{laval}/charts/attendance.svg", headers=op)
    png = insights.api.get(f"/v1/communities/{laval}/charts/attendance.png?lang=en", headers=op)

    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "<title>Présence au fil du temps</title>" in svg.text
    assert "80 %" in svg.text  # the alt text names each point's rate
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_chart_is_the_same_bytes_for_the_same_figures(insights, laval):
    op = insights.as_operator()
    for fmt in ("svg", "png"):
        url = f"/v1/communities/{laval}/charts/attendance.{fmt}"
        assert insights.api.get(url, headers=op).content == insights.api.get(url, headers=op).content


COMMUNITY_TABLES = [n for n, r in reports.REPORTS.items() if reports.Scope.COMMUNITY in r.scopes]
REGION_TABLES = [n for n, r in reports.REPORTS.items() if reports.Scope.REGION in r.scopes]


@pytest.mark.parametrize("table", COMMUNITY_TABLES)
def test_every_community_table_downloads_with_its_header(insights, laval, table):
    response = insights.api.get(f"/v1/communities/{laval}/reports/{table}.csv", headers=insights.as_operator())
    assert response.status_code == 200, response.text
    rows = _rows(response)
    assert rows
    assert all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize("table", REGION_TABLES)
def test_every_region_table_downloads_with_its_header(insights, laval, table):
    response = insights.api.get(f"/v1/regions/{LAVAL}/reports/{table}.csv", headers=insights.as_coordinator(LAVAL))
    assert response.status_code == 200, response.text
    assert _rows(response)


@pytest.mark.parametrize("chart", sorted(reports.CHART_REPORTS))
@pytest.mark.parametrize("scope", ["communities/{laval}", "regions/13"])
def test_every_chart_draws_for_both_scopes(insights, laval, chart, scope):
    url = f"/v1/{scope.format(laval=laval)}/charts/{chart}.svg"
    response = insights.api.get(url, headers=insights.as_operator())
    assert response.status_code == 200, response.text
    assert "<svg" in response.text


def test_the_funnel_lists_each_step_of_the_road(insights, laval):
    rows = _rows(
        insights.api.get(f"/v1/communities/{laval}/reports/funnel.csv?lang=en", headers=insights.as_operator())
    )
    assert rows[0] == ["step", "label", "plans"]
    assert [r[0] for r in rows[1:]] == ["ideas", "followed_up", "allies", "pitched", "deployed", "dropped", "people"]


def test_a_member_may_not_download_the_funnel_but_reads_her_communitys_attendance(insights, laval):
    member = insights.as_member("m-1")
    assert insights.api.get(f"/v1/communities/{laval}/reports/funnel.csv", headers=member).status_code == 403
    assert insights.api.get(f"/v1/communities/{laval}/reports/attendance.csv", headers=member).status_code == 200


@pytest.mark.parametrize("table", ["by-year", "by-region"])
def test_the_province_tables_download_for_operators_and_coordinators_only(insights, laval, table):
    url = f"/v1/province/reports/{table}.csv"
    response = insights.api.get(url, headers=insights.as_coordinator(LAVAL))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="cercle-province-qc-{table}.csv"'
    assert _rows(response)[0][0] in ("année", "région")
    assert insights.api.get(url, headers=insights.as_member("m-1")).status_code == 403


def test_a_partner_downloads_her_own_organizations_figures_only(insights, project, laval):
    for org in ("org-1", "org-2"):
        project(reg.OrganizationCreated(organization_id=org, name=f"CISSS {org}", region=LAVAL, created_at=ev.day(0)))
    own = insights.api.get("/v1/organizations/org-1/reports/by-year.csv", headers=insights.as_partner("org-1"))
    assert own.status_code == 200, own.text
    assert _rows(own)[0][:2] == ["année", "membres"]
    other = insights.api.get("/v1/organizations/org-2/reports/by-year.csv", headers=insights.as_partner("org-1"))
    assert other.status_code == 403
    assert (
        insights.api.get("/v1/organizations/org-1/reports/attendance.csv", headers=insights.as_operator()).status_code
        == 404
    )
