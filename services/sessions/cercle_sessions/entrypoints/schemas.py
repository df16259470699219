"""HTTP request and response bodies, and the mapping of domain objects onto the responses."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from cercle_shared.web import StrictModel
from cercle_shared.web.pagination import Page
from cercle_shared.web.schemas import MultiLine, SaneDate, SaneDateTime, SingleLine

from ..domain.library import CalendarFeed
from ..domain.model import Registration, RegistrationStatus, Session
from ..domain.program import ProgramCycle, Tally, Vote
from ..service_layer.views import PageOf, RosterLine

Mode = Literal["in_person", "virtual", "hybrid"]
Format = Literal["experience_sharing", "problem_solving", "collective_reflection", "co_construction", "invited_guest"]


Id = Annotated[SingleLine, Field(max_length=64)]
"""An id (of a member, a theme...): one line."""


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Guest(StrictModel):
    name: SingleLine = Field(min_length=1, max_length=200, examples=["Dre Lucie Gagnon"])
    expertise: SingleLine | None = Field(default=None, max_length=300, examples=["santé mentale et nature"])


class SessionCreate(StrictModel):
    title: SingleLine = Field(min_length=1, max_length=200, examples=["Nature et santé mentale"])
    description: MultiLine = Field(default="", max_length=5000)
    starts_at: SaneDateTime = Field(
        examples=["2026-10-15T13:00:00-04:00"], description="With its offset; years 1970 to 2200."
    )
    ends_at: SaneDateTime = Field(examples=["2026-10-15T16:00:00-04:00"])
    timezone: SingleLine = Field(default="America/Toronto", max_length=64, description="IANA time zone.")
    mode: Mode = "in_person"
    location: SingleLine | None = Field(default=None, max_length=500, description="Place (in person or hybrid).")
    link: SingleLine | None = Field(default=None, max_length=1000, description="Video link (virtual or hybrid).")
    capacity: int = Field(ge=1, le=10000, examples=[20])
    theme_id: SingleLine | None = Field(default=None, max_length=36)
    formats: list[Format] = Field(default_factory=list, max_length=5, examples=[["experience_sharing"]])
    co_facilitators: list[Id] = Field(
        default_factory=list,
        max_length=10,
        description="Member ids. Named in calendar feeds (CONTACT and DESCRIPTION) when they agreed to appear in "
        "the community's directory.",
    )
    guests: list[Guest] = Field(
        default_factory=list, max_length=10, description="Invited guests, named in the calendar event's DESCRIPTION."
    )
    draft: bool = Field(default=False, description="Keep it as a draft: not announced, no registration.")


class SessionUpdate(StrictModel):
    title: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    description: MultiLine | None = Field(default=None, max_length=5000)
    starts_at: SaneDateTime | None = None
    ends_at: SaneDateTime | None = None
    timezone: SingleLine | None = Field(default=None, max_length=64)
    mode: Mode | None = None
    location: SingleLine | None = Field(default=None, max_length=500)
    link: SingleLine | None = Field(default=None, max_length=1000)
    capacity: int | None = Field(default=None, ge=1, le=10000)
    formats: list[Format] | None = Field(default=None, max_length=5)
    co_facilitators: list[Id] | None = Field(default=None, max_length=10)
    guests: list[Guest] | None = Field(default=None, max_length=10)
    version: int | None = Field(default=None, description="The version you read (or send If-Match).")


class SessionCancel(StrictModel):
    reason: MultiLine | None = Field(default=None, max_length=1000)


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
    member_id: Id | None = Field(
        default=None, description="Whom to register; a manager may register a member; default: you."
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
    registration_id: SingleLine = Field(max_length=36)
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
    label: SingleLine = Field(min_length=1, max_length=100, examples=["2026-2027"])
    starts_on: SaneDate = Field(examples=["2026-09-01"])
    ends_on: SaneDate = Field(examples=["2027-06-30"])
    proposals_open_at: SaneDateTime | None = Field(default=None, description="Default: now.")
    proposals_close_at: SaneDateTime = Field(examples=["2026-09-20T23:59:00-04:00"])
    voting_opens_at: SaneDateTime = Field(examples=["2026-09-21T08:00:00-04:00"])
    voting_closes_at: SaneDateTime = Field(examples=["2026-09-30T23:59:00-04:00"])
    themes_to_retain: int = Field(default=3, ge=1, le=20)
    sessions_per_theme: int = Field(default=2, ge=1, le=10)
    votes_per_member: int = Field(default=3, ge=1, le=20)
    max_votes_per_theme: int = Field(default=1, ge=1, le=20)


class CycleUpdate(StrictModel):
    """New dates or label for an open (or closed) cycle. What already happened stays: a window bound already
    passed, or the first day of a cycle already begun, cannot move (409); a bound cannot move into the past and
    the windows stay in order (422); the cycle may not overlap another of the community's (409). New first or
    last days drop a proposed (unconfirmed) plan; a confirmed plan's sessions must stay within them (409)."""

    label: SingleLine | None = Field(default=None, min_length=1, max_length=100)
    starts_on: SaneDate | None = None
    ends_on: SaneDate | None = None
    proposals_open_at: SaneDateTime | None = None
    proposals_close_at: SaneDateTime | None = None
    voting_opens_at: SaneDateTime | None = None
    voting_closes_at: SaneDateTime | None = None
    version: int | None = Field(default=None, description="The version you read (or send If-Match).")


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
    title: SingleLine = Field(min_length=1, max_length=200, examples=["Nature et santé mentale"])
    need: MultiLine = Field(
        min_length=1,
        max_length=2000,
        description="The need seen at work.",
        examples=["Des équipes épuisées cherchent des façons simples de se ressourcer."],
    )
    description: MultiLine = Field(default="", max_length=5000)


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
    into_theme_id: SingleLine = Field(max_length=36, description="The theme that absorbs this duplicate.")


