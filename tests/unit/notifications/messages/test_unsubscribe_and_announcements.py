"""Announcements reach the members of the community with the one-click unsubscribe headers (RFC 8058); the
signed link works without signing in, refuses a tampered signature, and stops exactly its category."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from cercle_notifications.domain.model import Category
from cercle_notifications.service_layer.unsubscribe import UnsubscribeLinks, derive_key
from cercle_shared.contracts import sessions as session_events

from .conftest import PUBLIC_URL, SESSIONS_URL, body, community, mail_to, member, new_id

# The categories of the emails sent on insights' behalf (issue 11), all on by default.
NEW_CATEGORIES_ON = {"surveys": True, "action_plans": True, "coordination": True}


def schedule(h, community_id, *, title="Nature et santé mentale", days_ahead=10):
    session_id = new_id()
    starts = h.clock.now + timedelta(days=days_ahead)
    h.publish(
        session_events.SessionScheduled(
            session_id=session_id,
            community_id=community_id,
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            timezone="America/Toronto",
            mode="in_person",
            location="Maison du citoyen, Laval",
            capacity=20,
        )
    )
    return session_id


def unsubscribe_url(message) -> str:
    [url] = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])
    return url


def preferences(h, member_id) -> dict:
    response = h.api.get(f"/v1/members/{member_id}/preferences", headers=h.as_member(member_id))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_scheduled_session_is_announced_to_every_member_of_its_community_only(h, smtp):
    laval, other = community(h), community(h)
    (_marie, marie_email), (_john, john_email) = member(h, laval), member(h, laval, language="en")
    _, outsider_email = member(h, other)
    session_id = schedule(h, laval)
    h.run_job("send-emails")
    [fr] = mail_to(smtp, marie_email)
    [en] = mail_to(smtp, john_email)
    assert mail_to(smtp, outsider_email) == []
    assert fr["Subject"] == "Nouvelle rencontre : Nature et santé mentale"
    assert f"Pour vous inscrire : {SESSIONS_URL}/{session_id}" in body(fr)
    assert "dans la communauté CoP SMET Laval" in body(fr)
    assert "Vous recevez cette annonce parce que vous êtes membre de cette communauté." in body(fr)
    assert en["Subject"] == "New session: Nature et santé mentale"
    assert "in the Laval workplace health CoP community" in body(en)
    assert f"To register: {SESSIONS_URL}/{session_id}" in body(en)


def test_every_announcement_carries_the_one_click_unsubscribe_headers(h, smtp):
    laval = community(h)
    _marie, email = member(h, laval)
    schedule(h, laval)
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    header = message["List-Unsubscribe"]
    assert re.fullmatch(r"<https://cercle\.example/v1/unsubscribe/[A-Za-z0-9_.-]+>, <mailto:[^>]+>", header), header
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url(message).startswith(f"{PUBLIC_URL}/v1/unsubscribe/")
    assert unsubscribe_url(message) in body(message)  # and in the footer, for a person to click
    assert "Ne plus recevoir d'annonces :" in body(message)


def test_the_one_click_post_stops_exactly_that_category_without_signing_in(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    schedule(h, laval)
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    path = unsubscribe_url(message).removeprefix(PUBLIC_URL)
    version = preferences(h, marie)["version"]

    response = h.api.post(path, data={"List-Unsubscribe": "One-Click"})  # as a mail provider does: no token
    assert response.status_code == 200, response.text
    assert "vous ne recevrez plus ces messages (annonces des communautés)" in response.text
    after = preferences(h, marie)
    assert after["categories"] == {"reminders": True, "announcements": False, "digest": True, **NEW_CATEGORIES_ON}
    assert after["version"] == version + 1

    schedule(h, laval, title="Une autre rencontre")
    h.run_job("send-emails")
    assert len(mail_to(smtp, email)) == 1  # no second announcement

    assert h.api.post(path).status_code == 200  # a second click (a provider's retry) is harmless
    assert preferences(h, marie)["version"] == version + 1


def test_opening_the_link_only_shows_a_bilingual_confirmation(h, smtp):
    laval = community(h)
    marie, email = member(h, laval, language="en")
    schedule(h, laval)
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    page = h.api.get(unsubscribe_url(message).removeprefix(PUBLIC_URL))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.index("Stop receiving: community announcements") < page.text.index(
        "Ne plus recevoir : annonces des communautés"
    )  # hers first, then the other language
    assert '<form method="post">' in page.text
    assert preferences(h, marie)["categories"]["announcements"] is True  # a link scanner changes nothing


@pytest.mark.parametrize("tamper", ["signature", "category", "member", "truncated", "garbage"])
def test_a_tampered_link_is_refused_with_a_404_problem(h, tamper):
    marie, _ = member(h)
    links = UnsubscribeLinks(derive_key(h.settings.jwt_secret.get_secret_value()), PUBLIC_URL, "u@cercle.local")
    token = links.token(marie, Category.DIGEST)
    payload, signature = token.split(".")
    forged = {
        "signature": f"{payload}.{signature[:-2]}AA",
        "category": f"{links.token(marie, Category.REMINDERS).split('.')[0]}.{signature}",
        "member": f"{links.token(new_id(), Category.DIGEST).split('.')[0]}.{signature}",
        "truncated": payload,
        "garbage": "%%%.!!!",
    }[tamper]
    for method in ("GET", "POST"):
        response = h.api.request(method, f"/v1/unsubscribe/{forged}")
        assert response.status_code == 404, (method, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert preferences(h, marie)["categories"]["digest"] is True


def test_a_link_signed_with_another_key_is_refused(h):
    marie, _ = member(h)
    foreign = UnsubscribeLinks(derive_key("another-secret"), PUBLIC_URL, "u@cercle.local")
    assert h.api.post(f"/v1/unsubscribe/{foreign.token(marie, Category.DIGEST)}").status_code == 404


def test_transactional_emails_still_go_after_unsubscribing_from_announcements(h, smtp):
    laval = community(h)
    marie, email = member(h, laval)
    links = UnsubscribeLinks(derive_key(h.settings.jwt_secret.get_secret_value()), PUBLIC_URL, "u@cercle.local")
    assert h.api.post(f"/v1/unsubscribe/{links.token(marie, Category.ANNOUNCEMENTS)}").status_code == 200
    session_id = schedule(h, laval)
    h.publish(
        session_events.SessionRegistrationConfirmed(
            registration_id=new_id(),
            session_id=session_id,
            community_id=laval,
            member_id=marie,
            confirmed_at=h.clock.now,
        )
    )
    h.clock.now = max(h.clock.now, datetime.now(UTC)) + timedelta(minutes=1)  # registrations' emails use the wall clock
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Inscription confirmée : Nature et santé mentale"
    assert message["List-Unsubscribe"] is None
    assert "parce qu'il concerne votre inscription" in body(message)


def test_a_session_already_begun_is_not_announced(h, smtp):
    laval = community(h)
    _, email = member(h, laval)
    schedule(h, laval, days_ahead=-1)
    h.run_job("send-emails")
    assert mail_to(smtp, email) == []
