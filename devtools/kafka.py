"""A real single-node Kafka (KRaft, combined broker + controller) built from Maven Central jars.

python -m devtools.kafka fetch [--libs DIR]
python -m devtools.kafka run [--port 9092] [--controller-port 9093] [--dir .data/kafka/node]
python -m devtools.kafka stop [--dir .data/kafka/node]

`run --secured` starts the broker as production runs it: SCRAM-SHA-512 on its client listener, the KRaft
StandardAuthorizer with allow.everyone.if.no.acl.found=false, and an admin super user (cercle-admin) whose
credential is written at storage format time; `cercle-ops broker bootstrap` then adds the services' principals
and ACLs. Without --secured the broker is PLAINTEXT, as always.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from devtools import DATA_DIR, REPO_ROOT, prepare_dir
from devtools.ports import LOOPBACK, free_port, is_listening
from devtools.processes import pid_alive
from devtools.wait import wait_until

INFRA_DIR = REPO_ROOT / "infra" / "kafka"
POM = INFRA_DIR / "pom.xml"
LOG4J_CONFIG = INFRA_DIR / "log4j2.properties"
JVM_OPTS = ["-Xms512m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"]
PID_FILE = "kafka.pid"
DEFAULT_NODE_DIR = DATA_DIR / "kafka" / "node"


def default_libs_dir() -> Path:
    return Path(os.environ.get("CERCLE_KAFKA_LIBS") or DATA_DIR / "kafka" / "libs").resolve()


def fetch_jars(libs_dir: Path | None = None) -> Path:
    """Copy the broker's runtime jars into `libs_dir` with Maven; a no-op once done for this pom."""
    libs = Path(libs_dir).resolve() if libs_dir else default_libs_dir()
    prepare_dir(libs)
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    marker = libs / ".complete"
    with open(libs / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one fetch, the others wait
        if marker.is_file() and marker.read_text().strip() == digest:
            return libs
        # Jars of an older pom would stay on the '<libs>/*' classpath next to the new ones.
        for jar in libs.glob("*.jar"):
            jar.unlink()
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven (mvn) is not on PATH; it is needed to fetch the Kafka jars")
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mvn failed to fetch the Kafka jars:\n{result.stdout}{result.stderr}")
        marker.write_text(digest + "\n")
    return libs


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 1, timeout: float = 30) -> None:
    """Create the missing topics (replication factor 1) and wait until they have leaders.

    Retries until `timeout`, because right after start the controller may not accept it yet.
    """
    wanted = list(names)

    def created() -> bool:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
        except KafkaError:
            return False
        try:
            missing = set(wanted) - set(admin.list_topics())
            if missing:
                admin.create_topics(
                    {name: {"num_partitions": partitions, "replication_factor": 1} for name in missing},
                    wait_for_metadata=True,
                )
            return True
        except KafkaError:  # incl. TopicAlreadyExists from a concurrent creator: list again
            return False
        finally:
            admin.close()

    wait_until(created, timeout, interval=0.5, message=f"topics {wanted} on {bootstrap}")


@dataclass(frozen=True)
class Secured:
    """Secured mode: SCRAM-SHA-512 clients, ACLs enforced, `admin_user` a super user.

    `tls_port` with `tls_keystore` (a PEM file: PKCS#8 private key then certificate chain, as `cercle-ops tls init`
    writes it) adds a SASL_SSL listener on loopback, the one partners use."""

    admin_password: str
    admin_user: str = "cercle-admin"
    controller_password: str = ""
    tls_port: int | None = None
    tls_keystore: Path | None = None

    def admin_client_config(self) -> dict[str, Any]:
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.admin_user,
            "sasl_plain_password": self.admin_password,
        }


def _admin_answers(bootstrap: str, **client_config: Any) -> bool:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=2000, bootstrap_timeout_ms=2000, **client_config
        )
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not on PATH (Kafka 4.x needs Java 17+)")
    return java


