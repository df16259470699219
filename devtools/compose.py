"""Compose v2 for the compose tests, and a handle on one compose project (a stack).

    python -m devtools.compose plugin       # make `docker compose` (v2) available, building it once if needed

Debian's docker-compose is v1 (it rejects a top-level `name:`); operators use v2. When `docker compose` is not
there, v2 is built from the Go module proxy (about 6.5 minutes cold) into a cache folder that outlives the
run (~/.cache/cercle/compose/<version>) and linked as the Docker CLI plugin.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools import REPO_ROOT

COMPOSE_VERSION = "v2.40.3"
COMPOSE_MODULE = "github.com/docker/compose/v2"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cercle" / "compose" / COMPOSE_VERSION


def plugin_path() -> Path:
    config = os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker"
    return Path(config) / "cli-plugins" / "docker-compose"


def installed_version() -> str | None:
    """The `docker compose` version when it is v2, else None."""
    try:
        result = subprocess.run(
            ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = result.stdout.strip().lstrip("v")
    return version if result.returncode == 0 and version.startswith("2.") else None


def _go() -> str:
    go = shutil.which("go") or next((str(p) for p in [Path("/usr/local/go/bin/go")] if p.is_file()), None)
    if go is None:
        raise RuntimeError("Compose v2 is missing and Go is not installed to build it (see docs/operate.md)")
    return go


def build_plugin(log=print) -> Path:
    """Build Compose v2 into the cache (a throw-away module: `go install` refuses compose's `exclude`s)."""
    binary = cache_dir() / "docker-compose"
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        go = _go()
        started = time.monotonic()
        log(f"building Compose {COMPOSE_VERSION} from the Go module proxy (several minutes, once)")
        with tempfile.TemporaryDirectory(prefix="cercle-compose-build-") as tmp:
            env = {**os.environ, "GOFLAGS": "-mod=mod"}
            for args in (
                ["mod", "init", "cercle.local/composebuild"],
                ["get", f"{COMPOSE_MODULE}/cmd@{COMPOSE_VERSION}"],
                [
                    "build",
                    "-ldflags",
                    f"-s -w -X {COMPOSE_MODULE}/internal.Version={COMPOSE_VERSION}",
                    "-o",
                    str(binary.with_suffix(".part")),
                    f"{COMPOSE_MODULE}/cmd",
                ],
            ):
                result = subprocess.run([go, *args], cwd=tmp, env=env, capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    raise RuntimeError(f"go {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        binary.with_suffix(".part").rename(binary)
        log(f"Compose {COMPOSE_VERSION} built in {time.monotonic() - started:.0f}s")
        return binary


def ensure_plugin(log=print) -> str:
    """`docker compose` v2 works afterwards; returns its version."""
    version = installed_version()
    if version:
        return version
    binary = build_plugin(log)
    target = plugin_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, target.with_suffix(".part"))
    target.with_suffix(".part").rename(target)
    version = installed_version()
    if not version:
        raise RuntimeError(f"{target} does not answer `docker compose version`")
    return version


@dataclass
class ComposeProject:
    """One stack: `docker compose -p <project> --env-file <file>` over the repository's docker-compose.yml."""

    project: str
    env_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def write(cls, project: str, env: Mapping[str, str], directory: Path) -> ComposeProject:
        env_file = Path(directory) / f"{project}.env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        env_file.chmod(0o600)
        return cls(project, env_file, dict(env))

    def command(self, *args: str) -> list[str]:
        return [
            "docker",
            "compose",
            "--project-directory",
            str(REPO_ROOT),
            "--file",
            str(COMPOSE_FILE),
            "--project-name",
            self.project,
            "--env-file",
            str(self.env_file),
            *args,
        ]

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        # The env file, not this process's environment, decides: drop CERCLE_* variables a shell may have set.
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "COMPOSE_", "POSTGRES_"))}
        result = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=environ,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                f"{result.stderr[-3000:]}"
            )
        return result

    def up(self, timeout: int = 300) -> float:
        started = time.monotonic()
        self.run("up", "--detach", "--no-build", "--wait", "--wait-timeout", str(timeout), timeout=timeout + 60)
        return time.monotonic() - started

    def down(self) -> None:
        self.run("down", "--volumes", "--remove-orphans", "--timeout", "30", timeout=180)

    def containers(self, all: bool = True) -> list[dict]:
        """`docker compose ps` as dicts (Service, State, Health, ExitCode, ...)."""
        out = self.run("ps", "--format", "json", *(["--all"] if all else [])).stdout
        out = out.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def container_id(self, service: str) -> str:
        return self.run("ps", "--quiet", "--all", service).stdout.strip().splitlines()[0]

    def logs(self, *services: str, tail: int = 200) -> str:
        return self.run("logs", "--no-color", "--tail", str(tail), *services, check=False).stdout

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes still labelled with this project (empty after `down -v`)."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {}
        for kind, args in {
            "containers": ["ps", "--all", "--quiet", "--filter", label],
            "networks": ["network", "ls", "--quiet", "--filter", label],
            "volumes": ["volume", "ls", "--quiet", "--filter", label],
        }.items():
            out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
            found[kind] = out.split()
        return found


@contextlib.contextmanager
def timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[phase] = timings.get(phase, 0.0) + time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.compose", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["plugin"])
    parser.parse_args(argv)
    print(f"docker compose {ensure_plugin()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
