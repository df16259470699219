from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cercle_insights.adapters import orm
from cercle_insights.bootstrap import MIGRATIONS
from cercle_insights.entrypoints.consumers import subscriptions
from cercle_insights.service_layer import queries
from cercle_insights.service_layer.unit_of_work import InsightsUnitOfWork
from cercle_shared.contracts import CATALOG, IntegrationEvent
from cercle_shared.db import make_engine, make_session_factory
from cercle_shared.db.migrations import upgrade
from cercle_shared.messaging import EventContext, Outbox
from cercle_shared.principal import Principal, Role

from .events import day

NOW = day(100)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Migrate once; each test gets a copy (the migrations themselves run for real, once per run)."""
    path = tmp_path_factory.mktemp("insights-template") / "insights.db"
    upgrade(MIGRATIONS, f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path, migrated_template) -> str:
    path = tmp_path / "insights.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sessions(db_url) -> Iterator[sessionmaker[Session]]:
    orm.start_mappers()
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def project_with(sessions: sessionmaker[Session]) -> Callable[..., None]:
    """Apply events through the service's subscription table, each in its own transaction, as the consumer does."""
    table = subscriptions()

    def project(*events: IntegrationEvent) -> None:
        for event in events:
            spec = CATALOG.for_event(event)
            handler = table.handler_for(spec.type)
            assert handler is not None, f"insights does not handle {spec.type}"
            ctx = EventContext(
                event_id=f"test-{id(event)}",
                event_type=spec.type,
                source="/test",
                time=datetime.now(UTC),
                topic=spec.topic.name,
                key=spec.key_of(event),
            )
            with sessions.begin() as session:
                handler(session, event, ctx)

    return project


@pytest.fixture
def project(sessions) -> Callable[..., None]:
    return project_with(sessions)


OPERATOR = Principal(subject="op", role=Role.OPERATOR)


@pytest.fixture
def uow(sessions) -> Callable[[], InsightsUnitOfWork]:
    return lambda: InsightsUnitOfWork(sessions, Outbox(orm.messaging, source="/cercle/insights"))


@pytest.fixture
def stats(uow):
    """The figures of a community as an operator reads them, at a given time."""

    def read(community_id: str, now: datetime = NOW):
        return queries.community_stats(uow(), OPERATOR, community_id, now).figures

    return read
