"""Partner webhooks in process: the real consumer path, a real HTTP receiver on loopback, a controllable clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cercle_shared.contracts import registration as reg

from .helpers import community_created, endpoint, grant, registration_confirmed

ORG = "org-a"
DELIVER = "deliver-webhooks"


def _setup(h, rx, **grant_body):
    grant(h.api, ORG, h.as_operator(), **grant_body)
    return endpoint(h.api, ORG, h.as_partner(ORG), rx.url)


def _messages(h, ep, **params):
    r = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}/messages", params=params, headers=h.as_partner(ORG))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _attempts(h, ep, message_id):
    r = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}/messages/{message_id}/attempts", headers=h.as_partner(ORG))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_partner_visible_event_arrives_as_a_signed_cloudevent_that_standardwebhooks_verifies(h, rx):
    ep = _setup(h, rx)
    assert ep["secret"].startswith("whsec_")
    event_id = h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    [got] = rx.wait_for(1)
    body = got.verify(ep["secret"])
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert got.webhook_id == event_id == body["id"]
    assert body["type"] == "org.cercle.sessions.registration.confirmed.v1"
    assert body["specversion"] == "1.0"
    assert set(body["data"]) >= {"registration_id", "session_id", "community_id", "member_id"}
    assert "email" not in json.dumps(body)
    assert "display_name" not in json.dumps(body)
    [message] = _messages(h, ep)
    assert message["status"] == "delivered"
    assert message["webhook_id"] == event_id
    assert message["attempts"] == 1


def test_the_secret_is_never_shown_again_after_creation(h, rx):
    ep = _setup(h, rx)
    shown = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}", headers=h.as_partner(ORG)).text
    listed = h.api.get(f"/v1/partners/{ORG}/endpoints", headers=h.as_partner(ORG)).text
    assert ep["secret"] not in shown
    assert ep["secret"] not in listed
    assert "secret" not in json.loads(shown)
    with h.runtime.db_factory() as db:
        from sqlalchemy import text

        stored = db.execute(text("select sealed_secret from partner_endpoints")).scalar_one()
    assert ep["secret"] not in stored
    assert ep["secret"][6:] not in stored


def test_the_same_event_delivered_twice_to_the_service_makes_one_message(h, rx):
    ep = _setup(h, rx)
    event = registration_confirmed("c-1")
    h.publish(event, event_id="evt-1")
    h.publish(event, event_id="evt-1")
    h.run_job(DELIVER)
    h.run_job(DELIVER)
    assert len(rx.wait_for(1)) == 1
    assert len(_messages(h, ep)) == 1


def test_a_receiver_failing_three_times_then_succeeding_gets_one_message_with_four_attempts(h, rx):
    rx.script = [(500, {}), (502, {}), (400, {})]
    ep = _setup(h, rx)
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    for wait in (5, 60, 300):
        h.advance(seconds=wait)
        h.run_job(DELIVER)
    received = rx.wait_for(4)
    assert len({r.webhook_id for r in received}) == 1
    [message] = _messages(h, ep)
    assert message["status"] == "delivered"
    assert message["attempts"] == 4
    attempts = _attempts(h, ep, message["id"])
    assert [a["status_code"] for a in attempts] == [500, 502, 400, 200]


def test_retries_follow_the_schedule_and_not_sooner(h, rx):
    rx.default = 500
    ep = _setup(h, rx)
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    h.advance(seconds=4)
    h.run_job(DELIVER)
    assert len(rx.received) == 1
    h.advance(seconds=1)
    h.run_job(DELIVER)
    assert len(rx.wait_for(2)) == 2
    for wait in (60, 300):
        h.advance(seconds=wait)
        h.run_job(DELIVER)
    [message] = _messages(h, ep)
    assert message["status"] == "failed"
    assert message["attempts"] == 4


def test_retry_after_on_503_is_honoured(h, rx):
    rx.script = [(503, {"Retry-After": "120"})]
    ep = _setup(h, rx)
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    h.advance(seconds=60)  # the schedule alone would have tried again after 5 s
    h.run_job(DELIVER)
    assert len(rx.received) == 1
    h.advance(seconds=61)
    h.run_job(DELIVER)
    rx.wait_for(2)
    [message] = _messages(h, ep)
    assert message["status"] == "delivered"


def test_410_gone_disables_the_endpoint_and_emails_the_contact(h, rx):
    rx.default = 410
    ep = _setup(h, rx, contact_email="hooks@partner.example")
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    [message] = _messages(h, ep)
    assert message["status"] == "failed"
    shown = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}", headers=h.as_partner(ORG)).json()
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"]
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    assert len(rx.received) == 1
    with h.uow() as uow:
        [notice] = uow.partners.unsent_notices(10)
        assert notice.recipient == "hooks@partner.example"
        assert "410" in notice.body


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one(h, rx):
    ep = _setup(h, rx)
    r = h.api.post(f"/v1/partners/{ORG}/endpoints/{ep['id']}/secret/rotate", headers=h.as_partner(ORG))
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    [first] = rx.wait_for(1)
    first.verify(ep["secret"])
    first.verify(new)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    h.advance(hours=24, seconds=1)
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    second = rx.wait_for(2)[1]
    second.verify(new)
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    try:
        second.verify(ep["secret"])
    except Exception:
        pass
    else:
        raise AssertionError("the old secret still verifies after the overlap")


def test_a_partner_granted_region_13_receives_nothing_of_region_03(h, rx):
    h.publish(community_created("laval", "13"))
    h.publish(community_created("quebec", "03"))
    grant(h.api, ORG, h.as_operator(), event_types=["org.cercle."], regions=["13"])
    ep = endpoint(h.api, ORG, h.as_partner(ORG), rx.url, event_types=["org.cercle.*"])
    h.publish(registration_confirmed("quebec"))
    laval = h.publish(registration_confirmed("laval"))
    h.publish(reg.MemberRegistered(member_id="m-3", region="03", language="fr", registered_at=datetime.now(UTC)))
    member_13 = h.publish(
        reg.MemberRegistered(member_id="m-13", region="13", language="fr", registered_at=datetime.now(UTC))
    )
    h.run_job(DELIVER)
    received = rx.wait_for(2)
    h.run_job(DELIVER)
    assert sorted(r.webhook_id for r in received) == sorted([laval, member_13])
    assert len(_messages(h, ep)) == 2


def test_an_endpoint_filter_cannot_widen_the_grant(h, rx):
    grant(h.api, ORG, h.as_operator(), regions=["13"])
    r = h.api.post(
        f"/v1/partners/{ORG}/endpoints",
        json={"url": rx.url, "event_types": ["org.cercle.sessions.registration.*"], "regions": ["03"]},
        headers=h.as_partner(ORG),
    )
    assert r.status_code == 422
    assert "regions" in r.text
    r = h.api.post(
        f"/v1/partners/{ORG}/endpoints",
        json={"url": rx.url, "event_types": ["org.cercle.registration.member.registered.v1"]},
        headers=h.as_partner(ORG),
    )
    assert r.status_code == 422
    assert "event_types" in r.text


def test_internal_event_types_can_be_neither_granted_nor_delivered(h, rx):
    r = h.api.put(
        f"/v1/partners/{ORG}/grant",
        json={"event_types": ["org.cercle.registration.member.contact_changed.v1"]},
        headers=h.as_operator(),
    )
    assert r.status_code == 422
    grant(h.api, ORG, h.as_operator(), event_types=["org.cercle."])
    endpoint(h.api, ORG, h.as_partner(ORG), rx.url, event_types=["org.cercle.*"])
    from tests.unit.notifications.factories import contact_changed

    h.publish(contact_changed("m-1"))
    h.run_job(DELIVER)
    assert rx.received == []
    with h.uow() as uow:
        assert uow.partners.events_after(0, 10) == []


def test_revoking_the_grant_stops_deliveries_at_once(h, rx):
    rx.default = 500
    ep = _setup(h, rx)
    h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    assert h.api.delete(f"/v1/partners/{ORG}/grant", headers=h.as_operator()).status_code == 204
    h.advance(seconds=10)
    h.run_job(DELIVER)
    assert len(rx.received) == 1
    [message] = _messages(h, ep)
    assert message["status"] == "cancelled"


def test_replay_and_recover_resend_with_the_same_webhook_id(h, rx):
    ep = _setup(h, rx)
    first = h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    [message] = _messages(h, ep)
    base = f"/v1/partners/{ORG}/endpoints/{ep['id']}"
    r = h.api.post(f"{base}/messages/{message['id']}/replay", headers=h.as_partner(ORG))
    assert r.status_code == 202, r.text
    h.run_job(DELIVER)
    r = h.api.post(f"{base}/recover", json={"since": "2026-01-01T00:00:00Z"}, headers=h.as_partner(ORG))
    assert r.status_code == 202
    assert r.json() == {"resent": 1}
    h.run_job(DELIVER)
    received = rx.wait_for(3)
    assert [x.webhook_id for x in received] == [first] * 3
    assert len(_attempts(h, ep, message["id"])) == 3


def test_the_pull_feed_returns_the_same_filtered_events_in_order_with_a_cursor(h, rx):
    h.publish(community_created("laval", "13"))
    h.publish(community_created("quebec", "03"))
    grant(h.api, ORG, h.as_operator(), regions=["13"])
    ids = [h.publish(registration_confirmed("laval")) for _ in range(3)]
    h.publish(registration_confirmed("quebec"))
    ids.append(h.publish(registration_confirmed("laval")))
    seen, after = [], None
    for _ in range(5):
        params = {"limit": 2, **({"after": after} if after else {})}
        r = h.api.get(f"/v1/partners/{ORG}/events", params=params, headers=h.as_partner(ORG))
        assert r.status_code == 200, r.text
        seen += [e["id"] for e in r.json()["items"]]
        after = r.json()["next_cursor"]
    assert seen == ids
    r = h.api.get(f"/v1/partners/{ORG}/events", params={"after": "not-a-cursor"}, headers=h.as_partner(ORG))
    assert r.status_code in (400, 422)
    assert "after" in r.text


def test_stats_count_deliveries_and_latencies(h, rx):
    ep = _setup(h, rx)
    for _ in range(3):
        h.publish(registration_confirmed("c-1"))
    h.run_job(DELIVER)
    rx.wait_for(3)
    r = h.api.get(f"/v1/partners/{ORG}/endpoints/{ep['id']}/stats", headers=h.as_partner(ORG))
    stats = r.json()
    assert stats["delivered"] == 3
    assert stats["failed"] == 0
    assert stats["latency_p50_ms"] is not None
    assert stats["last_success_at"] is not None


def test_the_test_ping_is_signed_and_reported(h, rx):
    ep = _setup(h, rx)
    r = h.api.post(f"/v1/partners/{ORG}/endpoints/{ep['id']}/test", headers=h.as_partner(ORG))
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    assert r.json()["status_code"] == 200
    [got] = rx.wait_for(1)
    assert got.verify(ep["secret"])["type"] == "org.cercle.webhook.ping.v1"
