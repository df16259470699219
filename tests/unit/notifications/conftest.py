"""The notifications service in process (tests/support/harness.py) and a helper to run one reaction the way
the idempotent consumer does."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from cercle_notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from cercle_shared.messaging import EventContext
from tests.support.harness import ServiceHarness, harness


@pytest.fixture
def h(tmp_path, tmp_path_factory) -> Iterator[ServiceHarness]:
    yield from harness("notifications", tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture
def uow_factory(h) -> Callable[[], NotificationsUnitOfWork]:
    return h.uow


def context(event_id: str | None = None, topic: str = "test") -> EventContext:
    return EventContext(
        event_id=event_id or str(uuid.uuid4()),
        event_type="test",
        source="/cercle/test",
        time=datetime.now(UTC),
        topic=topic,
        key="",
    )


@pytest.fixture
def apply(uow_factory) -> Callable:
    """apply(reaction, payload, event_id=None): run a reaction in its own unit of work, committed as the consumer
    commits it (the processed-event record aside: `h.publish` goes through the whole consumer)."""

    def run(reaction, payload, event_id: str | None = None) -> EventContext:
        ctx = context(event_id)
        with uow_factory() as uow:
            reaction(payload, uow, ctx)
            uow.commit()
        return ctx

    return run
