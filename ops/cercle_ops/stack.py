"""A compose deployment seen through the Docker SDK: its containers, the databases in its postgres container
(psql, pg_dump and pg_restore run there with `exec`), and its services' logs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

from cercle_shared import erasures
from cercle_shared.contracts.topics import SERVICES
from cercle_shared.messaging import Record

from . import erasures as ops_erasures

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
    try:
        with tarfile.open(partial, "w") as tar:
            for service in dict.fromkeys(services):
                dump = io.BytesIO()
                result = exec_to(container, ["pg_dump", "-Fc", "--no-owner", "-d", service], out=dump)
                if result.exit_code != 0:
                    raise RuntimeError(f"pg_dump {service}: {result.stderr.decode(errors='replace').strip()}")
                data = dump.getvalue()
                _add(tar, f"{service}.dump", data)
                manifest["dumps"][service] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)  # no half-written archive that looks like a backup
        raise
    return Backup(path, manifest)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


class BadArchive(ValueError):
    """The archive cannot be restored from: missing, not a cercle-ops backup, damaged, or of another project."""


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and dumps of an archive, each dump checked against its digest; BadArchive says what is wrong.
    Only the services' databases are named in a manifest: an archive naming another database is refused."""
    if not path.is_file():
        raise BadArchive(f"{path}: no such archive")
    try:
        with tarfile.open(path, "r") as tar:
            manifest = _manifest(path, tar)
            dumps: dict[str, bytes] = {}
            for service, meta in manifest["dumps"].items():
                try:
                    extracted = tar.extractfile(f"{service}.dump")
                except KeyError:
                    extracted = None
                if extracted is None:
                    raise BadArchive(f"{path}: {service}.dump is missing (damaged archive)")
                data = extracted.read()
                if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                    raise BadArchive(f"{path}: {service}.dump does not match its digest (damaged archive)")
                dumps[service] = data
    except tarfile.ReadError as exc:
        raise BadArchive(f"{path}: not a tar archive, or a truncated one; not a cercle-ops backup") from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BadArchive(f"{path}: damaged archive ({type(exc).__name__}: {exc})") from exc
    return manifest, dumps


