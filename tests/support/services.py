"""Run a service's real FastAPI app (lifespan included: Kafka consumer and outbox relay) inside a test."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from cercle_shared.auth import issue_token
from cercle_shared.db.migrations import upgrade
from devtools.wait import wait_until

JWT_SECRET = "cercle-test-secret-0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class ServiceModule:
    name: str
    package: str

    def bootstrap(self):
        return importlib.import_module(f"{self.package}.bootstrap")

    def settings_cls(self):
        return importlib.import_module(f"{self.package}.config").Settings


SERVICES = {
    name: ServiceModule(name, f"cercle_{name}") for name in ("registration", "sessions", "notifications", "insights")
}


def auth(role: str = "operator", **claims: Any) -> dict[str, str]:
    """Authorization header for a token signed with the test secret."""
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, role, **claims)}"}


def make_settings(name: str, database_url: str, kafka_bootstrap: str, **overrides: Any):
    defaults = {
        "database_url": database_url,
        "kafka_bootstrap": kafka_bootstrap,
        "jwt_secret": JWT_SECRET,
        # A group of its own, so that this app never shares offsets with another test's.
        "consumer_group": f"test-{name}-{uuid.uuid4().hex[:8]}",
        "consumer_backoff_initial": 0.05,
        "relay_poll_interval": 0.05,
    }
    defaults.update(overrides)
    return SERVICES[name].settings_cls()(**defaults)


@contextmanager
def running_service(
    name: str, database_url: str, kafka_bootstrap: str, *, caught_up: bool = False, **overrides: Any
) -> Iterator[TestClient]:
    """Migrate the database, start the app with its lifespan, and yield a client; stop it on exit.

    With `caught_up`, the client is yielded only once the app's consumer has read what its topics held when
    it started (see `wait_until_caught_up`): for a module whose tests wait for what the consumer applies."""
    module = SERVICES[name]
    settings = make_settings(name, database_url, kafka_bootstrap, **overrides)
    upgrade(module.bootstrap().MIGRATIONS, settings.database_url)
    app = module.bootstrap().build_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.app_state = app.state  # type: ignore[attr-defined]
        if caught_up:
            wait_until_caught_up(client)
        yield client


def wait_until_caught_up(client: TestClient, timeout: float = 300.0) -> None:
    """Wait until a running app's consumer group has committed, on every partition of the topics it consumes, the
    end offset that partition had when this was called.

    The app's group is new and reads the shared broker's topics from their beginning: every earlier test's records,
    hostile ones included, each retried and then dead-lettered. Without this wait a module's first test pays for that
    whole history inside the wait for its own first record."""
    runtime = client.app_state.runtime  # type: ignore[attr-defined]
    subscriptions = runtime.messaging.subscriptions
    if subscriptions is None or not len(subscriptions):
        return
    settings = runtime.settings
    reader = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in subscriptions.topics()
            for partition in reader.partitions_for_topic(topic) or ()
        ]
        ends = {tp: end for tp, end in reader.end_offsets(partitions).items() if end > 0}
    finally:
        reader.close()
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:

        def caught_up() -> bool:
            try:
                committed = admin.list_group_offsets({settings.consumer_group: None}).get(settings.consumer_group, {})
            except KafkaError:  # e.g. the group's coordinator is not known yet
                return False
            return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items())

        wait_until(caught_up, timeout, interval=0.5, message=f"{runtime.settings.consumer_group} to catch up")
    finally:
        admin.close()


def wait_for_job_runs(client: TestClient, job: str, count: int = 2, timeout: float = 60.0) -> None:
    """Wait until `count` runs of a running service's timed job have started since this call.

    A job runs one round at a time, so every one of those runs but the last has finished, and each began after
    whatever the test committed, or set on the service's clock, before calling: waiting for two is how a test knows
    the job had its chance before it checks that the job did nothing."""
    runs = client.app_state.runtime.jobs.jobs[job].runs  # type: ignore[attr-defined]
    since = time.time()
    wait_until(
        lambda: sum(1 for started in list(runs) if started >= since) >= count,
        timeout,
        interval=0.05,
        message=f"{count} runs of the job {job}",
    )
