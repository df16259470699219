"""Reports people look at: every table as rows for a CSV download, the charts' data, and a dashboard's content.

Each table and chart reads through a view that checks the caller's scope first (the same checks as the JSON
routes); nothing here is member-level. Labels are bilingual, French first.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from cercle_shared.errors import Forbidden, NotFound
from cercle_shared.principal import Principal

from ..adapters import charts
from ..domain.model import Community
from . import access, action_plans, breakdowns, surveys, views
from . import health as health_feature
from .unit_of_work import InsightsUnitOfWork


class Lang(StrEnum):
    FR = "fr"
    EN = "en"


class Scope(StrEnum):
    COMMUNITY = "community"
    REGION = "region"
    ORGANIZATION = "organization"  # an employer: tables only
    PROVINCE = "province"  # every community: tables only


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


# Drawn charts by everything they show: the same figures give the same bytes (the drawing is deterministic), so a
# page opened again, or by a colleague, is not drawn again; figures that changed are a new key, never a stale chart.
_DRAWN: OrderedDict[tuple[str, str, bool], bytes] = OrderedDict()
_DRAWN_MAX = 256
_DRAWN_LOCK = threading.Lock()


def _drawn_key(chart: ChartData, fmt: charts.Format, titled: bool) -> tuple[str, str, bool]:
    # repr: every field, and 1 and 1.0 (which a chart may label differently) stay two keys.
    return repr(chart), fmt.value, titled


def draw(chart: ChartData, fmt: charts.Format, *, titled: bool = True) -> bytes:
    key = _drawn_key(chart, fmt, titled)
    with _DRAWN_LOCK:
        found = _DRAWN.get(key)
        if found is not None:
            _DRAWN.move_to_end(key)
            return found
    drawn = _draw(chart, fmt, titled=titled)
    with _DRAWN_LOCK:
        _DRAWN[key] = drawn
        while len(_DRAWN) > _DRAWN_MAX:
            _DRAWN.popitem(last=False)
    return drawn


def _draw(chart: ChartData, fmt: charts.Format, *, titled: bool) -> bytes:
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
        return f"{intro(lang)} {NO_DATA(lang)}."
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


def _community_ids(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str) -> list[str]:
    if scope is Scope.COMMUNITY:
        return [_community(uow, principal, key).id]
    access.check_may_read_region(principal, key)
    return [c.id for c in uow.replica.in_region(key)]


# --- attendance over time ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendancePoint:
    period: str  # a session's day (community) or a month (region), ISO
    sessions: int
    present: int
    absent: int
    rate: float | None


def attendance_over_time(
    uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx | None = None
) -> list[AttendancePoint]:
    """Per day with sessions held (a community) or per month (a region): recorded attendance, oldest first."""
    if ctx is not None:
        return list(
            ctx.once(("attendance", principal, scope, key), lambda: attendance_over_time(uow, principal, scope, key))
        )
    with uow:
        recorded = uow.replica.attendance_in(_community_ids(uow, principal, scope, key))
    buckets: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for starts_at, present, absent in recorded:
        day = starts_at.date()
        buckets[day.isoformat() if scope is Scope.COMMUNITY else day.strftime("%Y-%m")].append((present, absent))
    points = []
    for period in sorted(buckets):
        present = sum(p for p, _ in buckets[period])
        absent = sum(a for _, a in buckets[period])
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


# --- context: the time, the language and the thresholds of this deployment --------------------------------------


@dataclass(frozen=True)
class Ctx:
    """One request's context; a new one per request, so what it remembers never outlives the request."""

    now: datetime
    lang: Lang
    settings: Any = None  # the service's Settings: anonymity thresholds, health rules
    # What this request already read (a page shows the health score and draws its chart from one computation).
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def setting(self, name: str, default: int) -> int:
        return int(getattr(self.settings, name, default))

    def once(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """`compute()` the first time this request asks for `key`, its result after (an error is not kept)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def _filters(scope: Scope, key: str) -> dict[str, str]:
    match scope:
        case Scope.COMMUNITY:
            return {"community_id": key}
        case Scope.REGION:
            return {"region": key}
        case Scope.ORGANIZATION:
            return {"organization_id": key}
        case _:
            return {}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1) if value <= 1 else round(value, 1)


# --- survey indicators (the annual surveys' four standard items), year by year ---------------------------------

SURVEY_TITLE = Text("Indicateurs des sondages annuels, par année", "Annual survey indicators, by year")
SURVEY_LABELS = {
    "practice_evolves": Text("Ma pratique évolue", "My practice evolves"),
    "spread_to_colleagues": Text("Rayonnement auprès des collègues", "Spread to colleagues"),
    "change_agent": Text("Agent·e de changement", "Change agent"),
    "new_tools_resources": Text("Nouveaux outils et ressources", "New tools and resources"),
}
NOT_ENOUGH = Text("pas assez de réponses", "not enough answers")


def survey_trend(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx) -> list[Any]:
    limit = ctx.setting("survey_min_group", 5)
    return list(
        ctx.once(
            ("survey", principal, scope, key),
            lambda: list(surveys.indicator_trend(uow, principal, **_filters(scope, key), min_group=limit)),
        )
    )


def survey_table(points: Sequence[Any], lang: Lang) -> Table:
    return Table(
        "survey-indicators",
        SURVEY_TITLE,
        [
            Column("year", Text("année", "year")),
            Column("indicator", Text("indicateur", "indicator")),
            Column("label", Text("libellé", "label")),
            Column("respondents", Text("répondants", "respondents")),
            Column("agree_pct", Text("% en accord", "% agree")),
            Column("change_pts", Text("écart (points)", "change (points)")),
            Column("note", Text("note", "note")),
        ],
        [
            (
                p.year,
                p.indicator,
                SURVEY_LABELS.get(p.indicator, Text(p.indicator, p.indicator))(lang),
                p.respondents,
                p.agree_pct,
                p.change_pts,
                NOT_ENOUGH(lang) if p.reason else None,
            )
            for p in points
        ],
    )


def survey_chart(points: Sequence[Any], lang: Lang) -> ChartData:
    years = sorted({p.year for p in points})
    by = {(p.indicator, p.year): _pct(p.agree_pct) for p in points}
    keys = [k for k in SURVEY_LABELS if any(p.indicator == k for p in points)]
    series = [charts.Series(SURVEY_LABELS[k](lang), [by.get((k, y)) for y in years]) for k in keys]
    labels = [str(y) for y in years]
    return ChartData(
        "indicators",
        ChartKind.BAR,
        Text("Indicateurs par année (% en accord)", "Indicators per year (% agree)")(lang),
        _alt(
            lang,
            Text("Pourcentage en accord par indicateur et par année.", "% agree by indicator and year."),
            labels,
            series,
            " %",
        ),
        labels,
        series,
        y_label=Text("% en accord", "% agree")(lang),
        y_max=100,
        empty_text=Text("Pas encore assez de réponses", "Not enough answers yet")(lang),
    )


# --- from idea to action: the funnel ---------------------------------------------------------------------------

FUNNEL_TITLE = Text("De l'idée à l'action", "From idea to action")
FUNNEL_STEPS = {
    "ideas": Text("Idées (plans ouverts)", "Ideas (plans opened)"),
    "followed_up": Text("Suivi prévu", "Follow-up planned"),
    "allies": Text("Alliés trouvés", "Allies found"),
    "pitched": Text("Présenté à la direction", "Pitched to management"),
    "deployed": Text("Déployé", "Deployed"),
}
FUNNEL_FIELDS = (*FUNNEL_STEPS, "dropped", "people")


def funnel(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx, **by: Any) -> Any:
    limit = ctx.setting("action_plan_min_group", 5)
    if by:
        return action_plans.funnel_rows(uow, principal, **by, **_filters(scope, key), min_group=limit)
    return ctx.once(
        ("funnel", principal, scope, key),
        lambda: action_plans.funnel(uow, principal, **_filters(scope, key), min_group=limit),
    )


def funnel_table(figures: Any, lang: Lang) -> Table:
    return Table(
        "funnel",
        FUNNEL_TITLE,
        [
            Column("step", Text("étape", "step")),
            Column("label", Text("libellé", "label")),
            Column("plans", Text("plans", "plans")),
        ],
        [
            *[(step, label(lang), getattr(figures, step)) for step, label in FUNNEL_STEPS.items()],
            ("dropped", Text("Abandonnés", "Dropped")(lang), figures.dropped),
            ("people", Text("Personnes", "People")(lang), figures.people),
        ],
    )


def funnel_rows_table(rows: Sequence[Any], by: str) -> Table:
    key = {
        "community": Text("communauté", "community"),
        "theme": Text("thème", "theme"),
        "organization": Text("organisation", "organization"),
        "year": Text("année", "year"),
    }[by]
    names = {"dropped": Text("abandonnés", "dropped"), "people": Text("personnes", "people")}
    return Table(
        f"funnel-by-{by}",
        Text(f"{FUNNEL_TITLE.fr}, par {key.fr}", f"{FUNNEL_TITLE.en}, by {key.en}"),
        [Column(by, key), *[Column(f, FUNNEL_STEPS.get(f) or names[f]) for f in FUNNEL_FIELDS]],
        [(r.key, *[getattr(r, f) for f in FUNNEL_FIELDS]) for r in rows],
    )


def funnel_chart(figures: Any, lang: Lang) -> ChartData:
    labels = [label(lang) for label in FUNNEL_STEPS.values()]
    values = [getattr(figures, step) for step in FUNNEL_STEPS]
    series = [charts.Series(Text("Plans d'action", "Action plans")(lang), values)]
    return ChartData(
        "funnel",
        ChartKind.FUNNEL,
        FUNNEL_TITLE(lang),
        _alt(
            lang,
            Text("Plans d'action ayant atteint chaque étape.", "Action plans that reached each step."),
            labels,
            series,
        ),
        labels,
        series,
        y_label=Text("plans d'action", "action plans")(lang),
        empty_text=Text("Pas assez de plans pour les montrer", "Not enough plans to show")(lang)
        if not getattr(figures, "enough", True)
        else NO_DATA(lang),
    )


# --- community health, month by month ---------------------------------------------------------------------------

HEALTH_TITLE = Text("Santé de la communauté, mois par mois", "Community health, month by month")
HEALTH_COLUMNS = {
    "month": Text("mois", "month"),
    "active_members": Text("membres actifs", "active members"),
    "joins": Text("arrivées", "joins"),
    "departures": Text("départs", "departures"),
    "sessions_held": Text("séances tenues", "sessions held"),
    "present": Text("présences", "present"),
    "absent": Text("absences", "absent"),
    "attendance_rate": Text("taux de présence", "attendance rate"),
    "first_timers": Text("nouveaux participants", "first-timers"),
    "proposals": Text("propositions de thèmes", "theme proposals"),
    "votes": Text("votes", "votes"),
    "proposals_per_member": Text("propositions par membre", "proposals per member"),
    "votes_per_member": Text("votes par membre", "votes per member"),
    "survey_agreement": Text("accord aux sondages", "survey agreement"),
    "actions_opened": Text("plans ouverts", "plans opened"),
    "actions_deployed": Text("plans déployés", "plans deployed"),
}
SIGNALS = {
    "attendance_down": Text(
        "Présence en baisse sur les 3 dernières séances", "Attendance down over the last 3 sessions"
    ),
    "no_new_member": Text("Aucun nouveau membre depuis 6 mois", "No new member in 6 months"),
    "participation_falling": Text("Propositions et votes en baisse", "Proposals and votes falling"),
    "aging": Text("Plus de 3 ans d'existence", "Older than 3 years"),
}


def health(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx) -> Any:
    months = ctx.setting("health_series_months", 24)
    rules = health_feature.rules_of(ctx.settings) if ctx.settings is not None else health_feature.Rules()
    if scope is Scope.COMMUNITY:
        read = lambda: health_feature.community_health(uow, principal, key, ctx.now, months=months, rules=rules)  # noqa: E731
    else:
        read = lambda: health_feature.region_health(uow, principal, key, ctx.now, months=months, rules=rules)  # noqa: E731
    return ctx.once(("health", principal, scope, key), read)


def health_table(view: Any) -> Table:
    return Table(
        "health",
        HEALTH_TITLE,
        [Column(k, label) for k, label in HEALTH_COLUMNS.items()],
        [tuple(getattr(p, k, None) for k in HEALTH_COLUMNS) for p in view.series],
    )


def health_chart(view: Any, lang: Lang) -> ChartData:
    labels = [p.month.strftime("%Y-%m") for p in view.series]
    series = [
        charts.Series(HEALTH_COLUMNS[k](lang).capitalize(), [getattr(p, k) for p in view.series])
        for k in ("active_members", "present", "joins", "departures")
    ]
    return ChartData(
        "health",
        ChartKind.LINE,
        HEALTH_TITLE(lang),
        _alt(
            lang,
            Text(
                "Membres actifs, présences, arrivées et départs par mois.",
                "Active members, attendance, joins and departures by month.",
            ),
            labels,
            series,
        ),
        labels,
        series,
        y_label=Text("personnes", "people")(lang),
        empty_text=NO_DATA(lang),
    )


def health_communities_table(view: Any) -> Table:
    return Table(
        "health-communities",
        Text("Santé des communautés de la région", "Health of the region's communities"),
        [
            Column("community_id", Text("communauté", "community")),
            Column("name_fr", Text("nom", "name (French)")),
            Column("name_en", Text("nom (anglais)", "name")),
            Column("score", Text("score de santé", "health score")),
            Column("signals", Text("signaux", "signals")),
            Column("alert", Text("alerte", "alert")),
        ],
        [(c.community_id, c.name_fr, c.name_en, c.score, " ".join(c.signals), c.status) for c in view.communities],
    )


# --- by year (a region's communities) ---------------------------------------------------------------------------

YEAR_COLUMNS = {
    "year": Text("année", "year"),
    "members": Text("membres", "members"),
    "joins": Text("arrivées", "joins"),
    "departures": Text("départs", "departures"),
    "average_tenure_days": Text("ancienneté moyenne (jours)", "average tenure (days)"),
    "sessions_held": Text("séances tenues", "sessions held"),
    "present": Text("présences", "present"),
    "attendance_rate": Text("taux de présence", "attendance rate"),
    "proposals": Text("propositions", "proposals"),
    "votes": Text("votes", "votes"),
    "actions_opened": Text("plans ouverts", "plans opened"),
    "actions_deployed": Text("plans déployés", "plans deployed"),
}


def by_year_table(years: Sequence[Any]) -> Table:
    return Table(
        "by-year",
        Text("Par année", "By year"),
        [Column(k, label) for k, label in YEAR_COLUMNS.items()],
        [tuple(getattr(y, k, None) for k in YEAR_COLUMNS) for y in years],
    )


def years(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx) -> Table:
    match scope:
        case Scope.REGION:
            return by_year_table(breakdowns.region_figures(uow, principal, key, ctx.now).years)
        case Scope.ORGANIZATION:
            limit = ctx.setting("breakdown_min_group", 5)
            return by_year_table(breakdowns.organization_figures(uow, principal, key, ctx.now, min_group=limit).years)
        case _:
            return by_year_table(breakdowns.province_figures(uow, principal, ctx.now).years)


def province_regions(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx) -> Table:
    """Each region's line for the latest year (a community of two regions appears in both)."""
    figures = breakdowns.province_figures(uow, principal, ctx.now)
    year_columns = [Column(k, label) for k, label in YEAR_COLUMNS.items()]
    return Table(
        "by-region",
        Text("Par région", "By region"),
        [
            Column("region", Text("région", "region")),
            Column("communities", Text("communautés", "communities")),
            *year_columns,
        ],
        [(r.region, r.communities, *[getattr(r.figures, c.key, None) for c in year_columns]) for r in figures.regions],
    )


# --- the registry: every table and chart, by name ---------------------------------------------------------------

TableFn = Callable[[InsightsUnitOfWork, Principal, Scope, str, Ctx], Table]
ChartFn = Callable[[InsightsUnitOfWork, Principal, Scope, str, Ctx], ChartData]
BOTH = frozenset({Scope.COMMUNITY, Scope.REGION})
REGION = frozenset({Scope.REGION})


@dataclass(frozen=True)
class Report:
    """One downloadable table, and its chart when it has one."""

    title: Text
    table: TableFn
    chart: ChartFn | None = None
    scopes: frozenset[Scope] = BOTH


def _funnel_by(by: str) -> TableFn:
    return lambda uow, p, scope, key, ctx: funnel_rows_table(funnel(uow, p, scope, key, ctx, by=by), by)


REPORTS: dict[str, Report] = {
    "indicators": Report(
        INDICATORS_TITLE,
        lambda uow, p, scope, key, ctx: indicators_table(indicators(uow, p, scope, key, ctx.now), ctx.lang),
    ),
    "attendance": Report(
        ATTENDANCE_TITLE,
        lambda uow, p, scope, key, ctx: attendance_table(attendance_over_time(uow, p, scope, key, ctx), scope),
        lambda uow, p, scope, key, ctx: attendance_chart(attendance_over_time(uow, p, scope, key, ctx), ctx.lang),
    ),
    "survey-indicators": Report(
        SURVEY_TITLE,
        lambda uow, p, scope, key, ctx: survey_table(survey_trend(uow, p, scope, key, ctx), ctx.lang),
        lambda uow, p, scope, key, ctx: survey_chart(survey_trend(uow, p, scope, key, ctx), ctx.lang),
    ),
    "funnel": Report(
        FUNNEL_TITLE,
        lambda uow, p, scope, key, ctx: funnel_table(funnel(uow, p, scope, key, ctx), ctx.lang),
        lambda uow, p, scope, key, ctx: funnel_chart(funnel(uow, p, scope, key, ctx), ctx.lang),
        scopes=frozenset({Scope.COMMUNITY, Scope.REGION, Scope.ORGANIZATION}),
    ),
    "funnel-by-year": Report(
        FUNNEL_TITLE, _funnel_by("year"), scopes=frozenset({Scope.COMMUNITY, Scope.REGION, Scope.ORGANIZATION})
    ),
    "funnel-by-theme": Report(FUNNEL_TITLE, _funnel_by("theme")),
    "funnel-by-organization": Report(FUNNEL_TITLE, _funnel_by("organization")),
    "funnel-by-community": Report(FUNNEL_TITLE, _funnel_by("community"), scopes=REGION),
    "health": Report(
        HEALTH_TITLE,
        lambda uow, p, scope, key, ctx: health_table(health(uow, p, scope, key, ctx)),
        lambda uow, p, scope, key, ctx: health_chart(health(uow, p, scope, key, ctx), ctx.lang),
    ),
    "health-communities": Report(
        HEALTH_TITLE,
        lambda uow, p, scope, key, ctx: health_communities_table(health(uow, p, scope, key, ctx)),
        scopes=REGION,
    ),
    "by-year": Report(
        Text("Par année", "By year"), years, scopes=frozenset({Scope.REGION, Scope.ORGANIZATION, Scope.PROVINCE})
    ),
    "by-region": Report(Text("Par région", "By region"), province_regions, scopes=frozenset({Scope.PROVINCE})),
}
# The dashboard's charts, in the order shown.
DASHBOARD_CHARTS = ("attendance", "indicators", "funnel", "health")
CHART_REPORTS = {"attendance": "attendance", "indicators": "survey-indicators", "funnel": "funnel", "health": "health"}


def report(scope: Scope, name: str) -> Report:
    found = REPORTS.get(name)
    if found is None or scope not in found.scopes:
        raise NotFound(f"no such table for a {scope.value}: {name}", field="table")
    return found


def chart(scope: Scope, name: str) -> ChartFn:
    found = REPORTS.get(CHART_REPORTS.get(name, ""))
    if found is None or found.chart is None or scope not in found.scopes:
        raise NotFound(f"no such chart for a {scope.value}: {name}", field="chart")
    return found.chart


def names(scope: Scope) -> list[str]:
    return [n for n, r in REPORTS.items() if scope in r.scopes]


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
    signals: Sequence[str] = ()  # the health signals in words, when the caller may read them
    tables: Sequence[str] = ()  # the CSV tables of this scope, by name


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


def _optional(read: Callable[[], Any]) -> Any:
    """A section the caller may not read (a member and the funnel), or whose feature has nothing: left out."""
    try:
        return read()
    except (Forbidden, NotFound):
        return None


def dashboard(uow: InsightsUnitOfWork, principal: Principal, scope: Scope, key: str, ctx: Ctx) -> Dashboard:
    """A community's or region's page: headline numbers, every chart the caller may read, the indicators table."""
    lang = ctx.lang
    result = indicators(uow, principal, scope, key, ctx.now)  # checks the caller's scope first
    headlines = [
        Headline(k, indicator_label(k)(lang), number(result.values.get(k), lang, percent=pct))
        for k, pct in HEADLINES[scope]
    ]
    drawn = {}
    for name in DASHBOARD_CHARTS:
        data = _optional(lambda name=name: chart(scope, name)(uow, principal, scope, key, ctx))
        if data is not None:
            drawn[name] = data
    extra: list[Headline] = []
    signals: list[str] = []
    funnel_view = _optional(lambda: funnel(uow, principal, scope, key, ctx))
    if funnel_view is not None and funnel_view.ideas is not None:
        extra.append(
            Headline(
                "funnel.deployed",
                Text("Plans d'action déployés", "Action plans deployed")(lang),
                f"{number(funnel_view.deployed, lang)} / {number(funnel_view.ideas, lang)}",
            )
        )
    if scope is Scope.COMMUNITY:
        health_view = _optional(lambda: health(uow, principal, scope, key, ctx))
        if health_view is not None:
            extra.append(
                Headline("health.score", Text("Score de santé", "Health score")(lang), number(health_view.score, lang))
            )
            signals = [SIGNALS.get(s, Text(s, s))(lang) for s in health_view.signals]
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
        [*headlines, *extra],
        list(drawn.values()),
        indicators_table(result, lang),
        ctx.now,
        signals,
        names(scope),
    )


