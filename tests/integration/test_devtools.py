"""The development infrastructure itself, on real processes: Kafka, PostgreSQL, SMTP.

Markers used: `integration`.
These fixtures are this module's own (not the session ones from tests/conftest.py): one test
restarts the broker, and the rest checks devtools itself.
"""

import asyncio
import smtplib
import subprocess
import sys
import uuid
from email.message import EmailMessage

import kafka as kafka_python
import psycopg
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from devtools import REPO_ROOT
from devtools.kafka import PID_FILE, LocalKafka, fetch_jars
from devtools.ports import free_port, is_listening
from devtools.postgres import LocalPostgres
from devtools.smtp import LocalSmtp, read_messages
from devtools.wait import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_kafka(tmp_path_factory):
    with LocalKafka(tmp_path_factory.mktemp("kafka")) as node:
        yield node


@pytest.fixture(scope="module")
def local_postgres(tmp_path_factory):
    with LocalPostgres(tmp_path_factory.mktemp("postgres")) as pg:
        yield pg


@pytest.fixture(scope="module")
def local_smtp(tmp_path_factory):
    with LocalSmtp(tmp_path_factory.mktemp("mail")) as server:
        yield server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            # Bounded: with idempotence on, a send can otherwise wait forever.
            await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"k"), 60)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    """Read `count` messages as `group`, then commit them manually."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        values: list[bytes] = []

        async def read_all() -> None:
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=500)
                values.extend(m.value for msgs in batches.values() for m in msgs)

        # joining the group comes first: under load a join or sync with the coordinator can take a minute
        await asyncio.wait_for(read_all(), 120)
        await consumer.commit()
        assert await consumer.committed(TopicPartition(topic, 0)) == count
        return values
    finally:
        await consumer.stop()


def committed_offset(bootstrap: str, topic: str, group: str) -> int | None:
    """The group's committed offset, asked again while the group coordinator is still loading
    (right after a restart the broker answers before its coordinator does)."""

    def fetch() -> tuple[dict] | None:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            return (admin.list_group_offsets({group: None})[group],)  # kafka-python 3.x API
        except KafkaError as error:
            if error.retriable:  # NotCoordinator, CoordinatorLoadInProgress, ...
                return None
            raise
        finally:
            admin.close()

    [offsets] = wait_until(fetch, 60, interval=0.2, message=f"offsets of group {group}")
    meta = offsets.get(kafka_python.TopicPartition(topic, 0))
    return meta.offset if meta else None


def test_fetch_jars_is_idempotent():
    libs = fetch_jars()
    marker = (libs / ".complete").stat().st_mtime_ns
    assert fetch_jars() == libs
    assert (libs / ".complete").stat().st_mtime_ns == marker
    assert any(libs.glob("kafka_2.13-*.jar"))


def test_broker_answers_and_logs_startup(local_kafka):
    admin = KafkaAdminClient(bootstrap_servers=local_kafka.bootstrap)
    try:
        assert isinstance(admin.list_topics(), list)
    finally:
        admin.close()
    assert local_kafka.bootstrap == f"127.0.0.1:{local_kafka.port}"
    assert "Kafka Server started" in local_kafka.server_log.read_text()


def test_kafka_python_admin_creates_topics(local_kafka):
    topic = unique("devtools-admin")
    local_kafka.create_topics(topic, partitions=3)
    local_kafka.create_topics(topic, partitions=3)  # already there: no error
    admin = KafkaAdminClient(bootstrap_servers=local_kafka.bootstrap)
    try:
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    assert len(described["partitions"]) == 3


def test_aiokafka_round_trip_with_manual_commit(local_kafka):
    topic, group = unique("devtools-roundtrip"), unique("group")
    local_kafka.create_topics(topic)
    sent = [f"message {i}".encode() for i in range(5)]

    asyncio.run(produce(local_kafka.bootstrap, topic, sent))
    received = asyncio.run(consume(local_kafka.bootstrap, topic, group, len(sent)))

    assert received == sent
    assert committed_offset(local_kafka.bootstrap, topic, group) == len(sent)


def test_restart_keeps_messages_and_committed_offsets(local_kafka):
    topic, group = unique("devtools-restart"), unique("group")
    local_kafka.create_topics(topic)
    asyncio.run(produce(local_kafka.bootstrap, topic, [b"before-1", b"before-2"]))
    asyncio.run(consume(local_kafka.bootstrap, topic, group, 2))
    port = local_kafka.port

    local_kafka.restart()

    assert local_kafka.port == port
    asyncio.run(produce(local_kafka.bootstrap, topic, [b"after"]))
    assert committed_offset(local_kafka.bootstrap, topic, group) == 2
    everything = asyncio.run(consume(local_kafka.bootstrap, topic, unique("fresh"), 3))
    assert everything == [b"before-1", b"before-2", b"after"]


def test_kafka_cli_runs_detached_and_stops(tmp_path):
    node_dir = tmp_path / "node"
    port, controller_port = free_port(), free_port()
    cli = [sys.executable, "-m", "devtools.kafka"]
    where = ["--port", str(port), "--controller-port", str(controller_port), "--dir", str(node_dir)]

    subprocess.run([*cli, "run", *where], cwd=REPO_ROOT, check=True)
    try:
        assert (node_dir / PID_FILE).is_file()
        assert is_listening(port)
        subprocess.run([*cli, "run", *where], cwd=REPO_ROOT, check=True)  # already running: no-op
    finally:
        subprocess.run([*cli, "stop", "--dir", str(node_dir)], cwd=REPO_ROOT, check=True)

    assert not (node_dir / PID_FILE).exists()
    assert not is_listening(port)


def test_postgres_creates_database_that_answers(local_postgres):
    name = unique("devtools")
    url = local_postgres.create_database(name)
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{local_postgres.port}/{name}"

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            assert conn.execute(sa.text("select current_database()")).scalar_one() == name
    finally:
        engine.dispose()

    local_postgres.drop_database(name)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(local_postgres.conninfo(name)).close()


def test_smtp_saves_and_parses_messages(local_smtp):
    message = EmailMessage()
    message["From"] = "noreply@cercle.test"
    message["To"] = "member@cercle.test"
    message["Subject"] = "Bienvenue au Cercle ✓"
    message.set_content("Bonjour,\nvotre inscription est confirmée.\n")

    with smtplib.SMTP(local_smtp.host, local_smtp.port, timeout=10) as client:
        client.send_message(message, to_addrs=["member@cercle.test", "audit@cercle.test"])

    [received] = wait_until(lambda: read_messages(local_smtp.mail_dir), 10, message="the saved message")
    assert received["Subject"] == "Bienvenue au Cercle ✓"
    assert received["To"] == "member@cercle.test"
    assert received["X-Envelope-To"] == "member@cercle.test, audit@cercle.test"
    assert received.get_content() == "Bonjour,\nvotre inscription est confirmée.\n"
    assert len(list(local_smtp.mail_dir.glob("*.eml"))) == 1


def test_cluster_nodes_share_one_cluster_id_and_the_voters_and_replicate_internal_topics(tmp_path):
    from devtools.kafka_cluster import KafkaCluster

    cluster = KafkaCluster(tmp_path, 3)
    properties = [
        dict(line.split("=", 1) for line in node._properties().splitlines()) for node in cluster.nodes.values()
    ]
    assert [p["node.id"] for p in properties] == ["1", "2", "3"]
    voters = {p["controller.quorum.voters"] for p in properties}
    assert voters == {",".join(f"{i}@127.0.0.1:{n.controller_port}" for i, n in cluster.nodes.items())}
    assert len({node._cluster_id() for node in cluster.nodes.values()}) == 1
    for p in properties:
        assert p["offsets.topic.replication.factor"] == p["default.replication.factor"] == "3"
        assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
    ports = [n.port for n in cluster.nodes.values()] + [n.controller_port for n in cluster.nodes.values()]
    assert len(set(ports)) == 6
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes.values())


def test_topics_refuse_more_in_sync_replicas_than_replicas():
    from cercle_shared.messaging.admin import ensure_topics

    # Checked before any broker is asked: with acks=all such a topic would refuse every write.
    with pytest.raises(ValueError, match=r"min\.insync\.replicas"):
        ensure_topics("127.0.0.1:1", replication_factor=1, min_insync_replicas=2, timeout=0)
