"""Reports people look at: every table as rows for a CSV download, the charts' data, and a dashboard's content.

Each table and chart reads through a view that checks the caller's scope first (the same checks as the JSON
routes); nothing here is member-level. Labels are bilingual, French first.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from cercle_shared.errors import NotFound
from cercle_shared.principal import Principal

from ..adapters import charts
from ..domain.model import Community, CommunitySession, SessionStatus
from . import access, views
from .unit_of_work import InsightsUnitOfWork


class Lang(StrEnum):
    FR = "fr"
    EN = "en"


class Scope(StrEnum):
    COMMUNITY = "community"
    REGION = "region"


@dataclass(frozen=True)
class Text:
    fr: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.en if lang is Lang.EN else self.fr


# --- tables -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: Text


@dataclass(frozen=True)
class Table:
    name: str
    title: Text
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]

    def header(self, lang: Lang) -> list[str]:
        return [c.label(lang) for c in self.columns]


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)  # numbers are data, never escaped
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(table: Table, lang: Lang = Lang.FR) -> str:
    """RFC 4180 CSV (CRLF), a header of translated column names, text cells made inert for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in table.header(lang)])
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


# --- charts' data -----------------------------------------------------------------------------------------------


class ChartKind(StrEnum):
    LINE = "line"
    BAR = "bar"
    FUNNEL = "funnel"  # horizontal bars, first step on top


@dataclass(frozen=True)
class ChartData:
    name: str
    kind: ChartKind
    title: str
    alt: str
    labels: Sequence[str]
    series: Sequence[charts.Series]
    y_label: str
    y_max: float | None = None
    empty_text: str = ""


def draw(chart: ChartData, fmt: charts.Format, *, titled: bool = True) -> bytes:
    common: dict[str, Any] = {
        "titled": titled,
        "title": chart.title,
        "alt": chart.alt,
        "series": chart.series,
        "y_label": chart.y_label,
        "y_max": chart.y_max,
        "empty_text": chart.empty_text,
        "fmt": fmt,
    }
    if chart.kind is ChartKind.LINE:
        return charts.line_chart(x_labels=chart.labels, **common)
    return charts.bar_chart(categories=chart.labels, horizontal=chart.kind is ChartKind.FUNNEL, **common)


NO_DATA = Text("Pas encore de données", "No data yet")


def _alt(lang: Lang, intro: Text, labels: Sequence[str], series: Sequence[charts.Series], unit: str = "") -> str:
    """The alt text: what the chart shows, in words (the last 12 points of each series)."""
    if not any(v is not None for s in series for v in s.values):
        return f"{intro(lang)} {NO_DATA(lang).lower()}."
    parts = []
    for s in series:
        points = [
            f"{label} {number(v, lang)}{unit}"
            for label, v in list(zip(labels, s.values, strict=False))[-12:]
            if v is not None
        ]
        parts.append((f"{s.label} : " if lang is Lang.FR else f"{s.label}: ") + ", ".join(points))
    sep = " ; " if lang is Lang.FR else "; "
    return f"{intro(lang)} {sep.join(parts)}."


# --- scope ------------------------------------------------------------------------------------------------------


def _community(uow: InsightsUnitOfWork, principal: Principal, community_id: str) -> Community:
    community = uow.replica.described(community_id)
    if community is None:
        raise NotFound("insights knows no such community (yet)", field="community_id")
    access.check_may_read_community(uow, principal, community)
    return community


def _sessions(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str) -> Sequence[CommunitySession]:
    if scope is Scope.COMMUNITY:
        return uow.replica.sessions_in([_community(uow, principal, key).id])
    access.check_may_read_region(principal, key)
    return uow.replica.sessions_in([c.id for c in uow.replica.in_region(key)])


# --- attendance over time ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendancePoint:
    period: str  # a session's day (community) or a month (region), ISO
    sessions: int
    present: int
    absent: int
    rate: float | None


def attendance_over_time(
    uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str
) -> list[AttendancePoint]:
    """Per day with sessions held (a community) or per month (a region): recorded attendance, oldest first."""
    with uow:
        sessions = _sessions(uow, principal, scope, key)
    buckets: dict[str, list[CommunitySession]] = defaultdict(list)
    for s in sessions:
        if s.present is None or s.starts_at is None or s.status == SessionStatus.CANCELLED:
            continue
        day = s.starts_at.date()
        buckets[day.isoformat() if scope is Scope.COMMUNITY else day.strftime("%Y-%m")].append(s)
    points = []
    for period in sorted(buckets):
        present = sum(s.present or 0 for s in buckets[period])
        absent = sum(s.absent or 0 for s in buckets[period])
        rate = round(present / (present + absent), 3) if present + absent else None
        points.append(AttendancePoint(period, len(buckets[period]), present, absent, rate))
    return points


ATTENDANCE_TITLE = Text("Présence au fil du temps", "Attendance over time")