def annual_report(uow: InsightsUnitOfWork, principal: Principal, community_id: str, year: int, ctx: Ctx) -> Dashboard:
    """A community's year: sessions held and attendance in that year, the survey indicators and the funnel of plans
    opened that year, and the indicators to date."""
    lang = ctx.lang
    page = dashboard(uow, principal, Scope.COMMUNITY, community_id, ctx)  # checks the caller's scope first
    points = [
        p for p in attendance_over_time(uow, principal, Scope.COMMUNITY, community_id, ctx) if p.period[:4] == str(year)
    ]
    present, absent = sum(p.present for p in points), sum(p.absent for p in points)
    rate = present / (present + absent) if present + absent else None
    headlines = [
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
        *[h for h in page.headlines if h.key in ("members.active", "health.score")],
    ]
    year_charts = [attendance_chart(points, lang)]
    survey = _optional(
        lambda: [
            p for p in survey_trend(uow, principal, Scope.COMMUNITY, community_id, ctx) if p.year in (year - 1, year)
        ]
    )
    if survey is not None:
        year_charts.append(survey_chart(survey, lang))
    plans = _optional(
        lambda: action_plans.funnel(
            uow, principal, community_id=community_id, year=year, min_group=ctx.setting("action_plan_min_group", 5)
        )
    )
    if plans is not None:
        year_charts.append(funnel_chart(plans, lang))
    year_charts += [c for c in page.charts if c.name == "health"]
    title = Text("Rapport annuel", "Annual report")(lang)
    return Dashboard(
        Scope.COMMUNITY,
        community_id,
        page.title,
        f"{title} {year}",
        headlines,
        year_charts,
        page.indicators,
        ctx.now,
        page.signals,
        page.tables,
    )
