"""A real three-node Kafka cluster (KRaft, each node broker + controller) on loopback, from the same Maven Central
jars as devtools.kafka: what the scale-out tests lose brokers from.

python -m devtools.kafka_cluster run [--dir .data/kafka/cluster] [--nodes 3]
python -m devtools.kafka_cluster status [--dir .data/kafka/cluster]
python -m devtools.kafka_cluster stop [--dir .data/kafka/cluster]

Every node is a voter of the metadata quorum (static voters), so the cluster keeps a controller with one node lost.
Internal topics have 3 replicas and min.insync.replicas 2; Cercle's topics get theirs from the settings
(CERCLE_KAFKA_REPLICATION_FACTOR=3, CERCLE_KAFKA_MIN_INSYNC_REPLICAS=2: `run` creates them so).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from devtools import DATA_DIR, prepare_dir
from devtools.kafka import LocalKafka, _read_pid
from devtools.ports import LOOPBACK, free_port
from devtools.processes import pid_alive
from devtools.wait import wait_until

DEFAULT_CLUSTER_DIR = DATA_DIR / "kafka" / "cluster"
PORTS_FILE = "ports.json"


class ClusterNode(LocalKafka):
    """One node of a KafkaCluster: its own id, the cluster's voters and replication."""

    def __init__(
        self,
        data_dir: Path,
        node_id: int,
        port: int,
        controller_port: int,
        *,
        voters: str,
        cluster_id: str,
        replication_factor: int,
        min_insync_replicas: int,
        libs_dir: Path | None = None,
    ) -> None:
        super().__init__(data_dir, port, controller_port, libs_dir=libs_dir)
        self.node_id = node_id
        self.voters = voters
        self.cluster_id = cluster_id
        self.replication_factor = replication_factor
        self.min_insync_replicas = min_insync_replicas

    def _cluster_id(self) -> str:
        # One id for every node: a node formatted for another cluster refuses to join this one.
        return self.cluster_id

    def _extra_properties(self) -> dict[str, object]:
        rf, isr = self.replication_factor, self.min_insync_replicas
        return {
            "node.id": self.node_id,
            "controller.quorum.voters": self.voters,
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": isr,
            "min.insync.replicas": isr,
            "default.replication.factor": rf,
        }


