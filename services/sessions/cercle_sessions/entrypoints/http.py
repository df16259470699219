"""Every HTTP route of the service (sessions, program, library, calendars): thin, calling the handlers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from cercle_shared.auth import CurrentPrincipal
from cercle_shared.errors import NotFound
from cercle_shared.web.etag import etag, expected_version

from ..adapters import ical
from ..domain import model
from ..service_layer import commands, handlers, library, program
from . import schemas
from .deps import Now, Uow

communities = APIRouter(prefix="/v1/communities", tags=["sessions"])
sessions = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def session_public(session: model.Session) -> schemas.SessionPublic:
    counts = {"confirmed": len(session.seated()), "waitlisted": len(session.waitlist())}
    fields = {name: getattr(session, name) for name in schemas.SessionPublic.model_fields if name not in counts}
    return schemas.SessionPublic.model_validate({**fields, **counts})


def registration_public(session: model.Session, registration: model.Registration) -> schemas.RegistrationPublic:
    public = schemas.RegistrationPublic.model_validate(registration)
    if registration.status == "waitlisted":
        public.position = session.position_of(registration)
    return public


def _with_etag(response: Response, session: model.Session) -> schemas.SessionPublic:
    response.headers["ETag"] = etag(session.version)
    return session_public(session)


@communities.post("/{community_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=schemas.SessionPublic)
def schedule_session(
    community_id: str,
    body: schemas.SessionCreate,
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    response: Response,
):
    """Schedule a session (the community's facilitators, its regions' coordinators, operators)."""
    fields = body.model_dump()
    cmd = commands.ScheduleSession(community_id=community_id, **fields)
    return _with_etag(response, handlers.schedule_session(cmd, uow, principal, now))


@communities.get("/{community_id}/sessions", response_model=list[schemas.SessionPublic])
def list_sessions(community_id: str, principal: CurrentPrincipal, uow: Uow):
    """A community's sessions, in start order (its members and managers; drafts for managers only)."""
    return [session_public(s) for s in handlers.list_sessions(community_id, uow, principal)]


@sessions.get("/{session_id}", response_model=schemas.SessionPublic)
def get_session(session_id: str, principal: CurrentPrincipal, uow: Uow, response: Response):
    """One session, with its seat counts."""
    return _with_etag(response, handlers.get_session(session_id, uow, principal))


@sessions.patch("/{session_id}", response_model=schemas.SessionPublic)
def change_session(
    session_id: str,
    body: schemas.SessionUpdate,
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
):
    """Edit or reschedule a session (managers); a move raises its calendar SEQUENCE. If-Match is checked when sent."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    expected = expected_version(if_match, body.version) if (if_match or body.version is not None) else None
    cmd = commands.ChangeSession(session_id=session_id, changes=changes, expected_version=expected)
    return _with_etag(response, handlers.change_session(cmd, uow, principal, now))


@sessions.post("/{session_id}/schedule", response_model=schemas.SessionPublic)
def publish_draft(session_id: str, principal: CurrentPrincipal, uow: Uow, now: Now, response: Response):
    """Announce a draft session: it opens for registration."""
    return _with_etag(response, handlers.publish_draft(session_id, uow, principal, now))


@sessions.post("/{session_id}/cancel", response_model=schemas.SessionPublic)
def cancel_session(
    session_id: str,
    body: schemas.SessionCancel,
    principal: CurrentPrincipal,
    uow: Uow,
    now: Now,
    response: Response,
):
    """Cancel a session (managers)."""
    cmd = commands.CancelSession(session_id=session_id, reason=body.reason)
    return _with_etag(response, handlers.cancel_session(cmd, uow, principal, now))


@sessions.post("/{session_id}/held", response_model=schemas.SessionPublic)
def mark_held(session_id: str, principal: CurrentPrincipal, uow: Uow, now: Now, response: Response):
    """Mark a session as held, once it has started (managers)."""
    return _with_etag(response, handlers.mark_held(session_id, uow, principal, now))


@sessions.post(
    "/{session_id}/registrations", status_code=status.HTTP_201_CREATED, response_model=schemas.RegistrationPublic
)
def register(session_id: str, body: schemas.RegistrationCreate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Register yourself (or, as a manager, a member): confirmed while seats last, then waitlisted."""
    cmd = commands.Register(session_id=session_id, member_id=body.member_id)
    session, registration = handlers.register(cmd, uow, principal, now)
    return registration_public(session, registration)


