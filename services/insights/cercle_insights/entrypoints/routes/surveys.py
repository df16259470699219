"""Surveys: coordinators open annual surveys and read results; members answer, signed in or through the link of
their invitation (a signed token: the link is its credential, as an unsubscribe link is)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from cercle_shared.errors import CercleError
from cercle_shared.web.pagination import Page

from ...domain.surveys import SurveyClosed
from ...service_layer import surveys
from .. import survey_schemas as schemas
from ..deps import ClockDep, PrincipalDep, UowDep
from ..pages import page_headers, render
from ..schemas import REGION_CODE

router = APIRouter(tags=["surveys"])

SurveyId = Annotated[str, Path(min_length=1, max_length=64, description="Survey id.")]
SessionId = Annotated[str, Path(min_length=1, max_length=64, description="Session id.")]
Token = Annotated[str, Path(min_length=1, max_length=200, description="The signed token of the invitation's link.")]
Lang = Annotated[Literal["fr", "en"], Query(description="Language of the page (French by default).")]
CommunityFilter = Annotated[str | None, Query(min_length=1, max_length=64, description="One community.")]
RegionFilter = Annotated[str | None, Query(pattern=REGION_CODE, description="One region's communities.")]
FORM_BODY_MAX = 64_000

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such link: nothing is revealed", "content": {"application/problem+json": {}}}
}


def _policy(request: Request) -> surveys.SurveyPolicy:
    return schemas.survey_policy(request.app.state.runtime.settings)


def _min_group(request: Request) -> int:
    return int(request.app.state.runtime.settings.survey_min_group)


@router.post("/v1/surveys", response_model=schemas.SurveyPublic, status_code=201)
def open_survey(body: schemas.SurveyCreate, request: Request, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """Open an annual survey of a community or a region: the four standard indicators plus your items. Invitations
    go to the members who consented to surveys when it opens, reminders on the days given.

    Coordinators of the community's (or the region's) region, and operators.
    """
    now = clock()
    survey = surveys.open_survey(body.command(), uow, principal, now, _policy(request))
    return schemas.SurveyPublic.model_validate(surveys.survey(uow, principal, survey.id, now))


@router.get("/v1/surveys", response_model=Page[schemas.SurveyPublic])
def list_surveys(
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    community_id: CommunityFilter = None,
    region: RegionFilter = None,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
):
    """Surveys newest first, with how many were asked and answered. Coordinators (their regions) and operators."""
    found, next_cursor = surveys.list_surveys(
        uow, principal, clock(), community_id=community_id, region=region, cursor=cursor, limit=limit
    )
    return Page[schemas.SurveyPublic](
        items=[schemas.SurveyPublic.model_validate(s) for s in found], next_cursor=next_cursor
    )


@router.get("/v1/surveys/mine", response_model=list[schemas.MySurveyPublic])
def my_surveys(principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """The surveys you were asked to answer, and whether you did (a member's own token)."""
    return [schemas.MySurveyPublic.model_validate(s) for s in surveys.my_surveys(uow, principal, clock())]


@router.get("/v1/surveys/indicators", response_model=list[schemas.IndicatorResultPublic])
def indicators(
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    community_id: CommunityFilter = None,
    region: RegionFilter = None,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
    theme_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    by: Annotated[Literal["community", "region", "year", "theme"] | None, Query(description="One row per...")] = None,
):
    """% who agree with each standard indicator of the annual surveys, with the number of respondents; a figure
    behind fewer respondents than the threshold is null with the reason. Coordinators (their regions), operators."""
    rows = surveys.indicator_results(
        uow,
        principal,
        community_id=community_id,
        region=region,
        year=year,
        theme_id=theme_id,
        by=by,
        min_group=_min_group(request),
    )
    return [schemas.IndicatorResultPublic.model_validate(r) for r in rows]


@router.get("/v1/surveys/indicators/trend", response_model=list[schemas.TrendPointPublic])
def indicator_trend(
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    community_id: CommunityFilter = None,
    region: RegionFilter = None,
    theme_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
):
    """Each indicator year by year, with the change in points against the previous year."""
    rows = surveys.indicator_trend(
        uow, principal, community_id=community_id, region=region, theme_id=theme_id, min_group=_min_group(request)
    )
    return [schemas.TrendPointPublic.model_validate(r) for r in rows]


@router.get("/v1/surveys/{survey_id}", response_model=schemas.SurveyPublic)
def read_survey(survey_id: SurveyId, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """A survey, its items, and how many were asked and answered."""
    return schemas.SurveyPublic.model_validate(surveys.survey(uow, principal, survey_id, clock()))


@router.post("/v1/surveys/{survey_id}/close", response_model=schemas.SurveyPublic)
def close_survey(survey_id: SurveyId, principal: PrincipalDep, uow: UowDep, clock: ClockDep):
    """Close a survey before its date: no more answers, no more reminders."""
    now = clock()
    surveys.close_survey(survey_id, uow, principal, now)
    return schemas.SurveyPublic.model_validate(surveys.survey(uow, principal, survey_id, now))


@router.get("/v1/surveys/{survey_id}/results", response_model=schemas.SurveyResultsPublic)
def survey_results(survey_id: SurveyId, request: Request, principal: PrincipalDep, uow: UowDep):
    """Each item's share of 4–5 and mean (free texts, sorted), only when enough people answered."""
    results = surveys.survey_results(uow, principal, survey_id, min_group=_min_group(request))
    return schemas.SurveyResultsPublic.model_validate(results)


@router.post("/v1/surveys/{survey_id}/answers", response_model=schemas.AnswerAccepted, status_code=201)
def answer_survey(
    survey_id: SurveyId, body: schemas.AnswerCreate, principal: PrincipalDep, uow: UowDep, clock: ClockDep
):
    """Answer a survey you were invited to, once (409 after; 410 once closed). Your answer is kept without your id."""
    surveys.answer_as_member(survey_id, body.answers, uow, principal, clock())
    return schemas.AnswerAccepted(survey_id=survey_id)


@router.get("/v1/sessions/{session_id}/feedback", response_model=schemas.SurveyResultsPublic)
def session_feedback(session_id: SessionId, request: Request, principal: PrincipalDep, uow: UowDep):
    """The results of a session's feedback survey: figures and comments only from `CERCLE_SURVEY_MIN_GROUP` answers.
    Facilitators of its community, coordinators of its community's regions, and operators."""
    results = surveys.session_feedback(uow, principal, session_id, min_group=_min_group(request))
    return schemas.SurveyResultsPublic.model_validate(results)


# --- the answer page: the invitation's signed link is the credential ----------------------------------------------

SCALE_WORDS = {
    "fr": [
        "Pas du tout d'accord",
        "Plutôt en désaccord",
        "Ni l'un ni l'autre",
        "Plutôt d'accord",
        "Tout à fait d'accord",
    ],
    "en": ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"],
}


def _page(form: surveys.AnswerForm, lang: str, token: str, *, status: int = 200, **extra: Any) -> HTMLResponse:
    html = render(
        "surveys/answer.html.j2",
        lang=lang,
        form=form,
        token=token,
        scale=SCALE_WORDS[lang],
        error=extra.get("error"),
        values=extra.get("values", {}),
        state=extra.get("state", form.state),
    )
    return HTMLResponse(html, status_code=status, headers=page_headers())


@router.get("/v1/survey-answers/{token}", response_class=HTMLResponse, responses=NOT_FOUND)
def answer_page(token: Token, uow: UowDep, request: Request, clock: ClockDep, lang: Lang = "fr") -> HTMLResponse:
    """The survey as a small form, in French or English (opening it changes nothing)."""
    form = surveys.form_for_link(token, uow, clock(), _policy(request))
    return _page(form, lang, token)


@router.post("/v1/survey-answers/{token}", response_class=HTMLResponse, responses=NOT_FOUND)
async def answer_from_page(
    token: Token, request: Request, uow: UowDep, clock: ClockDep, lang: Lang = "fr"
) -> HTMLResponse:
    """Take the form's answer: a thank-you page; the form again naming the item to fix (422); 409 once answered;
    410 once closed."""
    policy = _policy(request)
    now = clock()
    form = await run_in_threadpool(surveys.form_for_link, token, uow, now, policy)  # an unknown link: 404 first
    raw = await request.body()
    if len(raw) > FORM_BODY_MAX:
        return _page(form, lang, token, status=413, error={"field": None, "message": "too long"}, state="open")
    values: dict[str, object] = {}
    for key, value in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True):
        values[key] = value
    try:
        await run_in_threadpool(surveys.answer_with_link, token, values, uow, now, policy)
    except SurveyClosed:
        return _page(form, lang, token, status=410, state="closed")
    except CercleError as exc:
        if exc.status == 409:
            return _page(
                form, lang, token, status=409, state="answered" if form.state != "not_yet_open" else form.state
            )
        if exc.status == 422:
            field = (exc.field or "").removeprefix("answers.")
            error = {"field": field, "message": exc.detail}
            return _page(form, lang, token, status=422, error=error, values=values, state="open")
        raise
    return _page(form, lang, token, state="thanks")