def attendance_table(points: Sequence[AttendancePoint], scope: Scope) -> Table:
    period = Text("date", "date") if scope is Scope.COMMUNITY else Text("mois", "month")
    return Table(
        "attendance",
        ATTENDANCE_TITLE,
        [
            Column("period", period),
            Column("sessions", Text("séances", "sessions")),
            Column("present", Text("présents", "present")),
            Column("absent", Text("absents", "absent")),
            Column("rate", Text("taux de présence", "attendance rate")),
        ],
        [(p.period, p.sessions, p.present, p.absent, p.rate) for p in points],
    )


def attendance_chart(points: Sequence[AttendancePoint], lang: Lang) -> ChartData:
    labels = [p.period for p in points]
    rate = Text("Taux de présence (%)", "Attendance rate (%)")
    series = [charts.Series(rate(lang), [None if p.rate is None else round(p.rate * 100, 1) for p in points])]
    return ChartData(
        "attendance",
        ChartKind.LINE,
        ATTENDANCE_TITLE(lang),
        _alt(lang, Text("Taux de présence par période.", "Attendance rate by period."), labels, series, " %"),
        labels,
        series,
        y_label="%",
        y_max=100,
        empty_text=NO_DATA(lang),
    )


# --- indicators (members, sessions, registrations, attendance) --------------------------------------------------

INDICATOR_LABELS: dict[str, Text] = {
    "members.active": Text("Membres actifs", "Active members"),
    "members.joined_to_date": Text("Adhésions à ce jour", "Memberships started to date"),
    "members.left_to_date": Text("Départs à ce jour", "Memberships ended to date"),
    "members.average_tenure_days": Text("Ancienneté moyenne (jours)", "Average tenure (days)"),
    "sessions.total": Text("Séances prévues ou tenues", "Sessions scheduled or held"),
    "sessions.upcoming": Text("Séances à venir", "Upcoming sessions"),
    "sessions.held": Text("Séances tenues", "Sessions held"),
    "sessions.cancelled": Text("Séances annulées", "Sessions cancelled"),
    "registrations.confirmed": Text("Inscriptions confirmées", "Confirmed registrations"),
    "registrations.waitlisted": Text("Inscriptions en liste d'attente", "Waitlisted registrations"),
    "registrations.cancelled": Text("Inscriptions annulées", "Cancelled registrations"),
    "attendance.sessions_recorded": Text("Séances avec présences saisies", "Sessions with attendance recorded"),
    "attendance.present": Text("Présences", "Present"),
    "attendance.absent": Text("Absences", "Absent"),
    "attendance.rate": Text("Taux de présence", "Attendance rate"),
}


@dataclass(frozen=True)
class Indicators:
    title: Text  # the community's or region's name
    values: dict[str, float | int | None]  # keys of INDICATOR_LABELS, plus "communities.*" for a region
    as_of: datetime


def indicators(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, now: datetime) -> Indicators:
    if scope is Scope.COMMUNITY:
        result = views.community_stats(uow, principal, key, now)
        figures, title = result.figures, Text(result.community.name_fr, result.community.name_en or "")
        extra: dict[str, float | int | None] = {}
    else:
        region = views.region_stats(uow, principal, key, now)
        figures, title = region.figures, Text(f"Région {key}", f"Region {key}")
        extra = {f"communities.{k}": v for k, v in region.communities.items()}
    values: dict[str, float | int | None] = {}
    for group in ("members", "sessions", "registrations", "attendance"):
        for name, value in vars(getattr(figures, group)).items():
            if isinstance(value, int | float) or value is None:
                values[f"{group}.{name}"] = value
    return Indicators(title, {**extra, **values}, now)


COMMUNITY_COUNT_LABELS = {
    "communities.total": Text("Communautés", "Communities"),
    "communities.active": Text("Communautés actives", "Active communities"),
    "communities.paused": Text("Communautés en pause", "Paused communities"),
    "communities.closed": Text("Communautés fermées", "Closed communities"),
}


def indicator_label(key: str) -> Text:
    return INDICATOR_LABELS.get(key) or COMMUNITY_COUNT_LABELS.get(key) or Text(key, key)


INDICATORS_TITLE = Text("Indicateurs", "Indicators")


def indicators_table(result: Indicators, lang: Lang) -> Table:
    return Table(
        "indicators",
        INDICATORS_TITLE,
        [
            Column("indicator", Text("indicateur", "indicator")),
            Column("label", Text("libellé", "label")),
            Column("value", Text("valeur", "value")),
            Column("as_of", Text("au", "as_of")),
        ],
        [(k, indicator_label(k)(lang), v, result.as_of) for k, v in result.values.items()],
    )


# --- the registry: every table and chart, by name --------------------------------------------------------------

TableFn = Callable[[InsightsUnitOfWork, Principal, Scope, str, datetime, Lang], Table]
ChartFn = Callable[[InsightsUnitOfWork, Principal, Scope, str, datetime, Lang], ChartData]
BOTH = frozenset(Scope)


