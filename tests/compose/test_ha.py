"""Profile `ha` on a real engine: the stack an operator brings up with `--env-file infra/compose/ha.env` has three
Kafka nodes, every Cercle topic on three replicas with two in sync, and keeps carrying events between services while
one broker is SIGKILLed; the broker comes back and catches up.

A second stack, beside the session's one (its own project, ports and volumes), from the same images.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cercle_shared.contracts import topics as topic_catalog
from devtools.compose import ComposeProject
from devtools.ports import LOOPBACK
from devtools.wait import wait_until

from .conftest import ComposeApi, ComposeStack, _port, stack_env

pytestmark = pytest.mark.compose

HA_ENV = Path(__file__).resolve().parents[2] / "infra" / "compose" / "ha.env"
BROKERS = ("kafka", "kafka-2", "kafka-3")


def ha_settings() -> dict[str, str]:
    """infra/compose/ha.env as compose reads it (KEY=VALUE lines, comments left out)."""
    pairs = {}
    for line in HA_ENV.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@pytest.fixture(scope="module")
def ha_stack(compose_stack, tmp_path_factory) -> Iterator[ComposeStack]:
    """The session's images (built by `compose_stack`), a project of its own with the ha profile; down -v after."""
    name = f"cercle-ha-{uuid.uuid4().hex[:8]}"
    env = {**stack_env(name), **ha_settings(), "CERCLE_KAFKA_2_PORT": str(_port()), "CERCLE_KAFKA_3_PORT": str(_port())}
    project = ComposeProject.write(name, env, tmp_path_factory.mktemp("compose-ha"))
    stack = ComposeStack(
        project=project,
        env=project.env,
        urls={s: f"http://{LOOPBACK}:{env[f'CERCLE_{s.upper()}_PORT']}" for s in ("registration", "sessions")},
        mailpit_url=f"http://{LOOPBACK}:{env['CERCLE_MAILPIT_PORT']}",
        kafka_bootstrap=f"{LOOPBACK}:{env['CERCLE_KAFKA_PORT']}",
    )
    try:
        try:
            project.up(timeout=600)  # three brokers electing a quorum on a shared 2-core machine
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- logs ---\n{project.logs(tail=80)}") from None
        yield stack
    finally:
        project.down()
        assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}


@pytest.fixture(scope="module")
def ha_api(ha_stack) -> Iterator[ComposeApi]:
    api = ComposeApi(ha_stack)
    yield api
    api.close()


def community_reaches_sessions(api: ComposeApi, label: str) -> str:
    """Create a community in registration; return its id once sessions (another service, over Kafka) knows it."""
    created = api.registration.post(
        "/v1/communities",
        headers=api.auth(),
        json={"name_fr": f"CoP {label}", "name_en": f"{label} CoP", "regions": ["06"]},
    )
    assert created.status_code == 201, created.text
    community_id = created.json()["id"]
    api.eventually(
        lambda: api.sessions.get(f"/v1/communities/{community_id}/sessions", headers=api.auth()),
        lambda r: r.status_code == 200,
        timeout=180,
        message=f"community {label} in sessions",
    )
    return community_id


def test_the_ha_profile_runs_three_brokers_with_three_replicas_and_two_in_sync(ha_stack):
    running = {c["Service"]: c for c in ha_stack.project.containers(all=False)}
    for broker in BROKERS:
        assert running[broker]["State"] == "running", running.get(broker)
        assert running[broker].get("Health") == "healthy", running[broker]

    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from cercle_shared.messaging.security import kafka_python_config

    settings = ha_stack.kafka_settings()
    admin = KafkaAdminClient(bootstrap_servers=ha_stack.kafka_bootstrap, **kafka_python_config(settings))
    try:
        assert len(admin.describe_cluster()["brokers"]) == 3
        names = [t.name for t in topic_catalog.ALL_TOPICS]
        described = {t["name"]: t for t in admin.describe_topics(names)}
        for name in names:
            partitions = described[name]["partitions"]
            assert partitions, name
            assert all(len(p["replica_nodes"]) == 3 for p in partitions), (name, partitions)
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])["topic"]
        # The topic's own setting (the topics step's), not a broker default that happens to match.
        in_sync = {
            n: (configs[n]["min.insync.replicas"]["value"], configs[n]["min.insync.replicas"]["config_source"])
            for n in names
        }
        assert in_sync == dict.fromkeys(names, ("2", "DYNAMIC_TOPIC_CONFIG"))
    finally:
        admin.close()


def test_events_keep_flowing_while_a_broker_is_killed_and_it_catches_up_when_back(ha_stack, ha_api):
    community_reaches_sessions(ha_api, "avant — before")

    # SIGKILL, as a crash would; compose does not restart a container stopped this way (see test_restart.py).
    victim = ha_stack.container("kafka-2")
    subprocess.run(["docker", "kill", "--signal", "KILL", victim], check=True, capture_output=True)
    wait_until(
        lambda: {c["Service"] for c in ha_stack.project.containers(all=False)}.isdisjoint({"kafka-2"}),
        60,
        message="kafka-2 down",
    )
    during = [community_reaches_sessions(ha_api, f"pendant {n} — during {n}") for n in range(3)]

    ha_stack.compose("start", "kafka-2")
    wait_until(
        lambda: (
            next((c.get("Health") for c in ha_stack.project.containers(all=False) if c["Service"] == "kafka-2"), None)
            == "healthy"
        ),
        300,
        interval=2,
        message="kafka-2 healthy again",
    )
    community_reaches_sessions(ha_api, "après — after")

    # Nothing written while it was down is missing from sessions.
    for community_id in during:
        response = ha_api.sessions.get(f"/v1/communities/{community_id}/sessions", headers=ha_api.auth())
        assert response.status_code == 200, response.text

    # The restarted broker is back in every partition's in-sync set.
    from kafka.admin import KafkaAdminClient

    from cercle_shared.messaging.security import kafka_python_config

    admin = KafkaAdminClient(
        bootstrap_servers=ha_stack.kafka_bootstrap, **kafka_python_config(ha_stack.kafka_settings())
    )
    try:
        names = [t.name for t in topic_catalog.ALL_TOPICS]

        def all_in_sync() -> bool:
            described = admin.describe_topics(names)
            return all(len(p["isr_nodes"]) == 3 for t in described for p in t["partitions"])

        wait_until(all_in_sync, 300, interval=3, message="every partition with 3 in-sync replicas again")
    finally:
        admin.close()
