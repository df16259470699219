"""A Docker engine for the compose tests: the running one, or dockerd started here and torn down afterwards.

    python -m devtools.docker_engine up       # use a running engine, or install docker.io and start dockerd
    python -m devtools.docker_engine down     # stop the dockerd this module started, restore the host's network
    python -m devtools.docker_engine status

dockerd is started with every bridge in 198.18.0.0/15 (the benchmarking range), never in a private range.
It leaves the docker0 link, its iptables chains and ip_forward=1 behind when it stops: `down` removes the
links and the chains it created and puts ip_forward back as it found it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools import DATA_DIR, prepare_dir
from devtools.processes import pid_alive
from devtools.wait import wait_until

STATE_DIR = DATA_DIR / "docker-engine"
DAEMON_CONFIG = {
    "bip": "198.18.0.1/24",
    "default-address-pools": [{"base": "198.18.16.0/20", "size": 24}],
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "2"},
}
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
APT_PACKAGES = ("docker.io", "debootstrap")


def _run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout, stdin=subprocess.DEVNULL)


def engine_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return _run(docker, "info", "--format", "{{.ServerVersion}}", check=False, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def install_packages() -> None:
    """docker.io (dockerd, containerd, runc) and debootstrap (the base image) from Debian."""
    missing = [
        p
        for p in APT_PACKAGES
        if _run("dpkg-query", "-W", "-f=${Status}", p, check=False).stdout.find(" installed") < 0
    ]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", *missing, "iptables"],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _links() -> set[str]:
    return {
        line.split(":", 2)[1].strip().split("@")[0] for line in _run("ip", "-o", "link", "show").stdout.splitlines()
    }


@dataclass
class StartedEngine:
    """What `up` changed on the host, kept in a state file so that another process can undo it."""

    pid: int
    ip_forward: str
    links_before: list[str]
    iptables_before: str = ""

    @classmethod
    def load(cls) -> StartedEngine | None:
        path = STATE_DIR / "state.json"
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self) -> None:
        (STATE_DIR / "state.json").write_text(json.dumps(self.__dict__) + "\n")

    @staticmethod
    def forget() -> None:
        (STATE_DIR / "state.json").unlink(missing_ok=True)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    prepare_dir(STATE_DIR)
    with open(STATE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions at once: one starts the engine, the other uses it
        yield


def up(timeout: float = 120) -> bool:
    """Make sure an engine answers; return True when this call started it (the caller then owns `down`)."""
    with _locked():
        if engine_answers():
            return False
        install_packages()
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not on PATH after installing docker.io")
        config = STATE_DIR / "daemon.json"
        config.write_text(json.dumps(DAEMON_CONFIG, indent=2) + "\n")
        state = StartedEngine(
            pid=0,
            ip_forward=IP_FORWARD.read_text().strip(),
            links_before=sorted(_links()),
            iptables_before=_run("iptables-save", check=False).stdout,
        )
        with open(STATE_DIR / "dockerd.log", "ab") as log:
            proc = subprocess.Popen(
                [dockerd, "--config-file", str(config), "--pidfile", str(STATE_DIR / "dockerd.pid")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the test session's process group; `down` stops it by pid
            )
        state.pid = proc.pid
        state.save()

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {proc.returncode}:\n{_tail(STATE_DIR / 'dockerd.log')}")
            return engine_answers()

        wait_until(ready, timeout, interval=0.5, message="dockerd to answer `docker info`")
        return True


def down(timeout: float = 60) -> bool:
    """Stop the dockerd `up` started (by its pid) and undo its network changes; False when it started none."""
    with _locked():
        state = StartedEngine.load()
        if state is None:
            return False
        if pid_alive(state.pid):
            os.kill(state.pid, signal.SIGTERM)  # dockerd stops its containers and the containerd it spawned
            deadline = time.monotonic() + timeout
            while pid_alive(state.pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(state.pid, os.WNOHANG)
                time.sleep(0.2)
            if pid_alive(state.pid):
                os.kill(state.pid, signal.SIGKILL)
        _remove_new_links(set(state.links_before))
        _remove_docker_iptables(state.iptables_before)
        IP_FORWARD.write_text(state.ip_forward + "\n")
        StartedEngine.forget()
        return True


def _remove_new_links(before: set[str]) -> None:
    for link in sorted(_links() - before):
        if link == "docker0" or link.startswith(("br-", "veth")):
            _run("ip", "link", "delete", link, check=False)


def _remove_docker_iptables(before: str) -> None:
    """Drop the DOCKER* chains and every rule that jumps to them or names a docker bridge, table by table; put
    the FORWARD policy back (dockerd sets it to DROP) and remove the tables dockerd brought into being."""
    policies = {}
    table = ""
    for line in before.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            policies[(table, chain)] = policy
    for table in ("filter", "nat"):
        saved = _run("iptables-save", "-t", table, check=False).stdout
        if not saved.strip():
            continue
        kept = []
        for line in saved.splitlines():
            words = line.split()
            if line.startswith(":"):
                chain = words[0][1:]
                if chain.startswith("DOCKER"):
                    continue
                if (table, chain) in policies or words[1] != "-":
                    line = f":{chain} {policies.get((table, chain), 'ACCEPT')} [0:0]"
            elif line.startswith("-A") and ("DOCKER" in line or "docker0" in line or " br-" in line):
                continue
            kept.append(line)
        if f"*{table}" not in before and not any(line.startswith("-A") for line in kept) and shutil.which("nft"):
            _run("nft", "delete", "table", "ip", table, check=False)
            continue
        subprocess.run(["iptables-restore", "-T", table], input="\n".join(kept) + "\n", text=True, check=False)


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.docker_engine", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    if args.command == "up":
        started = up()
        print("dockerd started (stop it with: python -m devtools.docker_engine down)" if started else "engine running")
    elif args.command == "down":
        print("dockerd stopped, network restored" if down() else "no dockerd started by this tool")
    else:
        state = StartedEngine.load()
        print(
            f"engine {'answers' if engine_answers() else 'does not answer'}"
            + (f"; dockerd pid {state.pid} started by this tool" if state else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