@dataclass(frozen=True)
class Report:
    """One downloadable table, and its chart when it has one."""

    title: Text
    table: TableFn
    chart: ChartFn | None = None
    scopes: frozenset[Scope] = BOTH


REPORTS: dict[str, Report] = {
    "indicators": Report(
        INDICATORS_TITLE,
        lambda uow, p, scope, key, now, lang: indicators_table(indicators(uow, p, scope, key, now), lang),
    ),
    "attendance": Report(
        ATTENDANCE_TITLE,
        lambda uow, p, scope, key, now, lang: attendance_table(attendance_over_time(uow, p, scope, key), scope),
        lambda uow, p, scope, key, now, lang: attendance_chart(attendance_over_time(uow, p, scope, key), lang),
    ),
}


def report(scope: Scope, name: str, *, charted: bool = False) -> Report:
    found = REPORTS.get(name)
    if found is None or scope not in found.scopes or (charted and found.chart is None):
        what = "chart" if charted else "table"
        raise NotFound(f"no such {what} for a {scope.value}: {name}", field=what)
    return found


def names(scope: Scope, *, charted: bool = False) -> list[str]:
    return [n for n, r in REPORTS.items() if scope in r.scopes and (r.chart is not None or not charted)]


# --- the dashboard page's content -------------------------------------------------------------------------------


def number(value: float | int | None, lang: Lang, *, percent: bool = False) -> str:
    """12 345 / 87,5 % in French; 12,345 / 87.5% in English; a dash without a figure."""
    if value is None:
        return "–"
    if percent:
        value = round(value * 100, 1)
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if lang is Lang.FR:
        text = text.replace(",", "\u202f").replace(".", ",")
    return text + (("\u00a0%" if lang is Lang.FR else "%") if percent else "")


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: str


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    key: str
    title: str
    subtitle: str
    headlines: Sequence[Headline]
    charts: Sequence[ChartData]
    indicators: Table
    as_of: datetime


HEADLINES: dict[Scope, Sequence[tuple[str, bool]]] = {
    Scope.COMMUNITY: (
        ("members.active", False),
        ("sessions.held", False),
        ("sessions.upcoming", False),
        ("attendance.rate", True),
        ("registrations.confirmed", False),
    ),
    Scope.REGION: (
        ("communities.total", False),
        ("members.active", False),
        ("sessions.held", False),
        ("attendance.rate", True),
        ("registrations.confirmed", False),
    ),
}


def dashboard(
    uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, now: datetime, lang: Lang
) -> Dashboard:
    """A community's or region's page: headline numbers, every chart it has, the indicators table."""
    result = indicators(uow, principal, scope, key, now)  # checks the caller's scope first
    headlines = [
        Headline(k, indicator_label(k)(lang), number(result.values.get(k), lang, percent=pct))
        for k, pct in HEADLINES[scope]
    ]
    charted = [REPORTS[name].chart for name in names(scope, charted=True)]
    chart_data = [chart(uow, principal, scope, key, now, lang) for chart in charted if chart is not None]
    subtitle = (
        Text("Tableau de bord de la communauté", "Community dashboard")
        if scope is Scope.COMMUNITY
        else Text("Tableau de bord de la région", "Region dashboard")
    )
    return Dashboard(
        scope,
        key,
        result.title(lang) or result.title.fr,
        subtitle(lang),
        headlines,
        chart_data,
        indicators_table(result, lang),
        now,
    )


def annual_report(
    uow: InsightsUnitOfWork, principal: Principal, community_id: str, year: int, now: datetime, lang: Lang
) -> Dashboard:
    """A community's year: sessions held and attendance in that year, its charts for that year, and the
    indicators to date."""
    page = dashboard(uow, principal, Scope.COMMUNITY, community_id, now, lang)  # checks the caller's scope first
    points = [
        p for p in attendance_over_time(uow, principal, Scope.COMMUNITY, community_id) if p.period[:4] == str(year)
    ]
    present, absent = sum(p.present for p in points), sum(p.absent for p in points)
    rate = present / (present + absent) if present + absent else None
    year_headlines = [
        Headline(
            "year.sessions",
            Text(f"Séances tenues en {year}", f"Sessions held in {year}")(lang),
            number(sum(p.sessions for p in points), lang),
        ),
        Headline("year.present", Text(f"Présences en {year}", f"Attendances in {year}")(lang), number(present, lang)),
        Headline(
            "year.rate",
            Text(f"Taux de présence en {year}", f"Attendance rate in {year}")(lang),
            number(rate, lang, percent=True),
        ),
        *[h for h in page.headlines if h.key == "members.active"],
    ]
    year_charts = [attendance_chart(points, lang), *[c for c in page.charts if c.name != "attendance"]]
    title = Text("Rapport annuel", "Annual report")(lang)
    return Dashboard(
        Scope.COMMUNITY, community_id, page.title, f"{title} {year}", year_headlines, year_charts, page.indicators, now
    )
