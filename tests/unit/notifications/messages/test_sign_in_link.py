"""The sign-in link email: transactional, in her language, sent whatever categories she stopped, never logged."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from cercle_notifications.adapters import orm
from cercle_notifications.domain.model import Category
from cercle_shared.contracts import registration as reg_events
from tests.support.harness import new_id

from .conftest import body, mail_to, member

LINK = "https://cercle.example/sign-in#code=Zx81-secret-code-value"
CODE = "QWER-TYUI-secret"


def request_link(h, member_id, *, language="fr", minutes=15):
    return h.publish(
        reg_events.SignInLinkRequested(
            member_id=member_id,
            link=LINK,
            code=CODE,
            language=language,
            expires_at=h.clock.now + timedelta(minutes=minutes),
            requested_at=h.clock.now,
        )
    )


def stored_details(h) -> list[dict]:
    with h.runtime.db_factory() as db:
        return [row.details for row in db.execute(select(orm.deliveries)).all()]


def test_the_link_and_code_are_emailed_in_her_language_and_not_kept_once_sent(h, smtp, caplog):
    member_id, email = member(h, language="en")
    with caplog.at_level(logging.DEBUG):
        request_link(h, member_id, language="en")
        h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Your sign-in link to Cercle"
    text = body(message)
    assert LINK in text
    assert CODE in text
    assert "for 15 minutes" in text
    assert "a sign-in link to Cercle was requested for this address" in text  # why she receives it
    assert message["List-Unsubscribe"] is None  # transactional: no category to leave
    assert message["Content-Language"] == "en"
    assert f'href="{LINK}"' in message.get_body(("html",)).get_content()
    assert all(LINK not in record.getMessage() and CODE not in record.getMessage() for record in caplog.records)
    [details] = stored_details(h)
    assert "link" not in details
    assert "code" not in details


def test_it_is_sent_even_when_she_stopped_every_category(h, smtp):
    member_id, email = member(h)
    response = h.api.put(
        f"/v1/members/{member_id}/preferences",
        json={"categories": dict.fromkeys(Category, False)},
        headers=h.as_member(member_id),
    )
    assert response.status_code == 200, response.text
    request_link(h, member_id)
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert message["Subject"] == "Votre lien de connexion à Cercle"
    assert "pendant 15 minutes" in body(message)


def test_without_email_consent_no_link_is_sent(h, smtp):
    member_id, email = member(h, email_consent=False)
    request_link(h, member_id)
    h.run_job("send-emails")
    assert mail_to(smtp, email) == []
    [details] = stored_details(h)
    assert "link" not in details  # settled (skipped): the secret is gone too


def test_a_link_that_expired_before_it_could_go_is_not_sent(h, smtp):
    member_id, email = member(h)
    request_link(h, member_id, minutes=15)
    h.advance(minutes=16)
    h.run_job("send-emails")
    assert mail_to(smtp, email) == []
    with h.uow() as uow:
        [delivery] = uow.deliveries.of_member(member_id)
        assert (delivery.status, delivery.reason) == ("skipped", "too_late")


def test_the_same_request_delivered_twice_sends_one_email(h, smtp):
    member_id, email = member(h)
    event_id = request_link(h, member_id)
    request_link_again = reg_events.SignInLinkRequested(
        member_id=member_id,
        link=LINK,
        code=CODE,
        language="fr",
        expires_at=h.clock.now + timedelta(minutes=15),
        requested_at=h.clock.now,
    )
    h.publish(request_link_again, event_id=event_id)
    h.run_job("send-emails")
    assert len(mail_to(smtp, email)) == 1


def test_a_link_that_arrives_before_her_contact_is_sent_once_the_contact_arrives(h, smtp):
    # The link and the contact travel on different topics: either may be consumed first.
    member_id = new_id()
    request_link(h, member_id)
    h.run_job("send-emails")
    email = f"{member_id[:8]}@example.org"
    assert mail_to(smtp, email) == []
    h.publish(
        reg_events.MemberContactChanged(
            member_id=member_id,
            email=email,
            display_name="Marie Tremblay",
            language="fr",
            consents={"processing": True, "email": True},
            updated_at=h.clock.now,
        )
    )
    h.run_job("send-emails")
    [message] = mail_to(smtp, email)
    assert CODE in body(message)
