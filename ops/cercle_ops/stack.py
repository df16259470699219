"""A compose deployment seen through the Docker SDK: its containers, the databases in its postgres container
(psql, pg_dump and pg_restore run there with `exec`), and its services' logs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

from cercle_shared.contracts.topics import SERVICES

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONE_OFF_LABEL = "com.docker.compose.oneoff"
POSTGRES = "postgres"


@dataclass(frozen=True)
class ContainerState:
    service: str
    name: str
    state: str  # created, running, restarting, exited, paused, dead
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    restarts: int
    image: str
    exit_code: int
    restart_policy: str  # no, always, unless-stopped, on-failure

    @property
    def one_shot(self) -> bool:
        """A step that runs once and exits (topics, broker bootstrap), not a long-running service."""
        return self.restart_policy in ("", "no")


def container_state(container: Container) -> ContainerState:
    attrs: dict[str, Any] = container.attrs
    state = attrs.get("State", {})
    return ContainerState(
        service=container.labels.get(SERVICE_LABEL, container.name),
        name=container.name,
        state=str(state.get("Status", container.status)),
        health=(state.get("Health") or {}).get("Status"),
        restarts=int(attrs.get("RestartCount", 0)),
        image=str(attrs.get("Config", {}).get("Image", "")),
        exit_code=int(state.get("ExitCode", 0)),
        restart_policy=str(((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name", "")),
    )


def client() -> docker.DockerClient:
    return docker.from_env()


def project_containers(docker_client: docker.DockerClient, project: str) -> list[Container]:
    found = docker_client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    return [c for c in found if c.labels.get(ONE_OFF_LABEL, "False") != "True"]


def find_service(docker_client: docker.DockerClient, project: str, service: str) -> Container:
    matches = [c for c in project_containers(docker_client, project) if c.labels.get(SERVICE_LABEL) == service]
    if not matches:
        raise LookupError(f"no container of service {service!r} in compose project {project!r}")
    running = [c for c in matches if c.status == "running"]
    return (running or matches)[0]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


def _postgres_env(container: Container) -> dict[str, str]:
    env = dict(item.split("=", 1) for item in container.attrs.get("Config", {}).get("Env", []) if "=" in item)
    # Over TCP on the container's loopback with the server's own credentials: the healthcheck's path, which works
    # whatever the image's local (socket) authentication is.
    return {
        "PGHOST": "127.0.0.1",
        "PGUSER": env.get("POSTGRES_USER", "postgres"),
        "PGPASSWORD": env.get("POSTGRES_PASSWORD", ""),
    }


def exec_to(container: Container, command: list[str], out: io.BufferedIOBase | None = None) -> ExecResult:
    """Run `command` in the container as its PostgreSQL user; stdout streams into `out` when given."""
    api = container.client.api
    created = api.exec_create(container.id, command, environment=_postgres_env(container), stdout=True, stderr=True)
    stdout, stderr = io.BytesIO(), io.BytesIO()
    for chunk_out, chunk_err in api.exec_start(created["Id"], stream=True, demux=True):
        if chunk_out:
            (out or stdout).write(chunk_out)
        if chunk_err:
            stderr.write(chunk_err)
    code = api.exec_inspect(created["Id"])["ExitCode"]
    return ExecResult(int(code if code is not None else -1), stdout.getvalue(), stderr.getvalue())


def psql(container: Container, database: str, sql: str) -> str:
    result = exec_to(container, ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
    if result.exit_code != 0:
        raise RuntimeError(f"psql on {database}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode().strip()


def outbox_backlog(container: Container, services: Iterable[str] = SERVICES) -> dict[str, int | None]:
    """Outbox rows each service has not published yet (None when its database cannot be read)."""
    backlog: dict[str, int | None] = {}
    for service in services:
        try:
            backlog[service] = int(psql(container, service, "select count(*) from outbox where published_at is null"))
        except (RuntimeError, ValueError):
            backlog[service] = None
    return backlog


# --- backup and restore -----------------------------------------------------------------------------------------


def archive_name(project: str, at: datetime) -> str:
    return f"cercle-backup-{project}-{at.strftime('%Y%m%dT%H%M%SZ')}.tar"


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]


def backup(
    docker_client: docker.DockerClient, project: str, out_dir: Path, services: Iterable[str] = SERVICES
) -> Backup:
    """pg_dump (custom format) of each service's database, inside the postgres container, into one dated tar
    with a manifest (sizes and SHA-256 of each dump)."""
    container = find_service(docker_client, project, POSTGRES)
    at = datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / archive_name(project, at)
    manifest: dict[str, Any] = {"project": project, "taken_at": at.isoformat(), "format": "pg_dump -Fc", "dumps": {}}
    partial = path.with_suffix(".tar.partial")
    with tarfile.open(partial, "w") as tar:
        for service in services:
            dump = io.BytesIO()
            result = exec_to(container, ["pg_dump", "-Fc", "--no-owner", "-d", service], out=dump)
            if result.exit_code != 0:
                raise RuntimeError(f"pg_dump {service}: {result.stderr.decode(errors='replace').strip()}")
            data = dump.getvalue()
            _add(tar, f"{service}.dump", data)
            manifest["dumps"][service] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    partial.rename(path)
    return Backup(path, manifest)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and dumps of an archive, each dump checked against its digest."""
    with tarfile.open(path, "r") as tar:
        member = tar.extractfile("manifest.json")
        if member is None:
            raise ValueError(f"{path}: no manifest.json; not a cercle-ops backup")
        manifest = json.loads(member.read())
        dumps: dict[str, bytes] = {}
        for service, meta in manifest["dumps"].items():
            extracted = tar.extractfile(f"{service}.dump")
            if extracted is None:
                raise ValueError(f"{path}: {service}.dump is missing")
            data = extracted.read()
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise ValueError(f"{path}: {service}.dump does not match its digest (damaged archive)")
            dumps[service] = data
    return manifest, dumps


