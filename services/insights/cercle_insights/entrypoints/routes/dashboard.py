"""Dashboard pages a person opens in a browser: a community's or a region's figures and charts, server-rendered.

A browser cannot send a bearer header from a link: the API hands out a short-lived signed link for one page
(POST /v1/dashboard-links) that carries the caller's own rights; a bearer header is accepted too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from markupsafe import Markup
from pydantic import BaseModel, Field, model_validator

from cercle_shared.auth import authenticate
from cercle_shared.principal import Principal
from cercle_shared.web.schemas import StrictModel

from ...adapters import charts
from ...service_layer import dashboard_links, reports
from .. import pages, schemas
from ..deps import ClockDep, PrincipalDep, UowDep

router = APIRouter(tags=["dashboard"])

CommunityId = Annotated[str, Path(min_length=1, max_length=64, description="Community id.")]
RegionCode = Annotated[str, Path(pattern=schemas.REGION_CODE, description="Québec region code, 01 to 17.")]
LangQuery = Annotated[reports.Lang, Query(description="fr (default) or en.")]
TokenQuery = Annotated[
    str | None, Query(max_length=4000, description="The signed token of a link from POST /v1/dashboard-links.")
]

# --- the link --------------------------------------------------------------------------------------------------


class DashboardLinkCreate(StrictModel):
    community_id: str | None = Field(default=None, min_length=1, max_length=64, description="A community's page…")
    region: str | None = Field(default=None, pattern=schemas.REGION_CODE, description="…or a region's page.")
    lang: reports.Lang = Field(default=reports.Lang.FR, description="The page's language (fr or en).")

    @model_validator(mode="after")
    def _one_target(self) -> DashboardLinkCreate:
        if (self.community_id is None) == (self.region is None):
            raise ValueError("give either community_id or region")
        return self

    def target(self) -> dashboard_links.Target:
        if self.community_id is not None:
            return dashboard_links.Target(reports.Scope.COMMUNITY, self.community_id)
        assert self.region is not None
        return dashboard_links.Target(reports.Scope.REGION, self.region)


class DashboardLinkPublic(BaseModel):
    url: str = Field(description="Open it in a browser; it works until expires_at, for this page only.")
    expires_at: str = Field(description="When the link stops working (ISO 8601, UTC).")


def _page_path(target: dashboard_links.Target) -> str:
    if target.scope is reports.Scope.COMMUNITY:
        return f"/dashboard/communities/{target.key}"
    return f"/dashboard/regions/{target.key}"


@router.post("/v1/dashboard-links", response_model=DashboardLinkPublic, status_code=201)
def create_dashboard_link(
    body: DashboardLinkCreate, request: Request, principal: PrincipalDep, uow: UowDep, clock: ClockDep
):
    """A short-lived link to a dashboard page the caller may read, for a browser; it carries the caller's rights."""
    settings = request.app.state.runtime.settings
    link = dashboard_links.issue(
        uow,
        principal,
        body.target(),
        secret=request.app.state.jwt_secret,
        now=clock(),
        ttl=timedelta(seconds=settings.dashboard_link_ttl),
    )
    query = urlencode({"token": link.token, **({"lang": body.lang.value} if body.lang is reports.Lang.EN else {})})
    url = str(request.base_url).rstrip("/") + _page_path(link.target) + "?" + query
    return DashboardLinkPublic(url=url, expires_at=link.expires_at.isoformat())


# --- the pages -------------------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="A JWT, or a signed link's token in the query.")


def _principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    token: str | None,
    target: dashboard_links.Target,
    clock: ClockDep,
) -> Principal:
    if token is not None:
        return dashboard_links.open_link(token, target, secret=request.app.state.jwt_secret, now=clock())
    return authenticate(request, credentials)  # 401 without a bearer token either


# The dependencies take the path's value unchecked, so that a caller without credentials hears 401 first; the
# routes validate it.
def _community_principal(
    request: Request,
    community_id: str,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: TokenQuery = None,
) -> Principal:
    return _principal(request, credentials, token, dashboard_links.Target(reports.Scope.COMMUNITY, community_id), clock)


def _region_principal(
    request: Request,
    code: str,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: TokenQuery = None,
) -> Principal:
    return _principal(request, credentials, token, dashboard_links.Target(reports.Scope.REGION, code), clock)