class VoteCreate(StrictModel):
    theme_id: SingleLine = Field(max_length=36)


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


class BlackoutPeriod(StrictModel):
    """Days off from the first to the last, both included."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    from_: SaneDate = Field(alias="from", examples=["2026-12-21"])
    to: SaneDate = Field(examples=["2027-01-08"])

    @model_validator(mode="after")
    def _in_order(self) -> BlackoutPeriod:
        if self.to < self.from_:
            raise ValueError("a blackout period ends on or after its first day")
        return self


def _blackout_kind(value: Any) -> str:
    return "period" if isinstance(value, dict | BlackoutPeriod) else "day"


Blackout = Annotated[
    Annotated[SaneDate, Tag("day")] | Annotated[BlackoutPeriod, Tag("period")], Discriminator(_blackout_kind)
]


class PlanRequest(StrictModel):
    weekday: int = Field(ge=0, le=6, description="0 Monday ... 6 Sunday.", examples=[3])
    start_time: time = Field(examples=["13:00"])
    duration_minutes: int = Field(default=180, ge=15, le=24 * 60)
    timezone: SingleLine = Field(default="America/Toronto", max_length=64)
    blackout_dates: list[Blackout] = Field(
        default_factory=list,
        max_length=366,
        description="Days without sessions: single days, or periods {from, to} (both days included).",
        examples=[["2026-10-12", {"from": "2026-12-21", "to": "2027-01-08"}]],
    )

    def blackouts(self) -> list[tuple[date, date]]:
        return [(b, b) if isinstance(b, date) else (b.from_, b.to) for b in self.blackout_dates]


class PlanItem(StrictModel):
    theme_id: SingleLine = Field(max_length=36)
    title: SingleLine | None = Field(default=None, max_length=200)
    starts_at: SaneDateTime
    ends_at: SaneDateTime


class PlanConfirm(StrictModel):
    capacity: int = Field(ge=1, le=10000, examples=[20])
    mode: Mode = "in_person"
    location: SingleLine | None = Field(default=None, max_length=500)
    link: SingleLine | None = Field(default=None, max_length=1000)
    timezone: SingleLine = Field(default="America/Toronto", max_length=64)
    items: list[PlanItem] | None = Field(
        default=None, max_length=100, description="Your adjusted plan; omit to confirm the proposal as is."
    )


class PlanConfirmed(BaseModel):
    cycle: CyclePublic
    sessions: list[SessionPublic]


# --- summaries, resources, calendars ---------------------------------------------------------------------------


class SummaryWrite(StrictModel):
    """The languages you give get their new text; a language you leave out (or send as null) keeps its text from
    the previous version; an empty text removes that language. A note keeps at least one language."""

    body_fr: MultiLine | None = Field(
        default=None,
        max_length=100_000,
        description='Markdown, in French. Left out or null: the previous version\'s French is kept; "": removed.',
        examples=["## Idées clés\n- ...\n## Pistes d'action\n- ..."],
    )
    body_en: MultiLine | None = Field(
        default=None,
        max_length=100_000,
        description='Markdown, in English. Left out or null: the previous version\'s English is kept; "": removed.',
    )

    def texts(self) -> dict[str, str]:
        return {lang: text for lang, text in (("fr", self.body_fr), ("en", self.body_en)) if text is not None}


class SummaryPublic(Public):
    session_id: str
    version: int
    body_fr: str | None
    body_en: str | None
    languages: list[str]
    published_by: str = Field(
        description="Who published this version: a member id, or the subject of a staff token (`erased` once "
        "its author was erased)."
    )
    published_at: datetime


class ResourceCreate(StrictModel):
    title: SingleLine = Field(min_length=1, max_length=300, examples=["Dernier enfant des bois"])
    kind: Literal["book", "tool", "template", "article", "model", "link"]
    language: Literal["fr", "en"] = "fr"
    description: MultiLine = Field(default="", max_length=5000)
    url: SingleLine | None = Field(default=None, max_length=2000)
    tags: list[Annotated[SingleLine, Field(max_length=50)]] = Field(default_factory=list, max_length=20)
    session_id: SingleLine | None = Field(default=None, max_length=36)
    theme_id: SingleLine | None = Field(default=None, max_length=36)


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
    id: str = Field(description="The feed's id: DELETE /v1/calendars/{id} (with your bearer token) revokes it.")
    url: str = Field(
        description="Secret calendar URL: anyone who has it can read the calendar (and revoke it). Shown once."
    )
    kind: Literal["community", "member"]


class FeedInfoPublic(Public):
    """A feed as listed: never its URL (the secret token is shown once, when issued)."""

    id: str
    kind: str
    community_id: str | None
    member_id: str | None = Field(description="Its owner, when a member.")
    created_at: datetime


class RosterEntryPublic(BaseModel):
    """One registration, with the member's name (for the session's managers only)."""

    registration_id: str
    session_id: str
    session_title: str
    starts_at: datetime
    member_id: str = Field(description="The member's id (a marker once the member was erased).")
    display_name: str | None = Field(description="From registration's contacts; null if unknown or erased.")
    status: str
    position: int | None = Field(description="Place on the waitlist, 1 for the first.")
    registered_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    attendance: str | None
    checked_in_at: datetime | None


# --- pages -------------------------------------------------------------------------------------------------------


class SessionsPage(Page[SessionPublic]):
    """A page of sessions, in start order."""


class RegistrationsPage(Page[RegistrationPublic]):
    """A page of registrations, in arrival order."""


class MySessionsPage(Page[MySession]):
    """A page of your registrations with their sessions, in start order."""


class RosterPage(Page[RosterEntryPublic]):
    """A page of a roster."""


class CyclesPage(Page[CyclePublic]):
    """A page of program cycles, by first day."""


class ThemesPage(Page[ThemePublic]):
    """A page of themes, in proposal order."""


class SummariesPage(Page[SummaryPublic]):
    """A page of summary versions, oldest first."""


class ResourcesPage(Page[ResourcePublic]):
    """A page of resources, newest first."""


class FeedsPage(Page[FeedInfoPublic]):
    """A page of calendar feeds, oldest first."""


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


def feed_public(base_url: str, feed: CalendarFeed, token: str) -> FeedPublic:
    kind: Literal["community", "member"] = "community" if feed.kind == "community" else "member"
    return FeedPublic(id=feed.id, url=f"{base_url.rstrip('/')}/v1/calendars/{token}.ics", kind=kind)


def roster_public(line: RosterLine) -> RosterEntryPublic:
    r = line.registration
    return RosterEntryPublic(
        registration_id=r.id,
        session_id=line.session.id,
        session_title=line.session.title,
        starts_at=line.session.starts_at,
        member_id=r.member_id,
        display_name=line.display_name,
        status=str(r.status),
        position=line.position,
        registered_at=r.registered_at,
        confirmed_at=r.confirmed_at,
        cancelled_at=r.cancelled_at,
        attendance=str(r.attendance) if r.attendance else None,
        checked_in_at=r.checked_in_at,
    )


def page(result: PageOf[Any], convert: Any) -> dict[str, Any]:
    """A page's response body: each item converted, and the next cursor."""
    return {"items": [convert(item) for item in result.items], "next_cursor": result.next_cursor}