class KafkaCluster:
    """`size` KRaft nodes (broker + controller each) on loopback, their state under `base_dir/node-<id>`."""

    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        *,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        libs_dir: Path | None = None,
        ports: list[tuple[int, int]] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.base_dir = Path(base_dir).resolve()
        self.replication_factor = replication_factor or min(size, 3)
        self.min_insync_replicas = min_insync_replicas or max(1, self.replication_factor - 1)
        if ports is None:
            taken: set[int] = set()
            ports = []
            for _ in range(size):
                pair = []
                for _ in range(2):
                    port = free_port()
                    while port in taken:
                        port = free_port()
                    taken.add(port)
                    pair.append(port)
                ports.append((pair[0], pair[1]))
        if len(ports) != size:
            raise ValueError(f"{size} nodes need {size} (port, controller port) pairs")
        cluster_id = self._cluster_id()
        voters = ",".join(f"{i}@{LOOPBACK}:{controller}" for i, (_, controller) in enumerate(ports, start=1))
        self.nodes: dict[int, ClusterNode] = {
            i: ClusterNode(
                self.base_dir / f"node-{i}",
                i,
                port,
                controller,
                voters=voters,
                cluster_id=cluster_id,
                replication_factor=self.replication_factor,
                min_insync_replicas=self.min_insync_replicas,
                libs_dir=libs_dir,
            )
            for i, (port, controller) in enumerate(ports, start=1)
        }
        self.last_admin_error: Exception | None = None

    @property
    def bootstrap(self) -> str:
        """Every node: a client that starts while one node is down still finds the cluster."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id]

    def running_nodes(self) -> list[int]:
        return [i for i, node in self.nodes.items() if node.running]

    def start(self, timeout: float = 300) -> float:
        """Start every node (all at once: a node answers only once the quorum has a leader); return seconds to ready.

        The bound is generous: three JVMs formatting and starting on a busy 2-core machine take minutes."""
        t0 = time.monotonic()
        try:
            # Formatting and starting a JVM take seconds each: the nodes do it side by side.
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(lambda node: node.start(), [n for n in self.nodes.values() if not n.running]))
            for node in self.nodes.values():
                node.wait_ready(max(1.0, timeout - (time.monotonic() - t0)))
            self.wait_brokers(len(self.nodes), max(1.0, timeout - (time.monotonic() - t0)))
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - t0

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every node (a clean shutdown, data kept), SIGKILL after `timeout`."""
        for node in self.nodes.values():
            node.stop(timeout)

    def kill(self, node_id: int, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one node (SIGKILL: a crash, no clean shutdown) and wait until its JVM is gone."""
        node = self.nodes[node_id]
        proc = node._proc
        if proc is None or proc.poll() is not None:
            raise RuntimeError(f"node {node_id} is not running")
        proc.send_signal(sig)
        proc.wait(60)

    def restart(self, node_id: int, timeout: float = 300) -> float:
        """Start a stopped or killed node again on its ports and data; return seconds until it serves."""
        node = self.nodes[node_id]
        if node.running:
            node.stop()
        node.start()
        return node.wait_ready(timeout)

    def controller_leader(self, timeout: float = 30) -> int:
        """The node id of the active controller (the metadata quorum's leader), from the quorum itself.

        Not DescribeCluster's controller: on KRaft a broker answers that with any live broker, by design."""

        def leader() -> int | None:
            quorum = self._admin_call(lambda admin: admin.describe_metadata_quorum())
            if not quorum:
                return None
            for topic in quorum.get("topics", []):
                for partition in topic.get("partitions", []):
                    leader_id = partition.get("leader_id", -1)
                    if leader_id is not None and leader_id >= 0 and leader_id in self.nodes:
                        return int(leader_id)
            return None

        found = wait_until(leader, timeout, interval=0.5, message="the controller leader")
        assert found is not None
        return found

    def wait_brokers(self, count: int, timeout: float = 60) -> None:
        """Until `count` brokers are registered and unfenced (what the cluster metadata says)."""

        def registered() -> bool:
            cluster = self._admin_call(lambda admin: admin.describe_cluster())
            live = [b for b in (cluster or {}).get("brokers", []) if not b.get("is_fenced")]
            return len(live) >= count

        wait_until(registered, timeout, interval=0.5, message=f"{count} brokers in the cluster")

    def under_replicated(self, topics: Iterable[str] | None = None) -> list[str]:
        """`topic/partition` of every partition whose in-sync replicas are fewer than its replicas."""
        names = list(topics) if topics is not None else None
        described = self._admin_call(lambda admin: admin.describe_topics(names))
        if described is None:
            raise KafkaError(f"the cluster did not describe its topics: {self.last_admin_error!r}")
        lagging = []
        for topic in described:
            for partition in topic.get("partitions", []):
                if len(partition["isr_nodes"]) < len(partition["replica_nodes"]):
                    lagging.append(f"{topic['name']}/{partition['partition_index']}")
        return sorted(lagging)

    def wait_in_sync(self, topics: Iterable[str] | None = None, timeout: float = 120) -> float:
        """Until every replica of `topics` (all by default) is back in sync; return the seconds it took."""
        names = list(topics) if topics is not None else None
        t0 = time.monotonic()

        def in_sync() -> bool:
            try:
                return not self.under_replicated(names)
            except KafkaError:
                return False

        wait_until(in_sync, timeout, interval=0.5, message="every replica in sync")
        return time.monotonic() - t0

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(node.log_tail(lines) for node in self.nodes.values())

    def __enter__(self) -> KafkaCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _admin_call(self, call: Any, patience: float = 20) -> Any:
        """`call(admin)` on a client bootstrapped from the running nodes; None when no node answers in `patience` s.

        Retried: until the cluster fences a lost node (broker.session.timeout.ms), its metadata may still send a
        request to that node."""
        deadline = time.monotonic() + patience
        while True:
            result = self._admin_call_once(call)
            if result is not None or time.monotonic() >= deadline:
                return result
            time.sleep(0.5)

    def _admin_call_once(self, call: Any) -> Any:
        running = [self.nodes[i].bootstrap for i in self.running_nodes()]
        if not running:
            return None
        try:
            admin = KafkaAdminClient(bootstrap_servers=running, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
        except KafkaError as exc:
            self.last_admin_error = exc
            return None
        try:
            return call(admin)
        except KafkaError as exc:
            self.last_admin_error = exc
            return None
        finally:
            admin.close()

    def _cluster_id(self) -> str:
        path = self.base_dir / "cluster.id"
        if not path.is_file():
            prepare_dir(self.base_dir)
            path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode() + "\n")
        return path.read_text().strip()


# --- command line: a cluster in the background, for trying things by hand ----------------------------------


def _saved_ports(base: Path) -> list[tuple[int, int]] | None:
    try:
        return [(int(port), int(controller)) for port, controller in json.loads((base / PORTS_FILE).read_text())]
    except (OSError, ValueError):
        return None


def _pids(base: Path) -> Iterator[tuple[Path, int | None]]:
    for node_dir in sorted(base.glob("node-*")):
        yield node_dir, _read_pid(node_dir)


def _run(args: argparse.Namespace) -> int:
    from cercle_shared.messaging.admin import ensure_topics

    base = Path(args.dir).resolve()
    if any(pid for _, pid in _pids(base)):
        print(f"a cluster is already running from {base} (python -m devtools.kafka_cluster stop)")
        return 1
    ports = _saved_ports(base)
    if ports is None:
        ports = [(args.first_port + 2 * i, args.first_port + 2 * i + 1) for i in range(args.nodes)]
    cluster = KafkaCluster(base, len(ports), ports=ports)
    elapsed = cluster.start(args.timeout)
    (base / PORTS_FILE).write_text(json.dumps(ports))
    for node in cluster.nodes.values():
        (node.data_dir / "kafka.pid").write_text(f"{node.pid}\n")
    ensure_topics(
        cluster.bootstrap,
        replication_factor=cluster.replication_factor,
        min_insync_replicas=cluster.min_insync_replicas,
    )
    print(
        f"Kafka cluster of {len(ports)} nodes ready in {elapsed:.1f}s: {cluster.bootstrap} "
        f"(controller leader: node {cluster.controller_leader()}; topics with {cluster.replication_factor} "
        f"replicas, min.insync.replicas {cluster.min_insync_replicas})\n"
        f"Services: CERCLE_KAFKA_BOOTSTRAP={cluster.bootstrap}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    for node_dir, pid in _pids(base):
        print(f"{node_dir.name}: {f'up (pid {pid})' if pid else 'down'}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    for node_dir, pid in _pids(base):
        if pid is not None:
            os.kill(pid, signal.SIGTERM)

            def gone(pid: int = pid) -> bool:
                return not pid_alive(pid)

            try:
                wait_until(gone, args.timeout, message=f"Kafka pid {pid} to exit")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
            print(f"{node_dir.name} stopped (pid {pid})")
        (node_dir / "kafka.pid").unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.kafka_cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the cluster in the background and create the topics")
    run.add_argument("--dir", type=Path, default=DEFAULT_CLUSTER_DIR)
    run.add_argument("--nodes", type=int, default=3)
    run.add_argument(
        "--first-port", type=int, default=29092, help="node i listens on first+2(i-1), its controller on the next"
    )
    run.add_argument("--timeout", type=float, default=180)
    for name in ("status", "stop"):
        command = commands.add_parser(name)
        command.add_argument("--dir", type=Path, default=DEFAULT_CLUSTER_DIR)
        command.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    return {"run": _run, "status": _status, "stop": _stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
