"""Surveys on a real PostgreSQL under concurrency: one answer per member when she sends it several times at once,
and the survey job running while members answer neither deadlocks nor loses an answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES, auth
from tests.unit.insights import events as ev

pytestmark = pytest.mark.integration

JOB = "send-survey-messages"
MEMBERS = [f"m-{n}" for n in range(1, 9)]
AGREE = {"practice_evolves": 5, "spread_to_colleagues": 4, "change_agent": 4, "new_tools_resources": 5}


@pytest.fixture
def insights(pg_url):
    upgrade(SERVICES["insights"].bootstrap().MIGRATIONS, pg_url)
    h = ServiceHarness("insights", pg_url)
    h.publish(ev.community_created("cop-a", regions=["13"]))
    for m in MEMBERS:
        h.publish(ev.joined("cop-a", m))
        h.publish(reg.MemberConsentChanged(member_id=m, purpose="surveys", granted=True, changed_at=h.clock.now))
    response = h.api.post(
        "/v1/surveys",
        json={
            "community_id": "cop-a",
            "year": 2026,
            "opens_at": h.clock.now.isoformat(),
            "closes_at": (h.clock.now + timedelta(days=30)).isoformat(),
        },
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    h.survey_id = response.json()["id"]
    h.run_job(JOB)
    yield h
    h.runtime.engine.dispose()


def answer(h, member_id):
    return h.api.post(
        f"/v1/surveys/{h.survey_id}/answers",
        json={"answers": AGREE},
        headers=auth("member", member_id=member_id),
    ).status_code


def test_the_same_answer_sent_six_times_at_once_is_kept_once(insights, pg_url):
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(lambda _: answer(insights, "m-1"), range(6)))

    assert codes == [201, 409, 409, 409, 409, 409]
    with create_engine(pg_url).connect() as db:
        assert db.execute(text("select count(*) from survey_answers")).scalar_one() == 1


def test_members_answering_while_the_survey_job_runs_all_get_in(insights, pg_url):
    insights.advance(days=3)  # reminders are due: the job locks the survey and its invitations meanwhile
    stop = threading.Event()
    job_errors: list[BaseException] = []

    def run_jobs():
        while not stop.is_set():
            try:
                insights.run_job(JOB)
            except BaseException as exc:
                job_errors.append(exc)

    runner = threading.Thread(target=run_jobs)
    runner.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda m: answer(insights, m), MEMBERS))
    finally:
        stop.set()
        runner.join(60)

    assert codes == [201] * len(MEMBERS)
    assert job_errors == []
    with create_engine(pg_url).connect() as db:
        assert db.execute(text("select count(*) from survey_answers")).scalar_one() == len(MEMBERS)
        assert db.execute(text("select count(*) from survey_invitations where answered")).scalar_one() == len(MEMBERS)


def test_an_id_wider_than_the_columns_is_nobody_to_ask_and_never_stalls_the_job(insights, pg_url):
    """On PostgreSQL a 100-character member id cannot be stored in an invitation: it is left out at projection."""
    too_long = "m-" + "x" * 100
    session_id = ev.new_id()
    now = insights.clock.now
    insights.publish(reg.MemberConsentChanged(member_id=too_long, purpose="surveys", granted=True, changed_at=now))
    insights.publish(ses.SessionHeld(session_id=session_id, community_id="cop-a", starts_at=now, held_at=now))
    insights.publish(
        ses.SessionAttendanceRecorded(
            session_id=session_id,
            community_id="cop-a",
            confirmed=2,
            present=2,
            absent=0,
            present_member_ids=["m-1", too_long],
            recorded_at=now,
        )
    )
    insights.advance(days=1)
    insights.run_job(JOB)

    with create_engine(pg_url).connect() as db:
        asked = (
            db.execute(
                text(
                    "select i.member_id from survey_invitations i join surveys s on s.id = i.survey_id"
                    " where s.session_id = :s"
                ),
                {"s": session_id},
            )
            .scalars()
            .all()
        )
    assert asked == ["m-1"]
