"""Processed-event ids are pruned after their retention; a replay of the same events afterwards (a consumer group
reset, a topic read from its beginning) is still applied once, because projections and reactions are idempotent on
their own keys. On PostgreSQL, through each service's real consumer path and its `prune-processed-events` job."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cercle_shared.contracts import registration as reg
from cercle_shared.contracts import sessions as ses
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness, new_id
from tests.support.services import SERVICES
from tests.unit.notifications.factories import confirmed, contact_changed, session_scheduled

pytestmark = pytest.mark.integration

RETENTION = 0.05  # seconds: the test waits this long, then the job forgets every id


def _harness(name: str, new_database) -> ServiceHarness:
    url = new_database(name)
    upgrade(SERVICES[name].bootstrap().MIGRATIONS, url)
    return ServiceHarness(name, url, settings_overrides={"processed_events_retention": RETENTION})


def _processed(h: ServiceHarness) -> int:
    table = h.runtime.tables.processed_events
    with h.runtime.db_factory() as db:
        return db.scalar(select(func.count()).select_from(table))


def _counts(h: ServiceHarness, *names: str) -> dict[str, int]:
    metadata = h.runtime.tables.outbox.metadata
    with h.runtime.db_factory() as db:
        return {name: db.scalar(select(func.count()).select_from(metadata.tables[name])) for name in names}


def _prune(h: ServiceHarness) -> int:
    time.sleep(RETENTION * 2)
    return h.run_job("prune-processed-events")


def test_insights_applies_a_replay_of_pruned_events_once(new_database):
    h = _harness("insights", new_database)
    try:
        community, session, now = new_id(), new_id(), datetime.now(UTC)
        events = [
            reg.CommunityCreated(
                community_id=community,
                name_fr="CoP Outaouais",
                name_en="Outaouais CoP",
                kind="community_of_practice",
                regions=["07"],
                cadence=6,
                status="active",
                created_at=now,
            ),
            *[
                reg.MembershipJoined(
                    membership_id=new_id(),
                    community_id=community,
                    member_id=new_id(),
                    role="participant",
                    joined_at=now - timedelta(days=n),
                )
                for n in range(3)
            ],
            ses.SessionScheduled(
                session_id=session,
                community_id=community,
                title="Communauté et pratique",
                starts_at=now + timedelta(days=10),
                ends_at=now + timedelta(days=10, hours=2),
                mode="virtual",
                capacity=10,
            ),
            *[
                ses.SessionRegistrationConfirmed(
                    registration_id=new_id(),
                    session_id=session,
                    community_id=community,
                    member_id=new_id(),
                    confirmed_at=now,
                )
                for _ in range(2)
            ],
        ]
        ids = [new_id() for _ in events]
        for event, event_id in zip(events, ids, strict=True):
            h.publish(event, event_id=event_id)
        tables = ("communities", "community_regions", "memberships", "sessions", "session_registrations")
        before = _counts(h, *tables)
        stats = h.api.get(f"/v1/communities/{community}/stats", headers=h.as_operator()).json()
        assert _processed(h) == len(events)

        assert _prune(h) == len(events)
        assert _processed(h) == 0
        for event, event_id in zip(events, ids, strict=True):  # the same events, from the beginning
            h.publish(event, event_id=event_id)

        assert _counts(h, *tables) == before
        assert h.api.get(f"/v1/communities/{community}/stats", headers=h.as_operator()).json() == stats
        assert stats["members"]["active"] == 3
        assert stats["registrations"]["confirmed"] == 2
    finally:
        h.runtime.engine.dispose()


def test_a_notifications_email_is_not_queued_twice_when_its_event_is_replayed_after_pruning(new_database):
    h = _harness("notifications", new_database)
    try:
        member, session = new_id(), new_id()
        events = [contact_changed(member), session_scheduled(session), confirmed(member, session)]
        ids = [new_id() for _ in events]
        for event, event_id in zip(events, ids, strict=True):
            h.publish(event, event_id=event_id)
        before = _counts(h, "deliveries", "outbox")
        assert before["deliveries"] == 1

        assert _prune(h) >= len(events)
        for event, event_id in zip(events, ids, strict=True):
            h.publish(event, event_id=event_id)

        assert _counts(h, "deliveries", "outbox") == before  # no second email, nothing published again
        assert _processed(h) == len(events)  # recorded again, for the next redelivery
    finally:
        h.runtime.engine.dispose()
