"""End to end on the running stack: a partner subscribes to registrations in its region, a member registers, the
partner's receiver (on loopback) gets a signed CloudEvent with no name or email."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devtools.stack import Stack
from tests.support.replicas import wait_for_community_in_notifications
from tests.unit.notifications.partners.receiver import receiver

from .conftest import Api

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The stack as `make up` starts it, with loopback receivers allowed (CERCLE_WEBHOOK_ALLOW_HOSTS)."""
    stack = Stack.on_free_ports(
        tmp_path_factory.mktemp("stack-partners"), extra_env={"CERCLE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def test_a_partner_receives_a_signed_registration_of_its_region_without_personal_data(api: Api):
    op = api.auth("operator")
    suffix = uuid.uuid4().hex[:6]
    name, email = f"Philomène Zwiebelkorn-{suffix}", f"philomene.zwiebelkorn.{suffix}@example.org"
    communities = {}
    for region in ("13", "03"):
        r = api.registration.post(
            "/v1/communities",
            headers=op,
            json={"name_fr": f"CoP {region} {suffix}", "name_en": f"CoP {region} {suffix}", "regions": [region]},
        )
        assert r.status_code == 201, r.text
        communities[region] = r.json()["id"]
    member = api.registration.post(
        "/v1/members",
        headers=op,
        json={
            "display_name": name,
            "email": email,
            "language": "fr",
            "region": "13",
            "consents": {"processing": True, "email": True},
        },
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]

    org = f"org-{suffix}"
    partner = api.auth("partner", organization_id=org)
    r = api.notifications.put(
        f"/v1/partners/{org}/grant", headers=op, json={"event_types": ["org.cercle.sessions."], "regions": ["13"]}
    )
    assert r.status_code == 200, r.text
    with receiver() as rx:
        r = api.notifications.post(
            f"/v1/partners/{org}/endpoints",
            headers=partner,
            json={"url": rx.url, "event_types": ["org.cercle.sessions.registration.*"], "regions": ["13"]},
        )
        assert r.status_code == 201, r.text
        secret, endpoint_id = r.json()["secret"], r.json()["id"]

        starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        session_ids = {}
        for region, community_id in communities.items():
            joined = api.registration.post(
                f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": member_id}
            )
            assert joined.status_code == 201, joined.text
            session = api.eventually(
                lambda community_id=community_id: api.sessions.post(
                    f"/v1/communities/{community_id}/sessions",
                    headers=api.auth("facilitator", communities=[community_id]),
                    json={
                        "title": "Nature et santé mentale",
                        "starts_at": starts.isoformat(),
                        "ends_at": (starts + timedelta(hours=2)).isoformat(),
                        "mode": "hybrid",
                        "location": "Laval",
                        "capacity": 5,
                    },
                ),
                lambda r: r.status_code == 201,
                message="sessions to learn about the community",
            )
            session_ids[region] = session.json()["id"]
        # Notifications scopes a partner event by the regions of its community when the event comes, and the
        # community comes on another topic: unknown then, the region-13 registration would match no region-13
        # endpoint (and the region-03 one would be kept out for the wrong reason).
        for community_id in communities.values():
            wait_for_community_in_notifications(api.notifications, community_id, op)
        for region in ("03", "13"):  # region 03 first: it must never arrive
            api.eventually(
                lambda region=region: api.sessions.post(
                    f"/v1/sessions/{session_ids[region]}/registrations",
                    headers=api.auth("member", member_id=member_id),
                    json={},
                ),
                lambda r: r.status_code == 201,
                message="sessions to learn about the membership",
            )
        [got] = rx.wait_for(1, 90)
        event = got.verify(secret)
        assert event["type"] == "org.cercle.sessions.registration.confirmed.v1"
        assert event["data"]["session_id"] == session_ids["13"]
        assert event["data"]["member_id"] == member_id
        raw = got.body.decode()
        assert name not in raw
        assert email.lower() not in raw.lower()
        assert "Zwiebelkorn" not in json.dumps(event)
        # The region-03 registration has a key (its session) of its own, so maybe a partition of its own: the
        # region-13 one arriving says nothing of it. A second organization, granted region 03, reads it in its pull
        # feed once notifications has taken it in; in that same transaction notifications owed it to every endpoint
        # it matched: this endpoint's messages hold none of it, so nothing of it can ever be sent here.
        watcher = f"watcher-{suffix}"
        r = api.notifications.put(
            f"/v1/partners/{watcher}/grant",
            headers=op,
            json={"event_types": ["org.cercle.sessions."], "regions": ["03"]},
        )
        assert r.status_code == 200, r.text

        def region_03_registrations(response) -> list[str]:
            return [
                e["id"]
                for e in response.json()["items"]
                if e["type"] == "org.cercle.sessions.registration.confirmed.v1"
                and e["data"].get("session_id") == session_ids["03"]
            ]

        feed = api.eventually(
            lambda: api.notifications.get(
                f"/v1/partners/{watcher}/events",
                headers=api.auth("partner", organization_id=watcher),
                params={"limit": 200},
            ),
            lambda r: r.status_code == 200 and region_03_registrations(r),
            timeout=90,
            message="the region-03 registration taken in by notifications",
        )
        [excluded] = region_03_registrations(feed)
        owed = api.notifications.get(
            f"/v1/partners/{org}/endpoints/{endpoint_id}/messages", headers=op, params={"limit": 100}
        )
        assert owed.status_code == 200, owed.text
        assert [m["webhook_id"] for m in owed.json()["items"]] == [got.webhook_id]
        assert excluded not in [r.webhook_id for r in rx.received]
        assert [r.webhook_id for r in rx.received] == [got.webhook_id]
