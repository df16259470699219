from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cercle_insights.service_layer import views
from cercle_insights.service_layer.unit_of_work import InsightsUnitOfWork
from cercle_shared.contracts import IntegrationEvent
from cercle_shared.principal import Principal, Role
from tests.support.harness import ServiceHarness, harness

from .events import day

NOW = day(100)


@pytest.fixture
def insights(tmp_path, tmp_path_factory) -> Iterator[ServiceHarness]:
    """The real app on a migrated SQLite copy; its clock reads NOW."""
    for h in harness("insights", tmp_path, tmp_path_factory.getbasetemp()):
        h.clock.now = NOW
        yield h


@pytest.fixture
def project(insights) -> Callable[..., None]:
    """Apply events through the real consumer path (subscription table, idempotency), each in its own transaction."""

    def project(*events: IntegrationEvent) -> None:
        for event in events:
            insights.publish(event)

    return project


@pytest.fixture
def db_factory(insights) -> sessionmaker[Session]:
    return insights.runtime.db_factory


OPERATOR = Principal(subject="op", role=Role.OPERATOR)


@pytest.fixture
def uow(insights) -> Callable[[], InsightsUnitOfWork]:
    return insights.uow


@pytest.fixture
def stats(uow):
    """The figures of a community as an operator reads them, at a given time."""

    def read(community_id: str, now: datetime = NOW):
        return views.community_stats(uow(), OPERATOR, community_id, now).figures

    return read
