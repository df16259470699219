"""A migrated SQLite database and helpers to feed the consumer handlers the way the idempotent consumer does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cercle_notifications.adapters import orm
from cercle_notifications.bootstrap import MIGRATIONS
from cercle_notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from cercle_shared.db import make_engine, make_session_factory
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import EventContext, Outbox


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'notifications.db'}"
    upgrade(MIGRATIONS, url)
    return url


@pytest.fixture
def sessions(db_url) -> sessionmaker[Session]:
    orm.start_mappers()
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(orm.messaging, source="/cercle/notifications")


@pytest.fixture
def uow_factory(sessions, outbox) -> Callable[[], NotificationsUnitOfWork]:
    return lambda: NotificationsUnitOfWork(sessions, outbox)


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
def apply(sessions) -> Callable:
    """apply(handler, payload, event_id=None): run a handler in its own transaction, as the consumer does."""

    def run(handler, payload, event_id: str | None = None) -> EventContext:
        ctx = context(event_id)
        with sessions.begin() as session:
            handler(session, payload, ctx)
        return ctx

    return run
