from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cercle_shared.contracts import CATALOG
from cercle_shared.messaging import EventContext
from devtools.wait import wait_until
from tests.support.services import auth


def in_days(days: float, hours: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).isoformat()


def session_body(**overrides) -> dict:
    body = {
        "title": "Nature et santé mentale",
        "starts_at": in_days(10),
        "ends_at": in_days(10, 3),
        "mode": "hybrid",
        "location": "Laval",
        "link": "https://meet.example/cop",
        "capacity": 3,
    }
    body.update(overrides)
    return body


def apply_directly(app_state, event) -> None:
    """Feed the replica without the broker, for tests about something else (e.g. seat locking)."""
    from cercle_sessions.entrypoints.consumers import subscriptions

    spec = CATALOG.for_event(event)
    ctx = EventContext(
        event_id=f"direct-{id(event)}",
        event_type=spec.type,
        source="/test",
        time=datetime.now(UTC),
        topic=spec.topic.name,
        key=spec.key_of(event),
    )
    with app_state.runtime.uow() as uow:
        subscriptions().handler_for(spec.type)(event, uow, ctx)
        uow.commit()


def wait_for_community(api, community_id: str, timeout: float = 60.0) -> None:
    """The replica has the community once an operator can list its sessions."""
    wait_until(
        lambda: api.get(f"/v1/communities/{community_id}/sessions", headers=auth()).status_code == 200,
        timeout,
        message=f"community {community_id} in the sessions replica",
    )