def _tail(path: Path, lines: int) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LocalKafka:
    """One KRaft node (broker + controller) on loopback, its state under `data_dir`.

    Files in data_dir: server.properties, cluster.id, data/ (log.dirs), server.log (log4j),
    stdout.log (JVM output).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        *,
        libs_dir: Path | None = None,
        secured: Secured | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        if secured is not None and not secured.controller_password:
            secured = dataclasses.replace(secured, controller_password=uuid.uuid4().hex)
        self.secured = secured
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.libs_dir = libs_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "data"

    @property
    def server_log(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def stdout_log(self) -> Path:
        return self.data_dir / "stdout.log"

    def start(self) -> None:
        """Launch the JVM; returns at once (see wait_ready)."""
        if self.running:
            raise RuntimeError(f"Kafka is already running (pid {self.pid})")
        self._started_at = time.monotonic()
        libs = fetch_jars(self.libs_dir)
        prepare_dir(self.data_dir)
        self.properties_file.write_text(self._properties())
        if not (self.log_dir / "meta.properties").is_file():
            self._format(libs)
        with open(self.stdout_log, "ab") as out:
            self._proc = subprocess.Popen(
                [*self._java_cmd(libs), "kafka.Kafka", str(self.properties_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl+C reaches only the caller, which then stops the broker in order.
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 90) -> float:
        """Block until the admin API answers; returns seconds since start() was called."""

        def answers() -> bool:
            if self._proc is None:
                raise RuntimeError("Kafka was not started")
            if self._proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with code {self._proc.returncode}\n{self.log_tail()}")
            # Probe the port first: an admin client on a closed port logs errors on every try.
            client_config = self.secured.admin_client_config() if self.secured else {}
            return is_listening(self.port) and _admin_answers(self.bootstrap, **client_config)

        try:
            wait_until(answers, timeout, interval=0.2, message=f"Kafka on {self.bootstrap}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.log_tail()}") from None
        elapsed = time.monotonic() - self._started_at
        print(f"Kafka ready on {self.bootstrap} in {elapsed:.1f}s", file=sys.stderr)
        return elapsed

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (clean shutdown, keeps data), SIGKILL after `timeout` seconds."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, timeout: float = 90) -> float:
        """Stop and start on the same ports and data; returns the start-to-ready time."""
        self.stop()
        self.start()
        return self.wait_ready(timeout)

    def create_topics(self, *names: str, partitions: int = 1) -> None:
        if self.secured is not None:
            raise RuntimeError("a secured broker's topics come from `cercle-ops broker bootstrap` (as the admin)")
        create_topics(self.bootstrap, names, partitions)

    def log_tail(self, lines: int = 40) -> str:
        return (
            f"--- {self.stdout_log} ---\n{_tail(self.stdout_log, lines)}\n"
            f"--- {self.server_log} ---\n{_tail(self.server_log, lines)}"
        )

    def __enter__(self) -> LocalKafka:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _java_cmd(self, libs: Path) -> list[str]:
        # '<libs>/*' is passed literally (no shell): the JVM expands the wildcard itself.
        return [
            _java(),
            *JVM_OPTS,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{libs}/*",
        ]

    def _cluster_id(self) -> str:
        # Persisted so that a restart on the same data dir finds the cluster it was formatted for.
        path = self.data_dir / "cluster.id"
        if not path.is_file():
            path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())
        return path.read_text().strip()

    def _format(self, libs: Path) -> None:
        # The admin's SCRAM credential goes into the metadata log at format time: the broker authenticates it
        # (and itself, between its listeners) before any credential could be created through the admin API.
        scram = []
        if self.secured is not None:
            scram = [
                "--add-scram",
                f"SCRAM-SHA-512=[name={self.secured.admin_user},password={self.secured.admin_password}]",
            ]
        result = subprocess.run(
            [
                *self._java_cmd(libs),
                "kafka.tools.StorageTool",
                "format",
                # "=": a base64 id may begin with "-", which argparse would take for an option
                f"--cluster-id={self._cluster_id()}",
                "-c",
                str(self.properties_file),
                "--ignore-formatted",
                *scram,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def _properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@{LOOPBACK}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{LOOPBACK}:{self.port},CONTROLLER://{LOOPBACK}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.log_dir,
            # A single node: internal topics cannot have more than one replica.
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "min.insync.replicas": 1,
            "default.replication.factor": 1,
            "num.partitions": 1,
            # Topics are declared explicitly (devtools.kafka.create_topics), never by a typo.
            "auto.create.topics.enable": "false",
            # Consumers join at once instead of waiting 3 s for other members.
            "group.initial.rebalance.delay.ms": 0,
            # Small machine: fewer threads, smaller buffers and internal-topic partitions.
            "num.network.threads": 2,
            "num.io.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
            "log.cleaner.dedupe.buffer.size": 33554432,
            "offsets.topic.num.partitions": 10,
            "transaction.state.log.num.partitions": 10,
            "share.coordinator.state.topic.num.partitions": 10,
        }
        if self.secured is not None:
            settings.update(self._secured_properties(self.secured))
        settings.update(self._extra_properties())
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _extra_properties(self) -> dict[str, object]:
        """Settings a subclass adds or overrides (a cluster's node id, voters and replication)."""
        return {}

    def _secured_properties(self, secured: Secured) -> dict[str, object]:
        scram_login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{secured.admin_user}" password="{secured.admin_password}";'
        )
        # SCRAM credentials live in the metadata log, which the controller serves: the controller listener
        # cannot use SCRAM itself, so it authenticates the broker with a static PLAIN credential.
        controller_login = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="controller" password="{secured.controller_password}" '
            f'user_controller="{secured.controller_password}";'
        )
        listeners = [f"SASL_PLAINTEXT://{LOOPBACK}:{self.port}"]
        protocols = ["CONTROLLER:SASL_PLAINTEXT", "SASL_PLAINTEXT:SASL_PLAINTEXT"]
        props: dict[str, object] = {}
        if secured.tls_port is not None:
            if secured.tls_keystore is None:
                raise ValueError("a TLS listener needs a keystore (cercle-ops tls init)")
            listeners.append(f"SASL_SSL://{LOOPBACK}:{secured.tls_port}")
            protocols.append("SASL_SSL:SASL_SSL")
            props.update(
                {
                    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram_login,
                    "ssl.keystore.type": "PEM",
                    "ssl.keystore.location": Path(secured.tls_keystore).resolve(),
                    "ssl.client.auth": "none",
                }
            )
        props.update(
            {
                "listeners": ",".join([*listeners, f"CONTROLLER://{LOOPBACK}:{self.controller_port}"]),
                "advertised.listeners": ",".join(listeners),
                "listener.security.protocol.map": ",".join(protocols),
                "inter.broker.listener.name": "SASL_PLAINTEXT",
                "sasl.enabled.mechanisms": "SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram_login,
                "sasl.mechanism.controller.protocol": "PLAIN",
                "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
                "listener.name.controller.plain.sasl.jaas.config": controller_login,
                "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found": "false",
                "super.users": f"User:{secured.admin_user};User:controller",
            }
        )
        return props