def restore(
    docker_client: docker.DockerClient,
    project: str,
    archive: Path,
    services: Iterable[str] | None = None,
    *,
    stop_services: bool = True,
) -> list[str]:
    """pg_restore (--clean, one transaction) each chosen database from the archive. The services whose database is
    restored are stopped meanwhile (no half-restored reads, no locks held) and started again after."""
    _, dumps = read_archive(archive)
    chosen = list(services) if services else list(dumps)
    unknown = [s for s in chosen if s not in dumps]
    if unknown:
        raise ValueError(f"{archive.name} holds no dump of {', '.join(unknown)} (it has {', '.join(dumps)})")
    container = find_service(docker_client, project, POSTGRES)
    stopped: list[Container] = []
    if stop_services:
        for service in chosen:
            try:
                running = find_service(docker_client, project, service)
            except LookupError:
                continue
            if running.status == "running":
                running.stop(timeout=30)
                stopped.append(running)
    try:
        for service in chosen:
            inside = f"/tmp/cercle-restore-{service}.dump"
            _put(container, inside, dumps[service])
            try:
                result = exec_to(
                    container,
                    [
                        "pg_restore",
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--single-transaction",
                        "--exit-on-error",
                        "-d",
                        service,
                        inside,
                    ],
                )
            finally:
                exec_to(container, ["rm", "-f", inside])
            if result.exit_code != 0:
                raise RuntimeError(f"pg_restore {service}: {result.stderr.decode(errors='replace').strip()}")
    finally:
        for stopped_container in stopped:
            stopped_container.start()
    return chosen


def _put(container: Container, path: str, data: bytes) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(Path(path).name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(str(Path(path).parent), buffer.getvalue()):
        raise RuntimeError(f"could not copy the dump into {container.name}")


# --- logs -------------------------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_seconds(text: str) -> int:
    """'90s', '15m', '2h', '1d' (or plain seconds) as seconds."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if len(text) >= 2 and text[-1] in _UNITS and text[:-1].isdigit():
        return int(text[:-1]) * _UNITS[text[-1]]
    raise ValueError(f"--since {text!r}: use a number with s, m, h or d (e.g. 15m)")


def logs(
    docker_client: docker.DockerClient, project: str, service: str, *, since: int, follow: bool
) -> Iterator[bytes]:
    container = find_service(docker_client, project, service)
    stream = container.logs(stream=True, follow=follow, since=int(time.time()) - since, timestamps=True)
    yield from stream
