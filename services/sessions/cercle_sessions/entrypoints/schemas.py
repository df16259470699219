"""HTTP request and response bodies, and the mapping of domain objects onto the responses."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cercle_shared.web import StrictModel

from ..domain.model import Registration, RegistrationStatus, Session
from ..domain.program import ProgramCycle, Tally, Vote

Mode = Literal["in_person", "virtual", "hybrid"]
Format = Literal["experience_sharing", "problem_solving", "collective_reflection", "co_construction", "invited_guest"]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Guest(StrictModel):
    name: str = Field(min_length=1, max_length=200, examples=["Dre Lucie Gagnon"])
    expertise: str | None = Field(default=None, max_length=300, examples=["santé mentale et nature"])


class SessionCreate(StrictModel):
    title: str = Field(min_length=1, max_length=200, examples=["Nature et santé mentale"])
    description: str = Field(default="", max_length=5000)
    starts_at: AwareDatetime = Field(examples=["2026-10-15T13:00:00-04:00"])
    ends_at: AwareDatetime = Field(examples=["2026-10-15T16:00:00-04:00"])
    timezone: str = Field(default="America/Toronto", max_length=64, description="IANA time zone.")
    mode: Mode = "in_person"
    location: str | None = Field(default=None, max_length=500, description="Place (in person or hybrid).")
    link: str | None = Field(default=None, max_length=1000, description="Video link (virtual or hybrid).")
    capacity: int = Field(ge=1, le=10000, examples=[20])
    theme_id: str | None = Field(default=None, max_length=36)
    formats: list[Format] = Field(default_factory=list, max_length=5, examples=[["experience_sharing"]])
    co_facilitators: list[str] = Field(default_factory=list, max_length=10, description="Member ids.")
    guests: list[Guest] = Field(default_factory=list, max_length=10)
    draft: bool = Field(default=False, description="Keep it as a draft: not announced, no registration.")


class SessionUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    mode: Mode | None = None
    location: str | None = Field(default=None, max_length=500)
    link: str | None = Field(default=None, max_length=1000)
    capacity: int | None = Field(default=None, ge=1, le=10000)
    formats: list[Format] | None = Field(default=None, max_length=5)
    co_facilitators: list[str] | None = Field(default=None, max_length=10)
    guests: list[Guest] | None = Field(default=None, max_length=10)
    version: int | None = Field(default=None, description="The version you read (or send If-Match).")


class SessionCancel(StrictModel):
    reason: str | None = Field(default=None, max_length=1000)


class SessionPublic(Public):
    id: str
    community_id: str
    cycle_id: str | None
    theme_id: str | None
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    location: str | None
    link: str | None
    capacity: int
    formats: list[str]
    co_facilitators: list[str]
    guests: list[dict]
    status: str
    sequence: int
    version: int
    confirmed: int = 0
    waitlisted: int = 0


class RegistrationCreate(StrictModel):
    member_id: str | None = Field(
        default=None, max_length=64, description="Whom to register; a manager may register a member; default: you."
    )


class RegistrationPublic(Public):
    id: str
    session_id: str
    member_id: str
    status: str
    position: int | None = Field(default=None, description="Place on the waitlist, 1 for the first.")
    registered_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    attendance: str | None
    checked_in_at: datetime | None


class MySession(BaseModel):
    session: SessionPublic
    registration: RegistrationPublic


class AttendanceMark(StrictModel):
    registration_id: str = Field(max_length=36)
    present: bool


class AttendanceUpdate(StrictModel):
    records: list[AttendanceMark] = Field(min_length=1, max_length=10000)


class AttendancePublic(BaseModel):
    session_id: str
    confirmed: int
    present: int
    absent: int
    unrecorded: int


# --- program ---------------------------------------------------------------------------------------------------


class CycleCreate(StrictModel):
    label: str = Field(min_length=1, max_length=100, examples=["2026-2027"])
    starts_on: date = Field(examples=["2026-09-01"])
    ends_on: date = Field(examples=["2027-06-30"])
    proposals_open_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    proposals_close_at: AwareDatetime = Field(examples=["2026-09-20T23:59:00-04:00"])
    voting_opens_at: AwareDatetime = Field(examples=["2026-09-21T08:00:00-04:00"])
    voting_closes_at: AwareDatetime = Field(examples=["2026-09-30T23:59:00-04:00"])
    themes_to_retain: int = Field(default=3, ge=1, le=20)
    sessions_per_theme: int = Field(default=2, ge=1, le=10)
    votes_per_member: int = Field(default=3, ge=1, le=20)
    max_votes_per_theme: int = Field(default=1, ge=1, le=20)


class CyclePublic(Public):
    id: str
    community_id: str
    label: str
    starts_on: date
    ends_on: date
    proposals_open_at: datetime
    proposals_close_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    themes_to_retain: int
    sessions_per_theme: int
    votes_per_member: int
    max_votes_per_theme: int
    status: str
    retained: list[dict]
    plan: list[dict]
    plan_status: str
    version: int


class ThemeCreate(StrictModel):
    title: str = Field(min_length=1, max_length=200, examples=["Nature et santé mentale"])
    need: str = Field(
        min_length=1,
        max_length=2000,
        description="The need seen at work.",
        examples=["Des équipes épuisées cherchent des façons simples de se ressourcer."],
    )
    description: str = Field(default="", max_length=5000)


class ThemePublic(Public):
    id: str
    cycle_id: str
    community_id: str
    title: str
    need: str
    description: str
    proposed_at: datetime
    merged_into: str | None
    status: str


class ThemeMerge(StrictModel):
    into_theme_id: str = Field(max_length=36, description="The theme that absorbs this duplicate.")


class VoteCreate(StrictModel):
    theme_id: str = Field(max_length=36)


class VotePublic(Public):
    id: str
    theme_id: str
    cycle_id: str
    cast_at: datetime


class TallyPublic(BaseModel):
    theme_id: str
    title: str
    votes: int
    rank: int


class ResultsPublic(BaseModel):
    cycle_id: str
    status: str
    total_votes: int
    tallies: list[TallyPublic]
    retained: list[dict]
    my_votes: list[str] = Field(description="Themes you voted for (members).")
    my_votes_left: int | None = None
    tie_rule: str = "most votes; then the theme proposed first; then the smaller theme id"


class PlanRequest(StrictModel):
    weekday: int = Field(ge=0, le=6, description="0 Monday ... 6 Sunday.", examples=[3])
    start_time: time = Field(examples=["13:00"])
    duration_minutes: int = Field(default=180, ge=15, le=24 * 60)
    timezone: str = Field(default="America/Toronto", max_length=64)
    blackout_dates: list[date] = Field(default_factory=list, max_length=366, examples=[["2026-12-24"]])


class PlanItem(StrictModel):
    theme_id: str = Field(max_length=36)
    title: str | None = Field(default=None, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class PlanConfirm(StrictModel):
    capacity: int = Field(ge=1, le=10000, examples=[20])
    mode: Mode = "in_person"
    location: str | None = Field(default=None, max_length=500)
    link: str | None = Field(default=None, max_length=1000)
    timezone: str = Field(default="America/Toronto", max_length=64)
    items: list[PlanItem] | None = Field(
        default=None, max_length=100, description="Your adjusted plan; omit to confirm the proposal as is."
    )


class PlanConfirmed(BaseModel):
    cycle: CyclePublic
    sessions: list[SessionPublic]


# --- summaries, resources, calendars ---------------------------------------------------------------------------


class SummaryWrite(StrictModel):
    body_fr: str | None = Field(
        default=None,
        max_length=100_000,
        description="Markdown, in French.",
        examples=["## Idées clés\n- ...\n## Pistes d'action\n- ..."],
    )
    body_en: str | None = Field(default=None, max_length=100_000, description="Markdown, in English.")


class SummaryPublic(Public):
    session_id: str
    version: int
    body_fr: str | None
    body_en: str | None
    languages: list[str]
    published_at: datetime


class ResourceCreate(StrictModel):
    title: str = Field(min_length=1, max_length=300, examples=["Dernier enfant des bois"])
    kind: Literal["book", "tool", "template", "article", "model", "link"]
    language: Literal["fr", "en"] = "fr"
    description: str = Field(default="", max_length=5000)
    url: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    session_id: str | None = Field(default=None, max_length=36)
    theme_id: str | None = Field(default=None, max_length=36)


class ResourcePublic(Public):
    id: str
    community_id: str
    title: str
    kind: str
    language: str
    description: str
    url: str | None
    tags: list[str]
    session_id: str | None
    theme_id: str | None
    shared_at: datetime


class FeedPublic(BaseModel):
    url: str = Field(description="Secret calendar URL: anyone who has it can read the calendar.")
    kind: Literal["community", "member"]


# --- responses from domain objects -----------------------------------------------------------------------------


def session_public(session: Session) -> SessionPublic:
    counts = {"confirmed": len(session.seated()), "waitlisted": len(session.waitlist())}
    fields = {name: getattr(session, name) for name in SessionPublic.model_fields if name not in counts}
    return SessionPublic.model_validate({**fields, **counts})


def registration_public(session: Session, registration: Registration) -> RegistrationPublic:
    public = RegistrationPublic.model_validate(registration)
    if registration.status == RegistrationStatus.WAITLISTED:
        public.position = session.position_of(registration)
    return public


def my_session(session: Session, registration: Registration) -> MySession:
    return MySession(session=session_public(session), registration=registration_public(session, registration))


def attendance_public(session: Session) -> AttendancePublic:
    counts = session.attendance_counts()
    return AttendancePublic(
        session_id=session.id, unrecorded=counts["confirmed"] - counts["present"] - counts["absent"], **counts
    )


def results_public(cycle: ProgramCycle, ranking: list[Tally], mine: list[Vote], *, voter: bool) -> ResultsPublic:
    """`voter`: the caller has votes of their own (a member token)."""
    return ResultsPublic(
        cycle_id=cycle.id,
        status=cycle.status,
        total_votes=sum(t.votes for t in ranking),
        retained=cycle.retained,
        tallies=[
            TallyPublic(theme_id=t.theme_id, title=t.title, votes=t.votes, rank=i + 1) for i, t in enumerate(ranking)
        ],
        my_votes=[v.theme_id for v in mine],
        my_votes_left=cycle.votes_per_member - len(mine) if voter else None,
    )


def plan_confirmed(cycle: ProgramCycle, sessions: list[Session]) -> PlanConfirmed:
    return PlanConfirmed(cycle=CyclePublic.model_validate(cycle), sessions=[session_public(s) for s in sessions])


def feed_public(base_url: str, token: str, kind: Literal["community", "member"]) -> FeedPublic:
    return FeedPublic(url=f"{base_url.rstrip('/')}/v1/calendars/{token}.ics", kind=kind)
