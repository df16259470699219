"""The hostile-but-valid events of tests/unit/insights/test_hostile_events.py, and the crafted cursors of
test_cursors.py, on PostgreSQL: where a column's length, a NUL, a 32-bit integer or an out-of-range time is
actually refused by the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from cercle_insights.service_layer import views
from cercle_shared.contracts import IntegrationEvent
from cercle_shared.db.migrations import upgrade
from cercle_shared.principal import Principal, Role
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES
from tests.unit.insights.conftest import NOW
from tests.unit.insights.test_cursors import (  # noqa: F401  (collected here, on PostgreSQL)
    communities,
    test_a_crafted_cursor_on_the_communities_is_a_422_naming_cursor,
)
from tests.unit.insights.test_hostile_events import *  # noqa: F403  (collected here, on PostgreSQL)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database(postgres) -> Iterator[str]:
    name = "insights_hostile"
    url = postgres.create_database(name)
    upgrade(SERVICES["insights"].bootstrap().MIGRATIONS, url)
    yield url
    postgres.drop_database(name)


@pytest.fixture
def insights(database) -> Iterator[ServiceHarness]:
    h = ServiceHarness("insights", database)
    h.clock.now = NOW
    yield h
    h.runtime.engine.dispose()


@pytest.fixture
def project(insights) -> Callable[..., None]:
    def project(*events: IntegrationEvent) -> None:
        for event in events:
            insights.publish(event)

    return project


@pytest.fixture
def stats(insights):
    operator = Principal(subject="op", role=Role.OPERATOR)

    def read(community_id: str, now: datetime = NOW):
        return views.community_stats(insights.uow(), operator, community_id, now).figures

    return read