TEXTS = {
    "headlines": reports.Text("Chiffres clés", "Key figures"),
    "signals": reports.Text("Signes de déclin à surveiller", "Signs of decline to watch"),
    "indicator": reports.Text("Indicateur", "Indicator"),
    "value": reports.Text("Valeur", "Value"),
    "language": reports.Text("Langue", "Language"),
    "as_of": reports.Text("Chiffres calculés le", "Figures computed on"),
    "privacy": reports.Text(
        "Des agrégats seulement : aucune donnée individuelle.", "Aggregates only: no individual data."
    ),
    "annual_report": reports.Text("Rapport annuel (à imprimer)", "Annual report (printable)"),
    "annual_report_of": reports.Text("Rapport annuel", "Annual report"),
    "print_hint": reports.Text(
        "Imprimez cette page ou enregistrez-la en PDF depuis votre navigateur.",
        "Print this page or save it as PDF from your browser.",
    ),
}


class ChartView(BaseModel):
    name: str
    title: str
    alt: str
    svg: str


def _html(
    request: Request, template: str, page: reports.Dashboard, lang: reports.Lang, **extra: object
) -> HTMLResponse:
    other = reports.Lang.EN if lang is reports.Lang.FR else reports.Lang.FR
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    other_url = request.url.path + "?" + urlencode({**params, **({"lang": "en"} if other is reports.Lang.EN else {})})
    chart_views = [
        ChartView(
            name=c.name,
            title=c.title,
            alt=c.alt,
            svg=charts.inline_svg(reports.draw(c, charts.Format.SVG, titled=False)),
        )
        for c in page.charts
    ]
    rows = [
        (key, reports.indicator_label(key)(lang), value)
        for key, _label, value, _as_of in (tuple(r) for r in page.indicators.rows)
    ]
    body = pages.render(
        template,
        lang=lang.value,
        lang_enum=lang,
        t={k: v(lang) for k, v in TEXTS.items()},
        page=page,
        charts=[{**c.model_dump(), "svg": Markup(c.svg)} for c in chart_views],  # ours: matplotlib escapes labels
        indicator_rows=[(k, label, _shown(k, v, lang)) for k, label, v in rows],
        as_of=page.as_of.strftime("%Y-%m-%d %H:%M UTC"),
        other_lang_url=other_url.rstrip("?"),
        **extra,
    )
    return HTMLResponse(body, headers=pages.page_headers())


def _shown(key: str, value: object, lang: reports.Lang) -> str:
    if value is None or isinstance(value, int | float):
        return reports.number(value, lang, percent=key.endswith(".rate"))  # type: ignore[arg-type]
    return str(value)


def _ctx(request: Request, clock: ClockDep, lang: reports.Lang) -> reports.Ctx:
    return reports.Ctx(clock(), lang, request.app.state.runtime.settings)


_HTML = {200: {"content": {"text/html": {}}, "description": "The page."}}


@router.get("/dashboard/communities/{community_id}", response_class=HTMLResponse, responses=_HTML)
def community_dashboard(
    community_id: CommunityId,
    request: Request,
    principal: Annotated[Principal, Depends(_community_principal)],
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """A community's dashboard page (a signed link's token or a bearer token; who may read its indicators)."""
    page = reports.dashboard(uow, principal, reports.Scope.COMMUNITY, community_id, _ctx(request, clock, lang))
    params = {k: v for k, v in request.query_params.items() if k != "year"}
    report_url = f"{request.url.path}/report?{urlencode(params)}".rstrip("?")
    return _html(request, "dashboard/page.html.j2", page, lang, report_url=report_url)


@router.get("/dashboard/regions/{code}", response_class=HTMLResponse, responses=_HTML)
def region_dashboard(
    code: RegionCode,
    request: Request,
    principal: Annotated[Principal, Depends(_region_principal)],
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
):
    """A region's dashboard page (operators, its coordinators, partners)."""
    page = reports.dashboard(uow, principal, reports.Scope.REGION, code, _ctx(request, clock, lang))
    return _html(request, "dashboard/page.html.j2", page, lang, report_url=None)


Year = Annotated[int | None, Query(ge=2000, le=2100, description="The year reported on; this year by default.")]


@router.get("/dashboard/communities/{community_id}/report", response_class=HTMLResponse, responses=_HTML)
def community_annual_report(
    community_id: CommunityId,
    request: Request,
    principal: Annotated[Principal, Depends(_community_principal)],
    uow: UowDep,
    clock: ClockDep,
    lang: LangQuery = reports.Lang.FR,
    year: Year = None,
):
    """A community's annual report, a page to print (or save as PDF from the browser)."""
    ctx = _ctx(request, clock, lang)
    chosen = year or ctx.now.year
    page = reports.annual_report(uow, principal, community_id, chosen, ctx)
    return _html(request, "dashboard/report.html.j2", page, lang, year=chosen)
