"""The weekly digest: on her day, what was published in her communities the week before, grouped by community,
in her language; nothing when nothing is new; once per week however often the job runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cercle_shared.contracts import sessions as session_events

from .conftest import body, community, mail_to, member, new_id

# The harness starts on Tuesday, September 1, 2026 (12:00 UTC, 8:00 in Québec).
NEXT_TUESDAY_9AM = datetime(2026, 9, 8, 13, 0, tzinfo=UTC)


def set_digest_day(h, member_id, day):
    response = h.api.put(
        f"/v1/members/{member_id}/preferences", json={"digest_day": day}, headers=h.as_member(member_id)
    )
    assert response.status_code == 200, response.text


def summary(h, community_id, title):
    session_id = new_id()
    starts = h.clock.now - timedelta(days=1)
    h.publish(
        session_events.SessionScheduled(
            session_id=session_id,
            community_id=community_id,
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            mode="virtual",
            capacity=10,
        )
    )
    h.publish(
        session_events.SessionSummaryPublished(
            session_id=session_id, community_id=community_id, version=1, languages=["fr"], published_at=h.clock.now
        )
    )
    return session_id


def resource(h, community_id, title):
    h.publish(
        session_events.ResourceShared(
            resource_id=new_id(),
            community_id=community_id,
            kind="tool",
            title=title,
            language="fr",
            shared_at=h.clock.now,
        )
    )


def run_digest_day(h):
    h.clock.now = NEXT_TUESDAY_9AM
    h.run_job("send-digests")
    h.run_job("send-emails")


def test_the_digest_groups_the_weeks_news_by_community_in_her_language(h, smtp):
    laval, montreal, elsewhere = (
        community(h, "CoP Laval", "Laval CoP"),
        community(h, "CoP Montréal", "Montreal CoP"),
        community(h),
    )
    marie, email = member(h, laval, montreal, language="en")
    set_digest_day(h, marie, "tuesday")
    h.advance(days=1)
    summary(h, laval, "Nature et santé mentale")
    resource(h, laval, "Guide de retour au travail")
    resource(h, montreal, "Grille d'ergonomie")
    resource(h, elsewhere, "Not hers")
    run_digest_day(h)
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "This week in your communities"
    text = body(message)
    laval_at, montreal_at = text.index("Laval CoP"), text.index("Montreal CoP")
    assert laval_at < text.index("Nature et santé mentale") < text.index("Guide de retour au travail") < montreal_at
    assert montreal_at < text.index("Grille d'ergonomie")
    assert "Session summaries:" in text
    assert "Resources shared:" in text
    assert "Not hers" not in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Stop receiving the weekly digest:" in text


def test_nothing_new_means_no_digest(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    set_digest_day(h, marie, "tuesday")
    run_digest_day(h)
    assert mail_to(smtp, email) == []
    with h.uow() as uow:
        assert uow.deliveries.of_member(marie) == []


def test_one_digest_per_week_however_often_the_job_runs(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    set_digest_day(h, marie, "tuesday")
    h.advance(days=2)
    resource(h, laval, "Guide")
    run_digest_day(h)
    h.advance(hours=3)
    resource(h, laval, "Un autre guide, publié le jour même")  # next week's news
    h.run_job("send-digests")
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Cette semaine dans vos communautés"
    assert "Ressources partagées :\n- Guide" in body(message)
    assert "Un autre guide" not in body(message)


def test_not_on_another_day_nor_before_the_hour_nor_when_she_stopped_it(h, smtp):
    laval = community(h)
    _monday, monday_email = member(h, laval)  # the default day is Monday
    early, early_email = member(h, laval)
    stopped, stopped_email = member(h, laval)
    set_digest_day(h, early, "tuesday")
    set_digest_day(h, stopped, "tuesday")
    h.api.put(
        f"/v1/members/{stopped}/preferences", json={"categories": {"digest": False}}, headers=h.as_member(stopped)
    )
    h.advance(days=1)
    resource(h, laval, "Guide")
    h.clock.now = datetime(2026, 9, 8, 11, 0, tzinfo=UTC)  # Tuesday 7:00 in Québec: before the hour
    h.run_job("send-digests")
    h.run_job("send-emails")
    assert mail_to(smtp, early_email) == []
    run_digest_day(h)
    assert len(mail_to(smtp, early_email)) == 1
    assert mail_to(smtp, monday_email) == []
    assert mail_to(smtp, stopped_email) == []
