"""Reports to download: every table as CSV and every chart as SVG or PNG, for a community or a region.

Same bearer token and the same scopes as the JSON routes; counts only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ...adapters import charts
from ...service_layer import reports
from .. import schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(tags=["reports"])

TableName = StrEnum("TableName", {n: n for n in reports.REPORTS})  # type: ignore[misc]
ChartName = StrEnum("ChartName", {n: n for n in reports.CHART_REPORTS})  # type: ignore[misc]

CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]
RegionCode = Annotated[str, Path(pattern=schemas.REGION_CODE, description="Québec region code, 01 to 17.")]
LangQuery = Annotated[reports.Lang, Query(description="Language of headers and labels: fr (default) or en.")]

_CSV = {200: {"content": {"text/csv": {}}, "description": "The table as CSV (RFC 4180, UTF-8 with a BOM)."}}
_IMAGE = {200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "The chart."}}


def _csv(table: reports.Table, scope: reports.Scope, key: str, lang: reports.Lang) -> Response:
    # A BOM lets spreadsheet programs read the accents as UTF-8.
    body = "\ufeff" + reports.to_csv(table, lang)
    filename = f"cercle-{scope.value}-{key}-{table.name}.csv"
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _image(chart: reports.ChartData, fmt: charts.Format) -> Response:
    return Response(
        reports.draw(chart, fmt),
        media_type=charts.MEDIA_TYPES[fmt],
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _ctx(request: Request, clock: ClockDep, lang: reports.Lang) -> reports.Ctx:
    return reports.Ctx(clock(), lang, request.app.state.runtime.settings)


def _key(scope: reports.Scope, key: str) -> str:
    # Community ids are opaque: keep a file name safe whatever they hold.
    return (
        key
        if scope in (reports.Scope.REGION, reports.Scope.PROVINCE)
        else "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
    )


@router.get("/v1/communities/{community_id}/reports/{table}.csv", response_class=Response, responses=_CSV)
def community_table(
    community_id: CommunityId,
    table: TableName,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of a community's tables as CSV (who may read the community's indicators)."""
    scope = reports.Scope.COMMUNITY
    report = reports.report(scope, table.value)
    return _csv(
        report.table(uow, principal, scope, community_id, _ctx(request, clock, lang)),
        scope,
        _key(scope, community_id),
        lang,
    )


@router.get("/v1/regions/{code}/reports/{table}.csv", response_class=Response, responses=_CSV)
def region_table(
    code: RegionCode,
    table: TableName,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of a region's tables as CSV (operators, its coordinators, partners)."""
    scope = reports.Scope.REGION
    report = reports.report(scope, table.value)
    return _csv(report.table(uow, principal, scope, code, _ctx(request, clock, lang)), scope, code, lang)


@router.get("/v1/organizations/{organization_id}/reports/{table}.csv", response_class=Response, responses=_CSV)
def organization_table(
    organization_id: Annotated[str, Path(min_length=1, max_length=64, description="Organization id.")],
    table: TableName,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of an employer organization's tables as CSV (operators, coordinators, its own partner; figures about
    fewer than the threshold of people are empty)."""
    scope = reports.Scope.ORGANIZATION
    report = reports.report(scope, table.value)
    key = _key(scope, organization_id)
    return _csv(report.table(uow, principal, scope, organization_id, _ctx(request, clock, lang)), scope, key, lang)


@router.get("/v1/province/reports/{table}.csv", response_class=Response, responses=_CSV)
def province_table(
    table: TableName,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of the province's tables as CSV, each community counted once (operators, coordinators, partners)."""
    scope = reports.Scope.PROVINCE
    report = reports.report(scope, table.value)
    return _csv(report.table(uow, principal, scope, "qc", _ctx(request, clock, lang)), scope, "qc", lang)


@router.get("/v1/communities/{community_id}/charts/{chart}.{fmt}", response_class=Response, responses=_IMAGE)
def community_chart(
    community_id: CommunityId,
    chart: ChartName,
    fmt: charts.Format,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of a community's charts, as SVG or PNG."""
    scope = reports.Scope.COMMUNITY
    draw = reports.chart(scope, chart.value)
    return _image(draw(uow, principal, scope, community_id, _ctx(request, clock, lang)), fmt)


@router.get("/v1/regions/{code}/charts/{chart}.{fmt}", response_class=Response, responses=_IMAGE)
def region_chart(
    code: RegionCode,
    chart: ChartName,
    fmt: charts.Format,
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """One of a region's charts, as SVG or PNG."""
    scope = reports.Scope.REGION
    draw = reports.chart(scope, chart.value)
    return _image(draw(uow, principal, scope, code, _ctx(request, clock, lang)), fmt)