def _is_kafka(pid: int) -> bool:
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _read_pid(node_dir: Path) -> int | None:
    """The pid in node_dir's pid file if that process is still a running Kafka."""
    try:
        pid = int((node_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) and _is_kafka(pid) else None


def _run(args: argparse.Namespace) -> int:
    node_dir = Path(args.dir).resolve()
    if (pid := _read_pid(node_dir)) is not None:
        print(f"Kafka already running (pid {pid}) for {node_dir}")
        return 0
    secured = None
    if args.secured:
        password = os.environ.get("CERCLE_KAFKA_ADMIN_PASSWORD")
        if not password:
            raise SystemExit("--secured needs the admin's password in CERCLE_KAFKA_ADMIN_PASSWORD")
        secured = Secured(admin_password=password, tls_port=args.tls_port, tls_keystore=args.tls_keystore)
    node = LocalKafka(node_dir, args.port, args.controller_port, secured=secured)
    node.start()
    try:
        node.wait_ready(args.timeout)
    except BaseException:
        node.stop()
        raise
    (node_dir / PID_FILE).write_text(f"{node.pid}\n")
    print(f"Kafka running on {node.bootstrap} (pid {node.pid}, logs in {node_dir})")
    return 0


def _stop(args: argparse.Namespace) -> int:
    node_dir = Path(args.dir).resolve()
    pid = _read_pid(node_dir)
    if pid is None:
        print(f"Kafka is not running for {node_dir}")
    else:
        os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not pid_alive(pid), args.timeout, message=f"Kafka pid {pid} to exit")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), 10, message=f"Kafka pid {pid} to die")
        print(f"Kafka stopped (pid {pid})")
    (node_dir / PID_FILE).unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.kafka",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download the broker jars with Maven")
    fetch.add_argument(
        "--libs",
        type=Path,
        default=None,
        help="target directory (default: $CERCLE_KAFKA_LIBS or .data/kafka/libs)",
    )
    run = commands.add_parser("run", help="start a broker in the background and wait until ready")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=9093)
    run.add_argument("--dir", type=Path, default=DEFAULT_NODE_DIR)
    run.add_argument("--timeout", type=float, default=90)
    run.add_argument(
        "--secured",
        action="store_true",
        help="SCRAM-SHA-512 and ACLs; the admin (cercle-admin) password from CERCLE_KAFKA_ADMIN_PASSWORD, "
        "set at the first format of --dir; then run `cercle-ops broker bootstrap`",
    )
    run.add_argument("--tls-port", type=int, default=None, help="with --secured: a SASL_SSL listener on this port")
    run.add_argument("--tls-keystore", type=Path, default=None, help="PEM key + certificate (cercle-ops tls init)")
    stop = commands.add_parser("stop", help="stop the broker started by 'run'")
    stop.add_argument("--dir", type=Path, default=DEFAULT_NODE_DIR)
    stop.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)

    if args.command == "fetch":
        print(fetch_jars(args.libs))
        return 0
    return _run(args) if args.command == "run" else _stop(args)


if __name__ == "__main__":
    sys.exit(main())
