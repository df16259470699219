"""Surveys (issue 11): who is asked, when, how answers are taken apart from identities, and what results show.

- reactions keep two projections: consents to surveys, and the members present at each held session;
- one job (`send-survey-messages`) opens the feedback survey of a held session the day after, invites the members
  who were present and consented (and, for an open annual survey, the consenting members of its communities), and
  sends reminders while she has not answered; every message has a deterministic id and a unique row behind it;
- answers come through a signed link (no sign-in) or the member's own token; the answer row holds no member id
  and no time, the invitation only "answered";
- results: % agree per indicator, by community, region, year or theme, only for groups of at least `min_group`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db import storable
from cercle_shared.errors import Forbidden, InvalidInput, NotFound
from cercle_shared.messaging import EventContext
from cercle_shared.principal import Principal, Role

from ..domain import surveys as domain
from ..domain.surveys import Answer, Invitation, Item, Survey, SurveyKind
from .unit_of_work import InsightsUnitOfWork

Dimension = Literal["community", "region", "year", "theme"]


@dataclass(frozen=True)
class SurveyPolicy:
    """The settings surveys run by (built from config.Settings by the entrypoints)."""

    public_url: str
    secret: bytes
    min_group: int = 5
    feedback_delay: timedelta = timedelta(hours=24)
    feedback_open: timedelta = timedelta(days=14)
    reminder_days: tuple[int, ...] = (3, 7)

    def answer_url(self, invitation_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/v1/survey-answers/{sign(self.secret, invitation_id)}"


# --- answer links ---------------------------------------------------------------------------------------------


def link_key(jwt_secret: str) -> bytes:
    """A key of its own for answer links, derived from the service's secret."""
    return hashlib.sha256(b"cercle-insights/survey-answer-link\x00" + jwt_secret.encode()).digest()


def _mac(secret: bytes, invitation_id: str) -> str:
    digest = hmac.new(secret, invitation_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: bytes, invitation_id: str) -> str:
    return f"{invitation_id}.{_mac(secret, invitation_id)}"


def _invitation_of_token(token: str, secret: bytes) -> str:
    invitation_id, _, mac = token.partition(".")
    if not mac or len(token) > 200 or not hmac.compare_digest(mac, _mac(secret, invitation_id)):
        raise NotFound("no such survey link", field="token")
    return invitation_id


# --- reactions ------------------------------------------------------------------------------------------------


MEMBER_ID_MAX = 64  # the width of every member id column: a longer one is nobody insights could invite


