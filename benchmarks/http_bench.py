"""HTTP half of the comparison: registration's real app (its uvicorn process) beside the bare app
(benchmarks.bare_app) with the same uvicorn settings and the same load generator, interleaved round by round."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cercle_shared.auth import issue_token
from devtools import REPO_ROOT
from devtools.ports import LOOPBACK, free_port
from devtools.wait import wait_until

from .loadgen import LoadResult, run_load


def http_ok(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A server process on loopback: `command` is run with `env`, ready when `ready_path` answers 200."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    ready_path: str = "/healthz"
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            return http_ok(self.port, self.ready_path)

        wait_until(ready, timeout, interval=0.2, message=f"{self.name} ready")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (user + system, all its threads), from /proc; 0 elsewhere."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def python_env(**extra: str) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath, **extra}


def registration_server(database_url: str, bootstrap: str, secret: str, log: Path) -> Server:
    port = free_port()
    env = python_env(
        CERCLE_DATABASE_URL=database_url,
        CERCLE_KAFKA_BOOTSTRAP=bootstrap,
        CERCLE_JWT_SECRET=secret,
        CERCLE_HTTP_HOST=LOOPBACK,
        CERCLE_HTTP_PORT=str(port),
    )
    subprocess.run(
        [sys.executable, "-m", "cercle_registration.main", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    command = [sys.executable, "-m", "cercle_registration.main", "serve"]
    return Server("registration", command, env, log, port=port, ready_path="/readyz")


def bare_server(database_url: str, log: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.bare_app", database_url, str(port)]
    return Server("bare app", command, python_env(), log, port=port)


def _member_body(n: int, tag: str) -> dict:
    return {
        "display_name": f"Bench {tag} {n}",
        "email": f"bench-{tag}-{n}@example.org",
        "region": "06",
        "consents": {"processing": True},
    }


@dataclass
class HttpRound:
    cercle_write: LoadResult
    bare_write: LoadResult
    cercle_read: LoadResult
    bare_read: LoadResult


async def write_load(server: Server, path: str, headers: dict[str, str], total: int, concurrency: int) -> LoadResult:
    tag = uuid.uuid4().hex[:8]
    cpu = server.cpu_seconds()
    result = await run_load(
        LOOPBACK,
        server.port,
        lambda n: ("POST", path, headers, _member_body(n, tag)),
        total=total,
        concurrency=concurrency,
        keep_bodies=True,
    )
    result.server_cpu_ms = (server.cpu_seconds() - cpu) * 1000 / total
    return result


async def read_load(
    server: Server, path: str, headers: dict[str, str], ids: list[str], total: int, concurrency: int
) -> LoadResult:
    cpu = server.cpu_seconds()
    result = await run_load(
        LOOPBACK,
        server.port,
        lambda n: ("GET", f"{path}/{ids[n % len(ids)]}", headers, None),
        total=total,
        concurrency=concurrency,
    )
    result.server_cpu_ms = (server.cpu_seconds() - cpu) * 1000 / total
    return result


async def http_round(
    cercle: Server, bare: Server, secret: str, total: int, concurrency: int, *, cercle_first: bool = True
) -> HttpRound:
    """Writes then reads of what was written, on both servers; which goes first alternates with `cercle_first`."""
    operator = {"Authorization": f"Bearer {issue_token(secret, 'operator')}"}

    async def cercle_writes() -> LoadResult:
        return await write_load(cercle, "/v1/members", operator, total, concurrency)

    async def bare_writes() -> LoadResult:
        return await write_load(bare, "/members", {}, total, concurrency)

    if cercle_first:
        cercle_write, bare_write = await cercle_writes(), await bare_writes()
    else:
        bare_write, cercle_write = await bare_writes(), await cercle_writes()
    cercle_ids = [b["id"] for b in cercle_write.bodies if isinstance(b, dict) and "id" in b] or ["none"]
    bare_ids = [b["id"] for b in bare_write.bodies if isinstance(b, dict) and "id" in b] or ["none"]

    async def cercle_reads() -> LoadResult:
        return await read_load(cercle, "/v1/members", operator, cercle_ids, total, concurrency)

    async def bare_reads() -> LoadResult:
        return await read_load(bare, "/members", {}, bare_ids, total, concurrency)

    if cercle_first:
        cercle_read, bare_read = await cercle_reads(), await bare_reads()
    else:
        bare_read, cercle_read = await bare_reads(), await cercle_reads()
    return HttpRound(cercle_write, bare_write, cercle_read, bare_read)
