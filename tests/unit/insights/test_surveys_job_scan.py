"""The survey job first finds, in a few set-based queries, which open surveys have anything to do (a message due, or
somebody newly eligible) and visits only those: an idle run costs the same handful of statements however many
surveys are open, and a member who becomes eligible while a survey is open is still asked at the next run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from tests.support.services import auth

from . import events as ev

INVITATION = "org.cercle.insights.survey.invitation_issued.v1"
JOB = "send-survey-messages"
LAVAL, LAURENTIDES = "13", "15"


def consent(member_id: str, granted: bool = True, at=None):
    return reg.MemberConsentChanged(member_id=member_id, purpose="surveys", granted=granted, changed_at=at or ev.day(1))


def invited(insights, survey_id: str, round_: int = 0) -> list[str]:
    rows = insights.published(INVITATION)
    return sorted(r["key"] for r in rows if r["data"]["survey_id"] == survey_id and r["data"]["round"] == round_)


def open_survey(insights, **body) -> dict:
    now = insights.clock.now
    payload = {"year": now.year, "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=30)).isoformat()}
    response = insights.api.post(
        "/v1/surveys", json=payload | body, headers=auth("coordinator", regions=[LAVAL, LAURENTIDES])
    )
    assert response.status_code == 201, response.text
    return response.json()


def held_yesterday(insights, project, community: str, present: list[str]) -> str:
    session_id, yesterday = ev.new_id(), insights.clock.now - timedelta(days=1)
    project(
        ses.SessionHeld(
            session_id=session_id, community_id=community, theme_id=None, starts_at=yesterday, held_at=yesterday
        ),
        ses.SessionAttendanceRecorded(
            session_id=session_id,
            community_id=community,
            confirmed=len(present),
            present=len(present),
            absent=0,
            present_member_ids=present,
            recorded_at=yesterday,
        ),
    )
    return session_id


@contextmanager
def statements(insights) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = insights.runtime.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def world(insights, project):
    """Laval: cop-a (a-1..a-4) and cop-b (b-1); Laurentides: cop-c (c-1); everyone consented."""
    project(
        ev.community_created("cop-a", regions=[LAVAL]),
        ev.community_created("cop-b", regions=[LAVAL]),
        ev.community_created("cop-c", regions=[LAURENTIDES]),
    )
    for community, members in {"cop-a": ["a-1", "a-2", "a-3", "a-4"], "cop-b": ["b-1"], "cop-c": ["c-1"]}.items():
        for m in members:
            project(ev.joined(community, m), consent(m))


def test_a_member_who_joins_a_community_of_an_open_regional_survey_is_asked_at_the_next_run(insights, project, world):
    survey = open_survey(insights, region=LAVAL)
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == ["a-1", "a-2", "a-3", "a-4", "b-1"]

    insights.advance(hours=1)
    leaving = ev.joined("cop-b", "x-4")
    project(
        ev.joined("cop-b", "x-1"), consent("x-1"),  # joined a community of the region, consented: asked
        ev.joined("cop-c", "x-2"), consent("x-2"),  # another region's community: not asked
        ev.joined("cop-a", "x-3"),  # no consent: not asked
        leaving, consent("x-4"), ev.left(leaving, at=ev.day(90)),  # left before the run: not asked
    )  # fmt: skip
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == ["a-1", "a-2", "a-3", "a-4", "b-1", "x-1"]

    project(consent("x-3", at=ev.day(99)))  # she consents later: asked at the run after
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == ["a-1", "a-2", "a-3", "a-4", "b-1", "x-1", "x-3"]


def test_a_community_survey_asks_only_its_own_community_even_when_it_names_a_region(insights, project, world):
    survey = open_survey(insights, community_id="cop-b")
    insights.run_job(JOB)
    project(ev.joined("cop-a", "x-1"), consent("x-1"), ev.joined("cop-b", "x-2"), consent("x-2"))
    insights.run_job(JOB)
    assert invited(insights, survey["id"]) == ["b-1", "x-2"]


def test_an_idle_run_costs_the_same_statements_for_thirty_open_surveys_as_for_three(insights, project, world):
    open_survey(insights, community_id="cop-a")
    present = ["a-1", "a-2", "a-3"]
    for _ in range(3):
        held_yesterday(insights, project, "cop-a", present)
    insights.run_job(JOB)  # opens the three feedback surveys and sends every invitation
    sent = len(insights.published(INVITATION))
    assert sent == 4 + 3 * 3

    insights.advance(minutes=5)
    with statements(insights) as with_three:
        insights.run_job(JOB)

    for _ in range(27):
        held_yesterday(insights, project, "cop-a", present)
    insights.run_job(JOB)
    assert len(insights.published(INVITATION)) == sent + 27 * 3

    insights.advance(minutes=5)
    with statements(insights) as with_thirty:
        insights.run_job(JOB)

    assert len(insights.published(INVITATION)) == sent + 27 * 3  # idle: nothing sent
    assert len(with_thirty) == len(with_three)
    assert not [s for s in with_thirty if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_reminder_falls_due_among_idle_surveys_and_only_its_survey_sends(insights, project, world):
    first = held_yesterday(insights, project, "cop-a", ["a-1", "a-2"])
    insights.run_job(JOB)
    insights.advance(days=2)
    held_yesterday(insights, project, "cop-b", ["b-1"])
    insights.run_job(JOB)  # the second survey opens; the first's reminder (day 3) is not due yet
    assert [r["data"]["round"] for r in insights.published(INVITATION)] == [0, 0, 0]

    insights.advance(days=1)
    insights.run_job(JOB)
    reminders = [r["data"] for r in insights.published(INVITATION) if r["data"]["round"] == 1]
    assert sorted((r["session_id"], r["member_id"]) for r in reminders) == [(first, "a-1"), (first, "a-2")]


def test_consent_is_looked_up_for_thousands_of_members_at_once(insights):
    """The job asks about every member of every open survey in one call: the lookup keeps each statement's
    parameters bounded (SQLite and PostgreSQL cap them)."""
    members = [f"p-{n}" for n in range(2500)]
    with insights.uow() as uow:
        for n, m in enumerate(members):
            uow.surveys.set_consent(m, n % 3 != 0, ev.day(1))
        uow.commit()
    with insights.uow() as uow:
        found = uow.surveys.consenting([*members, *members[:10], "nobody"])
    assert found == {m for n, m in enumerate(members) if n % 3 != 0}