def consent_changed(event: reg.MemberConsentChanged, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    if event.purpose != "surveys" or len(event.member_id) > MEMBER_ID_MAX:
        return
    if uow.replica.erased_at(event.member_id) is not None:
        return
    uow.surveys.set_consent(event.member_id, event.granted, storable.instant(event.changed_at))


def session_held(event: ses.SessionHeld, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    theme_id = event.theme_id if event.theme_id is None or len(event.theme_id) <= MEMBER_ID_MAX else None
    uow.surveys.note_held(event.session_id, event.community_id, theme_id, storable.instant(event.starts_at))


def attendance_recorded(event: ses.SessionAttendanceRecorded, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    present = sorted(
        {m for m in event.present_member_ids if len(m) <= MEMBER_ID_MAX and uow.replica.erased_at(m) is None}
    )
    uow.surveys.note_present(event.session_id, event.community_id, present, storable.instant(event.recorded_at))


def member_erased(event: reg.MemberErased, uow: InsightsUnitOfWork, ctx: EventContext) -> None:
    """Everything that names her goes; her answers, which never named her, stay in the results."""
    uow.surveys.forget_member(event.member_id)


# --- the job: open feedback surveys, invite, remind ------------------------------------------------------------


@dataclass
class Sent:
    surveys_opened: list[str] = field(default_factory=list)
    invitations: int = 0
    reminders: int = 0


def send_survey_messages(uow: InsightsUnitOfWork, at: datetime, policy: SurveyPolicy) -> Sent:
    sent = Sent()
    _open_feedback_surveys(uow, at, policy, sent)
    with uow:  # which surveys have anything to do, in a few set-based queries: most runs find none
        open_surveys = uow.surveys.open_at(at)
        busy = uow.surveys.with_due_messages(open_surveys, at) | uow.surveys.with_newcomers(at)
        open_ids = [s.id for s in open_surveys if s.id in busy]
    for survey_id in open_ids:
        with uow:
            survey = uow.surveys.get(survey_id, lock=True)
            if survey is None or not survey.is_open(at):
                continue
            _invite_newcomers(uow, survey, at)
            _send_due(uow, survey, at, policy, sent)
            uow.commit()
    return sent


def _open_feedback_surveys(uow: InsightsUnitOfWork, at: datetime, policy: SurveyPolicy, sent: Sent) -> None:
    with uow:
        window = uow.surveys.held_sessions_without_survey(
            after=at - policy.feedback_delay - policy.feedback_open, until=at - policy.feedback_delay
        )
        for held in window:
            session_day = held.starts_at or held.recorded_at
            if session_day is None or not held.present_member_ids:
                continue
            due = session_day + policy.feedback_delay
            if at < due or at >= due + policy.feedback_open:
                continue  # not yet; or long past (a first deployment, a replay): nobody is asked weeks later
            survey = Survey.feedback(
                session_id=held.session_id,
                community_id=held.community_id,
                theme_id=held.theme_id,
                session_day=session_day,
                opens_at=at,
                open_for=policy.feedback_open,
                reminder_days=policy.reminder_days,
            )
            if uow.surveys.get(survey.id) is None:
                uow.surveys.add(survey)
                sent.surveys_opened.append(survey.id)
        uow.commit()


def _targets(uow: InsightsUnitOfWork, survey: Survey) -> list[tuple[str, str | None]]:
    """(member_id, community_id) of whoever this survey asks, before consent."""
    if survey.kind == SurveyKind.SESSION_FEEDBACK and survey.session_id is not None:
        return [(m, survey.community_id) for m in uow.surveys.present_at(survey.session_id)]
    if survey.community_id is not None:
        communities = [survey.community_id]
    elif survey.region is not None:
        communities = uow.surveys.communities_in([survey.region])
    else:
        return []
    return [(m, c) for m, c in uow.surveys.active_members(communities)]


def _invite_newcomers(uow: InsightsUnitOfWork, survey: Survey, at: datetime) -> None:
    """Members who became eligible while the survey is open (a corrected attendance, a new member) are asked too."""
    targets = _targets(uow, survey)
    consenting = uow.surveys.consenting([m for m, _ in targets])
    invited = {i.member_id for i in uow.surveys.invitations_to(survey.id)}
    for member_id, community_id in targets:
        if member_id in consenting and member_id not in invited:
            uow.surveys.add_invitation(Invitation.to(survey, member_id, community_id, at))
    uow.flush()


def _send_due(uow: InsightsUnitOfWork, survey: Survey, at: datetime, policy: SurveyPolicy, sent: Sent) -> None:
    invitations = uow.surveys.invitations_to(survey.id, lock=True)
    consenting = uow.surveys.consenting([i.member_id for i in invitations])
    for invitation in invitations:
        round_ = invitation.due_round(survey, at)
        if round_ is None or invitation.member_id not in consenting:
            continue  # answered, all reminders sent, or she withdrew her consent: nothing more
        invitation.send(survey, round_, policy.answer_url(invitation.id), at)
        if round_ == 0:
            sent.invitations += 1
        else:
            sent.reminders += 1


# --- opening and closing an annual survey ----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSurvey:
    year: int
    opens_at: datetime
    closes_at: datetime
    community_id: str | None = None
    region: str | None = None
    theme_id: str | None = None
    title_fr: str | None = None
    title_en: str | None = None
    reminder_days: tuple[int, ...] | None = None
    custom_items: tuple[Item, ...] = ()


def open_survey(
    cmd: OpenSurvey, uow: InsightsUnitOfWork, principal: Principal, at: datetime, policy: SurveyPolicy
) -> Survey:
    with uow:
        _check_may_run(uow, principal, cmd.community_id, cmd.region)
        survey = Survey.annual(
            survey_id=str(uuid.uuid4()),
            year=cmd.year,
            community_id=cmd.community_id,
            region=cmd.region,
            theme_id=cmd.theme_id,
            title_fr=cmd.title_fr,
            title_en=cmd.title_en,
            opens_at=cmd.opens_at,
            closes_at=cmd.closes_at,
            reminder_days=policy.reminder_days if cmd.reminder_days is None else cmd.reminder_days,
            custom_items=cmd.custom_items,
            created_by=principal.subject,
            at=at,
        )
        uow.surveys.add(survey)
        uow.commit()
        return survey


def close_survey(survey_id: str, uow: InsightsUnitOfWork, principal: Principal, at: datetime) -> Survey:
    with uow:
        survey = _survey(uow, survey_id, lock=True)
        _check_may_run(uow, principal, survey.community_id, survey.region)
        survey.close(at)
        uow.commit()
        return survey


# --- answering -------------------------------------------------------------------------------------------------


def answer_with_link(
    token: str, answers: Mapping[str, object], uow: InsightsUnitOfWork, at: datetime, policy: SurveyPolicy
) -> Survey:
    invitation_id = _invitation_of_token(token, policy.secret)
    with uow:
        invitation = uow.surveys.invitation(invitation_id, lock=True)
        if invitation is None:
            raise NotFound("no such survey link", field="token")
        return _answer(uow, invitation, answers, at)


def answer_as_member(
    survey_id: str, answers: Mapping[str, object], uow: InsightsUnitOfWork, principal: Principal, at: datetime
) -> Survey:
    if principal.role is not Role.MEMBER or principal.member_id is None:
        raise Forbidden("only the member invited answers a survey", field="survey_id")
    with uow:
        invitation = uow.surveys.invitation_of(survey_id, principal.member_id, lock=True)
        if invitation is None:
            raise NotFound("you are not invited to this survey", field="survey_id")
        return _answer(uow, invitation, answers, at)


def _answer(uow: InsightsUnitOfWork, invitation: Invitation, answers: Mapping[str, object], at: datetime) -> Survey:
    survey = _survey(uow, invitation.survey_id)
    if invitation.answered:
        invitation.mark_answered()  # raises the 409
    survey.check_takes_answers(at)
    response = survey.validate(answers)
    invitation.mark_answered()
    uow.surveys.add_answer(
        Answer(
            id=str(uuid.uuid4()),  # random: nothing ties it to the invitation, nor orders it
            survey_id=survey.id,
            kind=survey.kind,
            year=survey.year,
            community_id=invitation.community_id,
            theme_id=survey.theme_id,
            session_id=survey.session_id,
            scores=response.scores,
            texts=response.texts,
        )
    )
    uow.commit()
    return survey


@dataclass(frozen=True)
class AnswerForm:
    """What the answer page shows."""

    survey_id: str
    kind: str
    title_fr: str
    title_en: str
    items: list[Item]
    closes_at: datetime
    state: Literal["open", "answered", "closed", "not_yet_open"]


def form_for_link(token: str, uow: InsightsUnitOfWork, at: datetime, policy: SurveyPolicy) -> AnswerForm:
    invitation_id = _invitation_of_token(token, policy.secret)
    with uow:
        invitation = uow.surveys.invitation(invitation_id)
        if invitation is None:
            raise NotFound("no such survey link", field="token")
        survey = _survey(uow, invitation.survey_id)
        state: Literal["open", "answered", "closed", "not_yet_open"]
        if invitation.answered:
            state = "answered"
        elif survey.is_closed(at):
            state = "closed"
        elif at < survey.opens_at:
            state = "not_yet_open"
        else:
            state = "open"
        return AnswerForm(
            survey.id, str(survey.kind), survey.title_fr, survey.title_en, survey.item_list(), survey.closes_at, state
        )


# --- views -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyView:
    id: str
    kind: str
    title_fr: str
    title_en: str
    year: int
    community_id: str | None
    region: str | None
    session_id: str | None
    theme_id: str | None
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    reminder_days: list[int]
    items: list[Item]
    invited: int
    answered: int
    open: bool

    @classmethod
    def of(cls, survey: Survey, invited: int, answered: int, at: datetime) -> SurveyView:
        return cls(
            survey.id,
            str(survey.kind),
            survey.title_fr,
            survey.title_en,
            survey.year,
            survey.community_id,
            survey.region,
            survey.session_id,
            survey.theme_id,
            survey.opens_at,
            survey.closes_at,
            survey.closed_at,
            list(survey.reminder_days),
            survey.item_list(),
            invited,
            answered,
            survey.is_open(at),
        )


@dataclass(frozen=True)
class MySurvey:
    """A survey she was asked to answer, and whether she did (never what)."""

    survey_id: str
    kind: str
    title_fr: str
    title_en: str
    community_id: str | None
    session_id: str | None
    closes_at: datetime
    open: bool
    answered: bool
    items: list[Item]


def my_surveys(uow: InsightsUnitOfWork, principal: Principal, at: datetime) -> list[MySurvey]:
    if principal.role is not Role.MEMBER or principal.member_id is None:
        raise Forbidden("only members have surveys to answer")
    with uow:
        return [
            MySurvey(
                s.id,
                str(s.kind),
                s.title_fr,
                s.title_en,
                i.community_id,
                s.session_id,
                s.closes_at,
                s.is_open(at),
                i.answered,
                s.item_list(),
            )
            for i, s in uow.surveys.invitations_of_member(principal.member_id)
        ]


def survey(uow: InsightsUnitOfWork, principal: Principal, survey_id: str, at: datetime) -> SurveyView:
    with uow:
        found = _survey(uow, survey_id)
        _check_may_read(uow, principal, found.community_id, found.region)
        return SurveyView.of(found, *uow.surveys.participation(found.id), at)


def list_surveys(
    uow: InsightsUnitOfWork,
    principal: Principal,
    at: datetime,
    *,
    community_id: str | None,
    region: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[SurveyView], str | None]:
    _check_reads_results(principal)
    regions = None if principal.role is Role.OPERATOR else principal.regions
    with uow:
        found, next_cursor = uow.surveys.page(
            regions=regions, community_id=community_id, region=region, cursor=cursor, limit=limit
        )
        return [SurveyView.of(s, *uow.surveys.participation(s.id), at) for s in found], next_cursor


@dataclass(frozen=True)
class ItemResult:
    key: str
    kind: str
    label_fr: str
    label_en: str
    respondents: int
    agree_pct: float | None  # % of 4–5; None below the threshold
    mean: float | None
    texts: list[str] | None  # free texts, sorted (never in the order given); None below the threshold
    reason: str | None  # "not_enough_answers" when the figures are withheld


@dataclass(frozen=True)
class SurveyResults:
    survey_id: str
    kind: str
    title_fr: str
    title_en: str
    community_id: str | None
    region: str | None
    session_id: str | None
    year: int
    invited: int
    respondents: int
    min_group: int
    items: list[ItemResult]


def survey_results(uow: InsightsUnitOfWork, principal: Principal, survey_id: str, *, min_group: int) -> SurveyResults:
    with uow:
        found = _survey(uow, survey_id)
        _check_may_read(uow, principal, found.community_id, found.region)
        return _results_of(uow, found, min_group)


def session_feedback(
    uow: InsightsUnitOfWork, principal: Principal, session_id: str, *, min_group: int
) -> SurveyResults:
    """The feedback results of one session (for the dashboard's session list and the API): its community's
    facilitators read them too, under the same threshold."""
    with uow:
        found = _survey(uow, domain.survey_id_for_session(session_id))
        if principal.role is Role.FACILITATOR:
            if found.community_id is None or not principal.covers_community(found.community_id):
                raise Forbidden("you facilitate another community", field="session_id")
        else:
            _check_may_read(uow, principal, found.community_id, found.region)
        return _results_of(uow, found, min_group)


def _results_of(uow: InsightsUnitOfWork, survey: Survey, min_group: int) -> SurveyResults:
    answers = uow.surveys.answers(survey_ids=[survey.id])
    invited, _ = uow.surveys.participation(survey.id)
    return _results(survey, answers, invited, min_group)


def _results(survey: Survey, answers: Sequence[Answer], invited: int, min_group: int) -> SurveyResults:
    items = []
    enough = len(answers) >= min_group
    for item in survey.item_list():
        if item.kind is domain.ItemKind.SCALE:
            scores = [a.scores[item.key] for a in answers if item.key in a.scores]
            figure = domain.share(scores, min_group)
            items.append(
                ItemResult(
                    item.key,
                    str(item.kind),
                    item.label_fr,
                    item.label_en,
                    figure.respondents,
                    figure.agree_pct,
                    figure.mean,
                    None,
                    figure.reason,
                )
            )
        else:
            texts = sorted(a.texts[item.key] for a in answers if item.key in a.texts)
            items.append(
                ItemResult(
                    item.key,
                    str(item.kind),
                    item.label_fr,
                    item.label_en,
                    len(texts),
                    None,
                    None,
                    texts if enough else None,
                    None if enough else domain.NOT_ENOUGH,
                )
            )
    return SurveyResults(
        survey.id,
        str(survey.kind),
        survey.title_fr,
        survey.title_en,
        survey.community_id,
        survey.region,
        survey.session_id,
        survey.year,
        invited,
        len(answers),
        min_group,
        items,
    )


@dataclass(frozen=True)
class IndicatorResult:
    """% agree (4–5 of 5) with one standard indicator in one group, or why it is withheld."""

    indicator: str
    label_fr: str
    label_en: str
    group: str | None  # the group's value for the dimension asked (community id, region, year, theme id)
    respondents: int
    agree_pct: float | None  # None when fewer than min_group answered
    mean: float | None
    reason: str | None  # "not_enough_answers", or None


@dataclass(frozen=True)
class TrendPoint:
    indicator: str
    year: int
    respondents: int
    agree_pct: float | None
    change_pts: float | None  # against the previous year shown with a figure; None when either is withheld
    reason: str | None


def indicator_results(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    community_id: str | None = None,
    region: str | None = None,
    year: int | None = None,
    theme_id: str | None = None,
    by: Dimension | None = None,
    min_group: int = 5,
) -> list[IndicatorResult]:
    """% agree per standard indicator over the annual surveys' answers in scope, optionally one row per group."""
    with uow:
        answers, regions_of = _indicator_answers(uow, principal, community_id, region, year, theme_id)
    groups: dict[str | None, list[Answer]] = defaultdict(list)
    for answer in answers:
        for key in _groups_of(answer, by, regions_of, region):
            groups[key].append(answer)
    if by is None and not groups:
        groups[None] = []
    out = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        for item in domain.INDICATORS:
            figure = domain.share([a.scores[item.key] for a in groups[key] if item.key in a.scores], min_group)
            out.append(
                IndicatorResult(
                    item.key,
                    item.label_fr,
                    item.label_en,
                    key,
                    figure.respondents,
                    figure.agree_pct,
                    figure.mean,
                    figure.reason,
                )
            )
    return out


def indicator_trend(
    uow: InsightsUnitOfWork,
    principal: Principal,
    *,
    community_id: str | None = None,
    region: str | None = None,
    theme_id: str | None = None,
    min_group: int = 5,
) -> list[TrendPoint]:
    """Each indicator year by year, with the change in points against the previous year."""
    rows = indicator_results(
        uow, principal, community_id=community_id, region=region, theme_id=theme_id, by="year", min_group=min_group
    )
    out = []
    previous: dict[str, float | None] = {}
    for row in sorted(rows, key=lambda r: (r.indicator, int(r.group or 0))):
        before = previous.get(row.indicator)
        change = None if before is None or row.agree_pct is None else round(row.agree_pct - before, 1)
        out.append(TrendPoint(row.indicator, int(row.group or 0), row.respondents, row.agree_pct, change, row.reason))
        previous[row.indicator] = row.agree_pct
    order = {key: n for n, key in enumerate(domain.INDICATOR_KEYS)}
    return sorted(out, key=lambda p: (order.get(p.indicator, 99), p.year))


def yearly_agreement(uow: InsightsUnitOfWork, community_id: str, *, min_group: int = 5) -> dict[int, float | None]:
    """For community health (no caller to check: jobs and benchmarks): per year, the mean % agree over the four
    indicators, None when fewer than min_group answered."""
    with uow:
        answers = uow.surveys.answers(community_ids=[community_id], kind=str(SurveyKind.ANNUAL))
    by_year: dict[int, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_year[answer.year].append(answer)
    out: dict[int, float | None] = {}
    for year, group in sorted(by_year.items()):
        figures = [
            domain.share([a.scores[k] for a in group if k in a.scores], min_group).agree_pct
            for k in domain.INDICATOR_KEYS
        ]
        known = [f for f in figures if f is not None]
        out[year] = round(sum(known) / len(known), 1) if known and len(known) == len(figures) else None
    return out


def _indicator_answers(
    uow: InsightsUnitOfWork,
    principal: Principal,
    community_id: str | None,
    region: str | None,
    year: int | None,
    theme_id: str | None,
) -> tuple[Sequence[Answer], dict[str, list[str]]]:
    _check_reads_results(principal)
    if community_id is not None:
        _check_may_read(uow, principal, community_id, None)
        communities: list[str] | None = [community_id]
    elif region is not None:
        _check_may_read(uow, principal, None, region)
        communities = uow.surveys.communities_in([region])
    elif principal.role is Role.OPERATOR:
        communities = None
    else:
        communities = uow.surveys.communities_in(principal.regions)
    answers = [
        a
        for a in uow.surveys.answers(
            community_ids=communities, year=year, theme_id=theme_id, kind=str(SurveyKind.ANNUAL)
        )
        if a.community_id is not None
    ]
    regions_of = uow.surveys.regions_of({a.community_id for a in answers if a.community_id is not None})
    return answers, regions_of


def _groups_of(
    answer: Answer, by: Dimension | None, regions_of: Mapping[str, list[str]], region: str | None
) -> Iterable[str | None]:
    match by:
        case None:
            return [None]
        case "community":
            return [answer.community_id]
        case "year":
            return [str(answer.year)]
        case "theme":
            return [answer.theme_id]
        case "region":  # a community of two regions counts in each region's row, once in any total
            regions = regions_of.get(answer.community_id or "", [])
            return [r for r in regions if region is None or r == region]


# --- access ----------------------------------------------------------------------------------------------------


def _survey(uow: InsightsUnitOfWork, survey_id: str, *, lock: bool = False) -> Survey:
    found = uow.surveys.get(survey_id, lock=lock)
    if found is None:
        raise NotFound("no such survey", field="survey_id")
    return found


def _check_reads_results(principal: Principal) -> None:
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
        raise Forbidden("only coordinators and operators read survey results")


def _check_may_run(uow: InsightsUnitOfWork, principal: Principal, community_id: str | None, region: str | None) -> None:
    """Coordinators run surveys of their regions' communities, or of their regions; operators any."""
    if principal.role not in (Role.OPERATOR, Role.COORDINATOR):
        raise Forbidden("only coordinators and operators run surveys")
    _check_may_read(uow, principal, community_id, region)


def _check_may_read(
    uow: InsightsUnitOfWork, principal: Principal, community_id: str | None, region: str | None
) -> None:
    _check_reads_results(principal)
    if community_id is not None:
        community = uow.replica.described(community_id)
        if community is None:
            raise NotFound("insights knows no such community (yet)", field="community_id")
        if not principal.covers_community(community.id, community.regions):
            raise Forbidden("this community is outside your regions", field="community_id")
    elif region is not None:
        if not principal.covers_region(region):
            raise Forbidden("this region is not yours", field="region")
    elif principal.role is not Role.OPERATOR:
        raise InvalidInput("name a community or a region", field="community_id")