@sessions.get("/{session_id}/registrations", response_model=list[schemas.RegistrationPublic])
def list_registrations(session_id: str, principal: CurrentPrincipal, uow: Uow):
    """Registrations in arrival order (managers: all; members: their own)."""
    session, registrations = handlers.list_registrations(session_id, uow, principal)
    return [registration_public(session, r) for r in registrations]


@sessions.delete("/{session_id}/registrations/{registration_id}", response_model=schemas.RegistrationPublic)
def cancel_registration(session_id: str, registration_id: str, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Cancel a registration (its member, or a manager); the first on the waitlist gets the seat."""
    cmd = commands.CancelRegistration(session_id=session_id, registration_id=registration_id)
    registration = handlers.cancel_registration(cmd, uow, principal, now)
    return schemas.RegistrationPublic.model_validate(registration)


@sessions.post("/{session_id}/registrations/{registration_id}/check-in", response_model=schemas.AttendancePublic)
def check_in(session_id: str, registration_id: str, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Check in at the session (from an hour before its start to its end)."""
    session = handlers.check_in(commands.CheckIn(session_id, registration_id), uow, principal, now)
    return _attendance(session)


@sessions.put("/{session_id}/attendance", response_model=schemas.AttendancePublic)
def record_attendance(session_id: str, body: schemas.AttendanceUpdate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Record who was present or absent, after the start (managers); answers the counts."""
    marks = {r.registration_id: r.present for r in body.records}
    session = handlers.record_attendance(commands.RecordAttendance(session_id, marks), uow, principal, now)
    return _attendance(session)


def _attendance(session: model.Session) -> schemas.AttendancePublic:
    counts = session.attendance_counts()
    return schemas.AttendancePublic(
        session_id=session.id, unrecorded=counts["confirmed"] - counts["present"] - counts["absent"], **counts
    )


# --- program: cycles, themes, votes, the year plan ---------------------------------------------------------------

cycles = APIRouter(prefix="/v1/cycles", tags=["program"])


@communities.post(
    "/{community_id}/cycles", status_code=status.HTTP_201_CREATED, response_model=schemas.CyclePublic, tags=["program"]
)
def open_cycle(community_id: str, body: schemas.CycleCreate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Open a community's program year with its proposal and voting windows (managers)."""
    fields = body.model_dump()
    fields["proposals_open_at"] = fields["proposals_open_at"] or now
    return program.open_cycle(commands.OpenCycle(community_id=community_id, **fields), uow, principal, now)


@communities.get("/{community_id}/cycles", response_model=list[schemas.CyclePublic], tags=["program"])
def list_cycles(community_id: str, principal: CurrentPrincipal, uow: Uow):
    """A community's program years."""
    return program.list_cycles(community_id, uow, principal)


@cycles.get("/{cycle_id}", response_model=schemas.CyclePublic)
def get_cycle(cycle_id: str, principal: CurrentPrincipal, uow: Uow):
    """One program year, with its retained themes and plan."""
    return program.get_cycle(cycle_id, uow, principal)


@cycles.post("/{cycle_id}/themes", status_code=status.HTTP_201_CREATED, response_model=schemas.ThemePublic)
def propose_theme(cycle_id: str, body: schemas.ThemeCreate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Propose a theme from a need seen at work, while proposals are open (the community's members)."""
    return program.propose_theme(commands.ProposeTheme(cycle_id=cycle_id, **body.model_dump()), uow, principal, now)


@cycles.get("/{cycle_id}/themes", response_model=list[schemas.ThemePublic])
def list_themes(cycle_id: str, principal: CurrentPrincipal, uow: Uow):
    """The cycle's themes, in proposal order."""
    return program.list_themes(cycle_id, uow, principal)


@cycles.post("/{cycle_id}/themes/{theme_id}/merge", response_model=schemas.ThemePublic)
def merge_theme(
    cycle_id: str, theme_id: str, body: schemas.ThemeMerge, principal: CurrentPrincipal, uow: Uow, now: Now
):
    """Merge a duplicate theme into another, before voting opens (managers)."""
    cmd = commands.MergeTheme(cycle_id=cycle_id, theme_id=theme_id, into_theme_id=body.into_theme_id)
    return program.merge_theme(cmd, uow, principal, now)


@cycles.post("/{cycle_id}/votes", status_code=status.HTTP_201_CREATED, response_model=schemas.VotePublic)
def cast_vote(cycle_id: str, body: schemas.VoteCreate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Give one of your votes to a theme, while voting is open (members, for themselves)."""
    return program.cast_vote(commands.CastVote(cycle_id=cycle_id, theme_id=body.theme_id), uow, principal, now)


@cycles.get("/{cycle_id}/results", response_model=schemas.ResultsPublic)
def results(cycle_id: str, principal: CurrentPrincipal, uow: Uow):
    """Live results of the vote, in rank order (ties: first proposed, then smaller id)."""
    cycle, ranking, mine = program.results(cycle_id, uow, principal)
    return schemas.ResultsPublic(
        cycle_id=cycle.id,
        status=cycle.status,
        total_votes=sum(t.votes for t in ranking),
        retained=cycle.retained,
        tallies=[
            schemas.TallyPublic(theme_id=t.theme_id, title=t.title, votes=t.votes, rank=i + 1)
            for i, t in enumerate(ranking)
        ],
        my_votes=[v.theme_id for v in mine],
        my_votes_left=cycle.votes_per_member - len(mine) if principal.member_id else None,
    )


@cycles.post("/{cycle_id}/close-vote", response_model=schemas.CyclePublic)
def close_vote(cycle_id: str, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Close the vote (early if need be) and retain the top themes (managers)."""
    return program.close_vote(cycle_id, uow, principal, now)


@cycles.post("/{cycle_id}/plan", response_model=schemas.CyclePublic)
def propose_plan(cycle_id: str, body: schemas.PlanRequest, principal: CurrentPrincipal, uow: Uow):
    """Propose a year plan: the retained themes' sessions spread evenly on a weekday, skipping blackout dates."""
    return program.propose_plan(commands.ProposePlan(cycle_id=cycle_id, **body.model_dump()), uow, principal)


@cycles.post("/{cycle_id}/plan/confirm", response_model=schemas.PlanConfirmed)
def confirm_plan(cycle_id: str, body: schemas.PlanConfirm, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Confirm the plan, adjusted or as proposed (coordinators, operators): its sessions are scheduled."""
    fields = body.model_dump(exclude={"items"})
    items = [i.model_dump() for i in body.items] if body.items is not None else None
    cycle, created = program.confirm_plan(
        commands.ConfirmPlan(cycle_id=cycle_id, items=items, **fields), uow, principal, now
    )
    return schemas.PlanConfirmed(
        cycle=schemas.CyclePublic.model_validate(cycle), sessions=[session_public(s) for s in created]
    )


# --- summary notes, resources, calendars ----------------------------------------------------------------------

resources = APIRouter(prefix="/v1/resources", tags=["library"])
calendars = APIRouter(tags=["calendars"])
me = APIRouter(prefix="/v1/me", tags=["me"])


@sessions.put("/{session_id}/summary", response_model=schemas.SummaryPublic, tags=["library"])
def publish_summary(session_id: str, body: schemas.SummaryWrite, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Publish the session's summary note, or a new version of it (managers, once the session started)."""
    cmd = commands.PublishSummary(session_id=session_id, body_fr=body.body_fr, body_en=body.body_en)
    return library.publish_summary(cmd, uow, principal, now)


@sessions.get("/{session_id}/summary", response_model=schemas.SummaryPublic, tags=["library"])
def get_summary(session_id: str, principal: CurrentPrincipal, uow: Uow):
    """The latest version of the session's summary note."""
    versions = library.summary_versions(session_id, uow, principal)
    if not versions:
        raise NotFound("no summary note yet", field="session_id")
    return versions[-1]


@sessions.get("/{session_id}/summary/versions", response_model=list[schemas.SummaryPublic], tags=["library"])
def summary_versions(session_id: str, principal: CurrentPrincipal, uow: Uow):
    """Every version of the session's summary note, oldest first."""
    return library.summary_versions(session_id, uow, principal)


@communities.post(
    "/{community_id}/resources",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ResourcePublic,
    tags=["library"],
)
def share_resource(community_id: str, body: schemas.ResourceCreate, principal: CurrentPrincipal, uow: Uow, now: Now):
    """Share a resource with the community's library, at a session or on a theme (members and managers)."""
    return library.share_resource(
        commands.ShareResource(community_id=community_id, **body.model_dump()), uow, principal, now
    )


@resources.get("", response_model=list[schemas.ResourcePublic])
def search_resources(
    principal: CurrentPrincipal,
    uow: Uow,
    q: Annotated[str, Query(max_length=200, description="Words; each must start a word of the resource.")] = "",
    community_id: str | None = None,
    session_id: str | None = None,
    theme_id: str | None = None,
    kind: Literal["book", "tool", "template", "article", "model", "link"] | None = None,
    language: Literal["fr", "en"] | None = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """Search the libraries of the communities you may see, across years and themes (accents and case ignored)."""
    return library.search_resources(
        uow,
        principal,
        q=q,
        community_id=community_id,
        session_id=session_id,
        theme_id=theme_id,
        kind=kind,
        language=language,
        tag=tag,
        limit=limit,
    )


def _feed_url(request: Request, token: str) -> str:
    return f"{request.app.state.settings.public_base_url.rstrip('/')}/v1/calendars/{token}.ics"


@communities.post(
    "/{community_id}/calendar-feed",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.FeedPublic,
    tags=["calendars"],
)
def community_feed(community_id: str, principal: CurrentPrincipal, uow: Uow, now: Now, request: Request):
    """A secret iCalendar URL for the community's sessions (its members and managers)."""
    token = library.community_feed(community_id, uow, principal, now)
    return schemas.FeedPublic(url=_feed_url(request, token), kind="community")


@me.get("/sessions", response_model=list[schemas.MySession])
def my_sessions(principal: CurrentPrincipal, uow: Uow):
    """Your registrations (confirmed or waitlisted), with their sessions, in start order."""
    return [
        schemas.MySession(session=session_public(s), registration=registration_public(s, r))
        for s, r in handlers.my_sessions(uow, principal)
    ]


@me.post("/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=schemas.FeedPublic)
def member_feed(principal: CurrentPrincipal, uow: Uow, now: Now, request: Request):
    """A secret iCalendar URL for your registrations; the previous one stops working."""
    return schemas.FeedPublic(url=_feed_url(request, library.member_feed(uow, principal, now)), kind="member")


@calendars.get(
    "/v1/calendars/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        404: {
            "description": "No calendar behind this token (or it was revoked)",
            "content": {"application/problem+json": {}},
        },
    },
)
def calendar(token: str, uow: Uow, now: Now):
    """The iCalendar feed behind a secret URL (no bearer token: calendar apps cannot send one)."""
    name, found, waiting = library.feed_sessions(token, uow)
    return Response(
        ical.feed(name, found, generated_at=now, tentative=waiting),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


ROUTERS = (communities, sessions, cycles, resources, me, calendars)
