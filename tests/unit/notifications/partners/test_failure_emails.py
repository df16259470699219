"""A partner's contact hears about failures at most once a day; an endpoint failing for 5 days straight is disabled."""

from __future__ import annotations

from .helpers import endpoint, grant, registration_confirmed

ORG = "org-a"
DELIVER = "deliver-webhooks"


def _fail_one_message(h) -> None:
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    for wait in (5, 60, 300):  # the test schedule: 0, 5, 60, 300
        h.advance(seconds=wait)
        h.run_job(DELIVER)


def _notices(h) -> list:
    with h.uow() as uow:
        return [(n.subject, n.body) for n in uow.partners.unsent_notices(100)]


def test_failed_messages_email_the_contact_at_most_once_a_day(h, rx):
    rx.default = 500
    grant(h.api, ORG, h.as_operator(), contact_email="hooks@partner.example")
    endpoint(h.api, ORG, h.as_partner(ORG), rx.url)
    _fail_one_message(h)
    assert len(_notices(h)) == 1
    h.advance(hours=2)
    _fail_one_message(h)
    assert len(_notices(h)) == 1
    h.advance(days=1)
    _fail_one_message(h)
    notices = _notices(h)
    assert len(notices) == 2
    assert "webhooks could not be delivered" in notices[0][0]
    assert "n'ont pas pu être livrés" in notices[0][1]


def test_an_endpoint_failing_for_five_days_straight_is_disabled_with_an_email(h, rx):
    rx.default = 503
    grant(h.api, ORG, h.as_operator(), contact_email="hooks@partner.example")
    ep = endpoint(h.api, ORG, h.as_partner(ORG), rx.url)
    for _ in range(5):
        _fail_one_message(h)
        h.advance(days=1)
    _fail_one_message(h)
    shown = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}", headers=h.as_partner(ORG)).json()
    assert shown["enabled"] is False
    assert "5 days" in shown["disabled_reason"]
    assert any("disabled" in subject for subject, _ in _notices(h))
    r = h.api.patch(f"/v1/partners/{ORG}/endpoints/{ep['id']}", json={"enabled": True}, headers=h.as_partner(ORG))
    assert r.json()["enabled"] is True
    assert r.json()["failing_since"] is None


def test_a_success_resets_the_five_day_count(h, rx):
    grant(h.api, ORG, h.as_operator())
    ep = endpoint(h.api, ORG, h.as_partner(ORG), rx.url)
    for day in range(7):
        rx.default = 200 if day == 3 else 500
        _fail_one_message(h)
        h.advance(days=1)
    shown = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}", headers=h.as_partner(ORG)).json()
    assert shown["enabled"] is True
