"""The sessions app in process (tests/support/harness.py), with the few steps its tests repeat: a community
and its members arrive as registration's events; a session is scheduled through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from cercle_shared.contracts import registration
from tests.support.harness import Clock, ServiceHarness, migrated_sqlite


class SessionsHarness(ServiceHarness):
    def community(self, community_id: str = "c-1", regions=("13",), **extra) -> str:
        self.publish(
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
            ),
            source="/cercle/registration",
        )
        return community_id

    def join(self, member_id: str, community_id: str = "c-1", role: str = "participant") -> str:
        membership_id = f"ms-{community_id}-{member_id}"
        self.publish(
            registration.MembershipJoined(
                membership_id=membership_id,
                community_id=community_id,
                member_id=member_id,
                role=role,
                joined_at=self.clock.now,
            ),
            source="/cercle/registration",
        )
        return membership_id

    def schedule(self, community_id: str = "c-1", headers=None, **body) -> dict[str, Any]:
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
            f"/v1/communities/{community_id}/sessions", json=payload, headers=headers or self.as_operator()
        )
        assert response.status_code == 201, response.text
        return response.json()

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        """The data of the events of this type in the outbox, in order, each with its record key."""
        return [{"key": row["key"], **row["data"]} for row in self.published(event_type)]


@pytest.fixture
def harness(tmp_path, tmp_path_factory) -> Iterator[SessionsHarness]:
    h = SessionsHarness("sessions", migrated_sqlite("sessions", tmp_path, tmp_path_factory.getbasetemp()))
    yield h
    h.runtime.engine.dispose()


@pytest.fixture
def clock(harness) -> Clock:
    return harness.clock
