"""`/readyz` says whether this instance's outbox relay publishes: "active" while it holds its service's relay lock (on
PostgreSQL) or always on SQLite (single-instance), "standby" while another instance holds it. The state is in the
body, never in the status: a standby instance is as ready as the active one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData

from cercle_shared.service import ServiceRuntime, create_app
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork


def _app(database_url: str) -> tuple[ServiceRuntime, TestClient]:
    settings = ServiceSettings(
        database_url=database_url,
        kafka_bootstrap="127.0.0.1:9",  # never reached: the app runs without its lifespan
        jwt_secret="x" * 40,
        http_port=1,
    )
    runtime = ServiceRuntime.build("readyz", settings, MetaData(), lambda db, outbox: UnitOfWork(db))
    app = create_app(runtime, [], title="readyz", description="readyz")
    return runtime, TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def sqlite(tmp_path) -> Iterator[tuple[ServiceRuntime, TestClient]]:
    runtime, client = _app(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield runtime, client
    runtime.engine.dispose()


@pytest.fixture
def postgresql() -> Iterator[tuple[ServiceRuntime, TestClient]]:
    """A PostgreSQL URL nobody answers (a closed loopback port): the lease is built, never connected."""
    runtime, client = _app("postgresql+psycopg://cercle:none@127.0.0.1:9/cercle?connect_timeout=1")
    yield runtime, client
    runtime.engine.dispose()


def test_on_sqlite_the_only_instance_says_its_relay_is_active(sqlite):
    runtime, client = sqlite
    assert runtime.messaging.relay.lease is None

    response = client.get("/readyz")

    assert response.status_code == 503  # the broker is not reachable here; the relay's state is said all the same
    body = response.json()
    assert body["checks"] == {"database": "up", "broker": "down"}
    assert body["relay"] == "active"


def test_on_postgresql_the_relay_is_standby_until_its_lease_holds_the_lock(postgresql):
    runtime, client = postgresql
    lease = runtime.messaging.relay.lease
    assert lease is not None
    assert lease.service == "readyz"

    assert client.get("/readyz").json()["relay"] == "standby"

    lease.held = True  # what RelayLease.acquire sets once pg_try_advisory_lock granted it
    assert client.get("/readyz").json()["relay"] == "active"

    lease.held = False  # the lock lost (the connection closed): standing by again
    body = client.get("/readyz").json()
    assert body["relay"] == "standby"
    assert body["checks"]["database"] == "down"


def test_the_relay_state_is_documented_in_the_openapi_of_readyz(sqlite):
    _, client = sqlite
    readyz = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]
    assert "`standby`" in readyz["description"]
    assert "`active`" in readyz["description"]
