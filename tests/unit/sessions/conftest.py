"""An app on a SQLite file, without its lifespan (no broker): events are read back from the outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cercle_sessions.bootstrap import MIGRATIONS, build_app
from cercle_sessions.config import Settings
from cercle_sessions.entrypoints.consumers import subscriptions
from cercle_shared.contracts import CATALOG, registration
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import EventContext
from tests.support.services import JWT_SECRET, auth

START = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Harness:
    def __init__(self, app, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.api = TestClient(app, raise_server_exceptions=False)
        self._subs = subscriptions()
        self._delivered = 0

    @property
    def runtime(self):
        return self.app.state.runtime

    def deliver(self, event) -> None:
        """Apply an event as the consumer would: handler and its effect in one transaction."""
        spec = CATALOG.for_event(event)
        self._delivered += 1
        ctx = EventContext(
            event_id=f"test-{self._delivered}",
            event_type=spec.type,
            source="/cercle/registration",
            time=self.clock.now,
            topic=spec.topic.name,
            key=spec.key_of(event),
        )
        with self.runtime.sessions.begin() as db:
            self._subs.handler_for(spec.type)(db, event, ctx)

    def community(self, community_id: str = "c-1", regions=("13",), **extra) -> str:
        self.deliver(
            registration.CommunityCreated(
                community_id=community_id,
                name_fr="CoP Laval",
                name_en="Laval CoP",
                kind="community_of_practice",
                regions=list(regions),
                cadence=6,
                status="active",
                created_at=self.clock.now,
                **extra,
            )
        )
        return community_id

    def join(self, member_id: str, community_id: str = "c-1", role: str = "participant") -> str:
        membership_id = f"ms-{community_id}-{member_id}"
        self.deliver(
            registration.MembershipJoined(
                membership_id=membership_id,
                community_id=community_id,
                member_id=member_id,
                role=role,
                joined_at=self.clock.now,
            )
        )
        return membership_id

    def published(self, event_type: str | None = None) -> list[dict]:
        outbox = self.runtime.tables.outbox
        with self.runtime.sessions() as db:
            rows = db.execute(select(outbox).order_by(outbox.c.seq)).all()
        return [
            {"type": r.event_type, "topic": r.topic, "key": r.key, **json.loads(r.value)}
            for r in rows
            if r.value is not None and (event_type is None or r.event_type == event_type)
        ]

    def schedule(self, community_id: str = "c-1", headers=None, **body) -> dict:
        payload = {
            "title": "Nature et santé mentale",
            "starts_at": (self.clock.now + timedelta(days=14)).isoformat(),
            "ends_at": (self.clock.now + timedelta(days=14, hours=3)).isoformat(),
            "mode": "in_person",
            "location": "Maison des arts de Laval",
            "capacity": 2,
        }
        payload.update(body)
        response = self.api.post(
            f"/v1/communities/{community_id}/sessions", json=payload, headers=headers or auth("operator")
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def harness(tmp_path, clock) -> Harness:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    upgrade(MIGRATIONS, url)
    app = build_app(Settings(database_url=url, jwt_secret=JWT_SECRET, kafka_bootstrap="127.0.0.1:9"))
    app.state.clock = clock
    return Harness(app, clock)
