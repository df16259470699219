"""Fixtures shared by the whole suite: a real Kafka broker and a real PostgreSQL server, once per run."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

from cercle_shared.messaging.admin import ensure_topics
from devtools.kafka import LocalKafka
from devtools.postgres import LocalPostgres


@pytest.fixture(scope="session")
def kafka(tmp_path_factory) -> Iterator[LocalKafka]:
    """One real broker for the run, with every Cercle topic created."""
    with LocalKafka(tmp_path_factory.mktemp("kafka")) as broker:
        ensure_topics(broker.bootstrap)
        yield broker


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> Iterator[LocalPostgres]:
    with LocalPostgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def new_database(postgres) -> Iterator[Callable[[str], str]]:
    """Create fresh PostgreSQL databases for a test: new_database('sessions') -> SQLAlchemy URL."""
    created: list[str] = []

    def create(prefix: str = "db") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return postgres.create_database(name)

    yield create
    for name in created:
        postgres.drop_database(name)


@pytest.fixture
def pg_url(new_database) -> str:
    return new_database("test")


def pytest_configure(config) -> None:
    # A base temp dir of this run's own: pytest prunes "old" numbered dirs under a shared root,
    # which would delete the data dirs of another run's live PostgreSQL or Kafka on the same machine.
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="cercle-pytest-")
        config._cercle_basetemp = config.option.basetemp


def pytest_unconfigure(config) -> None:
    base = getattr(config, "_cercle_basetemp", None)
    if base:
        shutil.rmtree(base, ignore_errors=True)
