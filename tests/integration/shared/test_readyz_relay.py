"""`/readyz` of two instances of one service on one real PostgreSQL database and the real broker: both ready, one
says its relay is "active" (its backend holds the service's advisory lock, as pg_locks shows), the other "standby";
when the active one stops, the standby takes the lock and says "active"."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, text

from cercle_shared.db import make_engine
from cercle_shared.messaging.lease import LOCK_NAMESPACE, lock_key
from cercle_shared.service import ServiceRuntime, create_app
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import UnitOfWork
from devtools.wait import wait_until

pytestmark = pytest.mark.integration


def _instance(service: str, pg_url: str, bootstrap: str) -> tuple[ServiceRuntime, TestClient]:
    settings = ServiceSettings(
        database_url=pg_url,
        kafka_bootstrap=bootstrap,
        jwt_secret="x" * 40,
        http_port=1,
        relay_poll_interval=0.05,
        relay_lease_retry=0.2,
        shutdown_timeout=5,
    )
    metadata = MetaData()
    runtime = ServiceRuntime.build(service, settings, metadata, lambda db, outbox: UnitOfWork(db))
    metadata.create_all(runtime.engine)
    return runtime, TestClient(create_app(runtime, [], title=service, description=service))


def _readyz(client: TestClient) -> tuple[int, str | None]:
    response = client.get("/readyz")
    return response.status_code, response.json().get("relay")


def _lock_holder(pg_url: str, service: str) -> int | None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :ns AND objid = :key "
                    "AND objsubid = 2 AND granted"
                ),
                {"ns": LOCK_NAMESPACE, "key": lock_key(service)},
            ).scalar_one_or_none()
    finally:
        engine.dispose()


def test_readyz_names_the_active_relay_and_the_standby_takes_over_when_it_stops(kafka, pg_url):
    service = f"readyz{uuid.uuid4().hex[:6]}"
    first_runtime, first = _instance(service, pg_url, kafka.bootstrap)
    second_runtime, second = _instance(service, pg_url, kafka.bootstrap)
    first.__enter__()  # the lifespan: connects to Kafka, then the relay tries for the lock
    second.__enter__()
    running = [first, second]
    try:
        wait_until(
            lambda: sorted([_readyz(first), _readyz(second)]) == [(200, "active"), (200, "standby")],
            60,
            message="both ready, one relay active and one standing by",
        )
        (active, active_runtime), (standby, standby_runtime) = sorted(
            [(first, first_runtime), (second, second_runtime)], key=lambda pair: _readyz(pair[0])[1] != "active"
        )
        assert active_runtime.messaging.relay.lease.backend_pid == _lock_holder(pg_url, service)
        assert standby_runtime.messaging.relay.lease.backend_pid is None

        running.remove(active)
        active.__exit__(None, None, None)  # a graceful stop: the relay flushes, then gives the lock up

        wait_until(lambda: _readyz(standby) == (200, "active"), 60, message="the standby took over")
        assert standby_runtime.messaging.relay.lease.backend_pid == _lock_holder(pg_url, service)
    finally:
        for client in running:
            client.__exit__(None, None, None)