def _manifest(path: Path, tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise BadArchive(f"{path}: no manifest.json; not a cercle-ops backup")
    try:
        manifest: object = json.loads(member.read())
    except ValueError as exc:
        raise BadArchive(f"{path}: manifest.json is not JSON (damaged archive)") from exc
    if not isinstance(manifest, dict):
        raise BadArchive(f"{path}: manifest.json is not an object; not a cercle-ops backup")
    dumps = manifest.get("dumps")
    if not isinstance(dumps, dict) or not dumps:
        raise BadArchive(f"{path}: manifest.json lists no dumps; not a cercle-ops backup")
    strangers = sorted(str(name) for name in dumps if name not in SERVICES)
    if strangers:
        raise BadArchive(f"{path}: names databases that are not Cercle services' ({', '.join(strangers)}): refused")
    if not all(isinstance(meta, dict) and isinstance(meta.get("sha256"), str) for meta in dumps.values()):
        raise BadArchive(f"{path}: manifest.json has a dump without its SHA-256 (damaged archive)")
    return manifest


def restore(
    docker_client: docker.DockerClient,
    project: str,
    archive: Path,
    services: Iterable[str] | None = None,
    *,
    read_erasures: Callable[[], list[Record]],
    stop_services: bool = True,
    contents: tuple[dict[str, Any], dict[str, bytes]] | None = None,
    other_project: bool = False,
) -> Restored:
    """pg_restore (--clean, one transaction) each chosen database from the archive, then re-apply in each every
    erasure since the backup (`cercle-<service> reapply-erasures`, in a one-off container of the service's image and
    settings) before the service starts again. The services whose database is restored are stopped meanwhile (no
    half-restored reads, no locks held, nobody erased between the read of the erasures and the restore).

    `read_erasures` returns the MemberErased records of the members topic; registration's own unpublished ones
    (its outbox, about to be overwritten) are added. A service whose erasures could not be re-applied is left
    stopped and RestoreIncomplete says so: it would serve members erased since the backup.

    With `stop_services` False the services keep running: the erasures are read once more after the databases are
    restored (one published in between is in no restored database), and a service whose erasures could not be
    re-applied is stopped. `contents`: the archive as read_archive returned it, when the caller read it already.
    Everything that can be checked is checked before any service is stopped (BadArchive, LookupError)."""
    manifest, dumps = contents if contents is not None else read_archive(archive)
    taken_from = manifest.get("project")
    if taken_from != project and not other_project:
        raise BadArchive(
            f"{archive.name} is a backup of compose project {taken_from!r}, not of {project!r} "
            "(--other-project restores it here all the same)"
        )
    chosen = list(dict.fromkeys(services)) if services else list(dumps)
    unknown = [s for s in chosen if s not in dumps]
    if unknown:
        raise BadArchive(f"{archive.name} holds no dump of {', '.join(unknown)} (it has {', '.join(dumps)})")
    container = find_service(docker_client, project, POSTGRES)
    if container.status != "running":
        raise LookupError(f"{container.name} (PostgreSQL) is {container.status}: start it, then restore")
    templates = {service: find_service(docker_client, project, service) for service in chosen}
    stopped: list[Container] = []
    held_back: dict[str, str] = {}  # restored, erasures not re-applied: not started again
    try:
        if stop_services:
            stopped = [templates[service] for service in chosen if templates[service].status == "running"]
            _each(lambda running: running.stop(timeout=30), stopped)  # each takes its graceful shutdown: at once
        # After the stop: registration erases nobody between this read and its restore. Before any pg_restore: no
        # broker, no restore.
        erased = list(read_erasures())
        if REGISTRATION in chosen:
            erased += ops_erasures.from_outbox(unpublished_erasures(container))
        payload = ops_erasures.to_file(erased)
        for service in chosen:
            _pg_restore(container, service, dumps[service])  # one transaction: a failure leaves it as it was
            held_back[service] = "restored, but the restore stopped before its erasures were re-applied"
        if not stop_services:
            erased = _merged(erased, read_erasures())
            payload = ops_erasures.to_file(erased)
        applied: dict[str, str] = {}
        results = _each(
            lambda service: run_one_off(
                docker_client,
                templates[service],
                ["cercle-service", erasures.COMMAND, ERASURES_FILE],
                files={ERASURES_FILE: payload},
            ),
            chosen,
        )  # side by side: each is mostly a Python process starting
        for service, result in zip(chosen, results, strict=True):
            if result.exit_code != 0:
                output = (result.stdout + result.stderr).decode(errors="replace").strip()
                held_back[service] = f"{erasures.COMMAND} failed (exit {result.exit_code}): {output[-2000:]}"
                continue
            del held_back[service]
            applied[service] = result.stdout.decode(errors="replace").strip()
    except BaseException as exc:  # an interrupted restore (Ctrl-C) too must name what it left stopped
        if held_back:
            raise RestoreIncomplete(held_back, cause=f"{type(exc).__name__}: {exc}") from exc
        raise
    finally:
        for stopped_container in stopped:
            if container_state(stopped_container).service not in held_back:
                stopped_container.start()
        if not stop_services:
            for service in held_back:  # still running, on a database that has erased members again
                templates[service].stop(timeout=30)
    if held_back:
        raise RestoreIncomplete(held_back)
    return Restored(services=chosen, erasures=len(erased), applied=applied)


REGISTRATION = "registration"
ERASURES_FILE = "/tmp/cercle-erasures.jsonl"


def _merged(first: list[Record], again: Iterable[Record]) -> list[Record]:
    """`first`, then the records of `again` it does not hold (a topic's record is known by its position)."""
    known = {(r.topic, r.partition, r.offset) for r in first if r.partition >= 0}
    return first + [r for r in again if r.partition < 0 or (r.topic, r.partition, r.offset) not in known]


def _each(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """`function` on every item at once (threads: each waits on Docker), results in order; raises the first error
    after every call ended."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(function, item) for item in items]
        wait(futures)
        return [future.result() for future in futures]


@dataclass(frozen=True)
class Restored:
    services: list[str]
    erasures: int  # MemberErased records re-applied in each restored database
    applied: dict[str, str]  # each service's own report


class RestoreIncomplete(RuntimeError):
    """Databases were restored but some service's erasures were not re-applied: that service is left stopped."""

    def __init__(self, held_back: dict[str, str], cause: str | None = None) -> None:
        self.held_back = dict(held_back)
        lines = "; ".join(f"{service}: {why}" for service, why in held_back.items())
        super().__init__(
            f"left stopped: {', '.join(held_back)} (it would serve members erased since the backup). {lines}"
            + (f". Stopped by {cause}" if cause else "")
            + ". Run the restore again once the cause is fixed."
        )


def _pg_restore(container: Container, service: str, dump: bytes) -> None:
    inside = f"/tmp/cercle-restore-{service}.dump"
    _put(container, inside, dump)
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


def unpublished_erasures(container: Container, database: str = REGISTRATION) -> list[dict[str, Any]]:
    """The MemberErased rows of `database`'s outbox its relay has not published (key, value, headers)."""
    rows = psql(
        container,
        database,
        "select coalesce(json_agg(json_build_object('key', key, 'value', value, 'headers', headers) order by seq), "
        f"'[]') from outbox where published_at is null and event_type = '{erasures.EVENT_TYPE}'",
    )
    found = json.loads(rows or "[]")
    assert isinstance(found, list)
    return found


def run_one_off(
    docker_client: docker.DockerClient,
    template: Container,
    command: list[str],
    *,
    files: dict[str, bytes] | None = None,
    timeout: float = 900,
) -> ExecResult:
    """Run `command` in a new container of `template`'s image, settings and network (as `docker compose run`
    would), with `files` copied in first; removed afterwards."""
    attrs: dict[str, Any] = template.attrs
    config = attrs.get("Config") or {}
    project = template.labels.get(PROJECT_LABEL, "")
    service = template.labels.get(SERVICE_LABEL, template.name)
    one_off = docker_client.containers.create(
        attrs["Image"],
        command=command,
        environment=list(config.get("Env") or []),
        user=config.get("User") or None,
        network=(attrs.get("HostConfig") or {}).get("NetworkMode") or None,
        labels={PROJECT_LABEL: project, SERVICE_LABEL: service, ONE_OFF_LABEL: "True"},
        name=f"{project}-{service}-{command[1] if len(command) > 1 else 'run'}-{uuid.uuid4().hex[:8]}",
    )
    try:
        for path, data in (files or {}).items():
            _put(one_off, path, data)
        one_off.start()
        status = one_off.wait(timeout=timeout)
        return ExecResult(
            int(status.get("StatusCode", -1)),
            one_off.logs(stdout=True, stderr=False),
            one_off.logs(stdout=False, stderr=True),
        )
    finally:
        one_off.remove(force=True)


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
