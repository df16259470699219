"""A real single-node Kafka (KRaft, combined broker + controller) built from Maven Central jars.

python -m devtools.kafka fetch [--libs DIR]
python -m devtools.kafka run [--port 9092] [--controller-port 9093] [--dir .data/kafka/node]
python -m devtools.kafka stop [--dir .data/kafka/node]
"""

from __future__ import annotations

import argparse
import base64
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
from pathlib import Path

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


def _admin_answers(bootstrap: str) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000, bootstrap_timeout_ms=2000)
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
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
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
            return is_listening(self.port) and _admin_answers(self.bootstrap)

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
        return "".join(f"{key}={value}\n" for key, value in settings.items())


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
    node = LocalKafka(node_dir, args.port, args.controller_port)
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
