from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.harness import ServiceHarness, harness

from .receiver import Receiver, receiver

SCHEDULE = "0,5,60,300"


@pytest.fixture
def h(tmp_path, tmp_path_factory) -> Iterator[ServiceHarness]:
    yield from harness(
        "notifications",
        tmp_path,
        tmp_path_factory.getbasetemp(),
        webhook_allow_hosts="127.0.0.1",
        webhook_retry_schedule=SCHEDULE,
    )


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r
