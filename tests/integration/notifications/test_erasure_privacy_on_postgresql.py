"""The privacy sweep after an erasure of tests/unit/notifications/test_erasure_privacy.py, on PostgreSQL (a fresh
database for each test: the sweep reads every row)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cercle_shared.db.migrations import upgrade
from devtools.smtp import LocalSmtp
from tests.support.harness import ServiceHarness
from tests.support.services import SERVICES
from tests.unit.notifications.test_erasure_privacy import (  # noqa: F401  (collected here, on PostgreSQL)
    test_a_tombstone_alone_forgets_every_copy_of_the_contact,
    test_after_an_erasure_no_table_holds_her_name_or_email,
    test_an_attempt_that_fails_after_the_erasure_does_not_write_the_address_back,
    test_an_email_sent_while_the_contact_was_erased_does_not_keep_the_address,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smtp(tmp_path_factory) -> Iterator[LocalSmtp]:
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest.fixture
def h(new_database, smtp) -> Iterator[ServiceHarness]:
    url = new_database("notifications")
    upgrade(SERVICES["notifications"].bootstrap().MIGRATIONS, url)
    service = ServiceHarness(
        "notifications", url, settings_overrides={"smtp_host": "127.0.0.1", "smtp_port": smtp.port}
    )
    service.clock.now = datetime.now(UTC)  # reactions date what they owe by the wall clock
    yield service
    service.runtime.engine.dispose()
