"""On PostgreSQL, where a column's length, a NUL or an out-of-range time is actually refused by the database:
the hostile-but-valid events of tests/unit/notifications/test_hostile_events.py and the crafted cursors of
test_cursors.py (one database for them all)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cercle_shared.db.migrations import upgrade
from devtools.smtp import LocalSmtp
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES
from tests.unit.notifications.test_cursors import (  # noqa: F401  (collected here, on PostgreSQL)
    some_deliveries,
    test_a_crafted_cursor_on_the_deliveries_is_a_422_naming_cursor,
)
from tests.unit.notifications.test_hostile_events import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smtp(tmp_path_factory) -> Iterator[LocalSmtp]:
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture(scope="module")
def database(postgres) -> Iterator[str]:
    name = "notifications_hostile"
    url = postgres.create_database(name)
    upgrade(SERVICES["notifications"].bootstrap().MIGRATIONS, url)
    yield url
    postgres.drop_database(name)


@pytest.fixture
def h(database, smtp) -> Iterator[ServiceHarness]:
    service = ServiceHarness(
        "notifications", database, settings_overrides={"smtp_host": "127.0.0.1", "smtp_port": smtp.port}
    )
    service.clock.now = datetime.now(UTC)  # reactions date what they owe by the wall clock
    yield service
    service.runtime.engine.dispose()
