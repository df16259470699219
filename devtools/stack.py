"""The whole local stack as plain processes: Kafka, the SMTP server and the four services.

    python -m devtools.stack up      # what `make up` runs
    python -m devtools.stack down    # what `make down` runs
    python -m devtools.stack status

`Stack` is also what the end-to-end tests start, on free ports and a temporary directory,
so that the tests exercise exactly what an operator runs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devtools import DATA_DIR, REPO_ROOT
from devtools.kafka import LocalKafka
from devtools.ports import LOOPBACK, free_port
from devtools.processes import pid_alive
from devtools.smtp import LocalSmtp
from devtools.wait import wait_until

SERVICES = ("registration", "sessions", "notifications", "insights")
DEFAULT_PORTS = {"registration": 8001, "sessions": 8002, "notifications": 8003, "insights": 8004}


@dataclass
class ServiceProcess:
    name: str
    port: int
    database_url: str
    log: Path
    pid_file: Path
    proc: subprocess.Popen | None = None
    returncode: int | None = None  # of the last process this object started and stopped

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def pid(self) -> int | None:
        if self.proc is not None:
            return self.proc.pid if self.proc.poll() is None else None
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None


@dataclass
class Stack:
    base: Path = DATA_DIR
    kafka_port: int = 9092
    controller_port: int = 9093
    smtp_port: int = 1025
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_urls: dict[str, str] = field(default_factory=dict)  # default: one SQLite file per service
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base = Path(self.base).resolve()
        self.kafka = LocalKafka(self.base / "kafka" / "node", self.kafka_port, self.controller_port)
        self.smtp = LocalSmtp(self.base / "mail", self.smtp_port)
        self.services = {
            name: ServiceProcess(
                name=name,
                port=self.ports[name],
                database_url=self.database_urls.get(name) or f"sqlite:///{self.base / (name + '.db')}",
                log=self.base / "logs" / f"{name}.log",
                pid_file=self.base / "run" / f"{name}.pid",
            )
            for name in SERVICES
        }

    @classmethod
    def on_free_ports(cls, base: Path, **kwargs) -> Stack:
        return cls(
            base=base,
            kafka_port=free_port(),
            controller_port=free_port(),
            smtp_port=free_port(),
            ports={name: free_port() for name in SERVICES},
            **kwargs,
        )

    @property
    def secret_file(self) -> Path:
        return self.base / "jwt-secret"

    def jwt_secret(self) -> str:
        # The local run generates its secret once; compose and production must set CERCLE_JWT_SECRET.
        if not self.secret_file.exists():
            self.secret_file.parent.mkdir(parents=True, exist_ok=True)
            self.secret_file.write_text(secrets.token_urlsafe(48))
            self.secret_file.chmod(0o600)
        return self.secret_file.read_text().strip()

    def service_env(self, service: ServiceProcess) -> dict[str, str]:
        pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        return {
            **os.environ,
            "PYTHONPATH": pythonpath,
            "CERCLE_DATABASE_URL": service.database_url,
            "CERCLE_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "CERCLE_JWT_SECRET": self.jwt_secret(),
            "CERCLE_HTTP_HOST": LOOPBACK,
            "CERCLE_HTTP_PORT": str(service.port),
            "CERCLE_SMTP_HOST": LOOPBACK,
            "CERCLE_SMTP_PORT": str(self.smtp_port),
            "CERCLE_PUBLIC_BASE_URL": self.services["sessions"].url,  # calendar feed links
            # A developer's stack may send webhooks to a receiver on this machine (devtools/webhook_receiver.py);
            # a deployment leaves this empty, so the SSRF guard refuses loopback and private addresses.
            "CERCLE_WEBHOOK_ALLOW_HOSTS": os.environ.get("CERCLE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1,localhost"),
            **self.extra_env,
        }

    # -- up -------------------------------------------------------------------------------
    def up(self, timeout: float = 120) -> dict[str, float]:
        """Start whatever is not running yet; return how long each part took to be ready (seconds)."""
        from cercle_shared.messaging.admin import ensure_topics

        timings: dict[str, float] = {}
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "logs").mkdir(exist_ok=True)
        (self.base / "run").mkdir(exist_ok=True)
        t0 = time.monotonic()
        if not self._kafka_running():
            self.kafka.start()
            self.kafka.wait_ready(timeout)
            (self.kafka.data_dir / "kafka.pid").write_text(f"{self.kafka.pid}\n")
        timings["kafka"] = time.monotonic() - t0
        ensure_topics(self.kafka.bootstrap)
        if not self._smtp_running():
            self.smtp.start()
            (self.base / "run" / "smtp.pid").write_text(f"{self.smtp._proc.pid}\n")
        for service in self.services.values():
            if service.pid() is None:
                self._start_service(service)
        for service in self.services.values():
            t1 = time.monotonic()
            self._wait_ready(service, timeout)
            timings[service.name] = time.monotonic() - t1
        return timings

    def _start_service(self, service: ServiceProcess) -> None:
        env = self.service_env(service)
        with open(service.log, "ab") as log:
            subprocess.run(
                [sys.executable, "-m", f"cercle_{service.name}.main", "migrate"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                cwd=self.base,
            )
            service.proc = subprocess.Popen(
                [sys.executable, "-m", f"cercle_{service.name}.main", "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base,
                start_new_session=True,
            )
        service.pid_file.write_text(f"{service.proc.pid}\n")

    def _wait_ready(self, service: ServiceProcess, timeout: float) -> None:
        def ready() -> bool:
            if service.proc is not None and service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.proc.returncode}:\n{tail(service.log)}")
            try:
                with urllib.request.urlopen(f"{service.url}/readyz", timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        try:
            wait_until(ready, timeout, interval=0.2, message=f"{service.name} ready on {service.url}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{tail(service.log)}") from None

    def _kafka_running(self) -> bool:
        if self.kafka.running:
            return True
        pid_file = self.kafka.data_dir / "kafka.pid"
        try:
            return pid_alive(int(pid_file.read_text()))
        except (OSError, ValueError):
            return False

    def _smtp_running(self) -> bool:
        try:
            return pid_alive(int((self.base / "run" / "smtp.pid").read_text()))
        except (OSError, ValueError):
            return False

    # -- down -----------------------------------------------------------------------------
    def stop_service(self, name: str, timeout: float = 30) -> float:
        """SIGTERM one service and wait; return how long it took to exit."""
        service = self.services[name]
        pid = service.pid()
        t0 = time.monotonic()
        if pid is not None:
            _terminate(pid, timeout)
        if service.proc is not None:
            service.returncode = service.proc.wait(timeout)
            service.proc = None
        service.pid_file.unlink(missing_ok=True)
        return time.monotonic() - t0

    def down(self) -> None:
        for name in SERVICES:
            self.stop_service(name)
        for pid_file in (self.base / "run" / "smtp.pid", self.kafka.data_dir / "kafka.pid"):
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            if pid_alive(pid):
                _terminate(pid, 30)
            pid_file.unlink(missing_ok=True)
        self.smtp.stop()
        self.kafka.stop()

    def status(self) -> dict[str, str]:
        out = {"kafka": "up" if self._kafka_running() else "down", "smtp": "up" if self._smtp_running() else "down"}
        for service in self.services.values():
            out[service.name] = f"up ({service.url})" if service.pid() else "down"
        return out


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    stack = Stack()
    if args.command == "up":
        timings = stack.up()
        print("Cercle is up (SQLite databases, logs and mail under .data/):")
        for service in stack.services.values():
            print(f"  {service.name:<14} {service.url}/docs   (AsyncAPI: {service.url}/asyncapi)")
        print(f"  kafka          {stack.kafka.bootstrap}   (ready in {timings['kafka']:.1f}s)")
        print(f"  smtp           {LOOPBACK}:{stack.smtp_port}  (messages saved as .eml in .data/mail/)")
        print(
            "Get a token:  make token ROLE=operator   (or ROLE=coordinator REGIONS=06, "
            "ROLE=facilitator COMMUNITIES=<id>, ROLE=member MEMBER=<id>)"
        )
        print(
            "Webhooks:     python -m devtools.webhook_receiver --secret whsec_...   "
            "(a loopback receiver; README, For partners)"
        )
        print("Stop:         make down")
    elif args.command == "down":
        stack.down()
        print("Cercle is down.")
    else:
        print(json.dumps(stack.status(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
