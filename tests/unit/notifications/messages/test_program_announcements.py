"""The program year's announcements: call for themes at once; the vote's opening and its last 48 h as timed
messages on the durable scheduler; the themes retained."""

from __future__ import annotations

from datetime import date, timedelta

from cercle_shared.contracts import registration as reg_events
from cercle_shared.contracts import sessions as session_events

from .conftest import body, community, mail_to, member, new_id


def open_cycle(h, community_id):
    now = h.clock.now
    event = session_events.ProgramCycleOpened(
        cycle_id=new_id(),
        community_id=community_id,
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 6, 30),
        proposals_open_at=now,
        proposals_close_at=now + timedelta(days=10),
        voting_opens_at=now + timedelta(days=12),
        voting_closes_at=now + timedelta(days=20),
        themes_to_retain=3,
        sessions_per_theme=2,
        opened_at=now,
    )
    h.publish(event)
    return event


def subjects(smtp, email):
    return [m["Subject"] for m in mail_to(smtp, email)]


def send(h):
    h.run_job("hand-over-timed-messages")
    h.run_job("send-emails")


def test_call_for_themes_then_vote_opened_then_vote_closing_each_once_at_its_moment(h, smtp):
    laval = community(h)
    _marie, email = member(h, laval)
    _john, john_email = member(h, laval, language="en")
    open_cycle(h, laval)
    send(h)
    assert subjects(smtp, email) == ["Appel de thèmes : CoP SMET Laval"]
    [call] = mail_to(smtp, john_email)
    assert "Proposals until Friday, September 11, 2026 at 8:00 AM." in body(call)
    assert "3 themes will be retained" in body(call)

    h.advance(days=11)
    send(h)
    assert len(subjects(smtp, email)) == 1  # nothing before the vote opens

    h.advance(days=1, minutes=1)
    send(h)
    send(h)
    assert subjects(smtp, email)[1:] == ["Le vote est ouvert : CoP SMET Laval"]
    assert "Vote jusqu'au lundi 21 septembre 2026 à 8 h." in body(mail_to(smtp, email)[1])

    h.advance(days=6)  # 48 h before the close
    send(h)
    send(h)
    assert subjects(smtp, email)[2:] == ["Le vote se termine dans 48 heures : CoP SMET Laval"]
    closing = body(mail_to(smtp, email)[2])
    assert "Si vous n'avez pas encore voté" in closing
    assert mail_to(smtp, email)[2]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(mail_to(smtp, john_email)) == 3

    h.advance(days=3)
    send(h)
    assert len(subjects(smtp, email)) == 3


def test_the_vote_closing_reminder_goes_only_to_members_who_have_not_voted(h, smtp):
    laval = community(h)
    voter, voter_email = member(h, laval)
    _, other_email = member(h, laval)
    cycle = open_cycle(h, laval)
    h.advance(days=13)
    h.publish(
        session_events.BallotCast(cycle_id=cycle.cycle_id, community_id=laval, member_id=voter, cast_at=h.clock.now)
    )
    h.advance(days=5, minutes=1)  # past 48 h before the close
    send(h)
    closing = "Le vote se termine dans 48 heures : CoP SMET Laval"
    assert closing in subjects(smtp, other_email)
    assert closing not in subjects(smtp, voter_email)
    assert "Le vote est ouvert : CoP SMET Laval" in subjects(smtp, voter_email)


def test_a_member_who_left_the_community_gets_no_more_of_its_vote_messages(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    open_cycle(h, laval)
    send(h)
    with h.uow() as uow:
        [membership] = uow.memberships.of_member(marie)
    h.publish(
        reg_events.MembershipLeft(
            membership_id=membership.membership_id, community_id=laval, member_id=marie, left_at=h.clock.now
        )
    )
    h.advance(days=19)
    send(h)
    assert subjects(smtp, email) == ["Appel de thèmes : CoP SMET Laval"]


def test_members_who_stopped_announcements_get_none_of_them(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    h.api.put(
        f"/v1/members/{marie}/preferences", json={"categories": {"announcements": False}}, headers=h.as_member(marie)
    )
    open_cycle(h, laval)
    send(h)
    h.advance(days=12, minutes=1)
    send(h)
    assert mail_to(smtp, email) == []


def test_the_themes_retained_are_announced_in_rank_order(h, smtp):
    laval = community(h)
    _marie, email = member(h, laval)
    h.publish(
        session_events.ThemesRetained(
            cycle_id=new_id(),
            community_id=laval,
            themes=[
                session_events.RetainedTheme(theme_id=new_id(), title="Retour au travail", votes=9, rank=2),
                session_events.RetainedTheme(theme_id=new_id(), title="Nature et santé mentale", votes=12, rank=1),
            ],
            total_votes=21,
            retained_at=h.clock.now,
        )
    )
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Les thèmes de l'année : CoP SMET Laval"
    assert "1. Nature et santé mentale\n2. Retour au travail" in body(message)
    assert "21 votes" in body(message)
