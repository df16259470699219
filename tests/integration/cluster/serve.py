"""A service's real `serve` process (uvicorn, consumer and outbox relay) against a given broker and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from devtools import REPO_ROOT
from devtools.ports import LOOPBACK, free_port
from devtools.stack import tail
from devtools.wait import wait_until
from tests.support.services import JWT_SECRET


class ServeProcess:
    """`python -m cercle_<service>.main serve` with CERCLE_* settings; migrate() first, then start()."""

    def __init__(self, service: str, database_url: str, bootstrap: str, log: Path, **settings: str) -> None:
        self.service = service
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            "CERCLE_DATABASE_URL": database_url,
            "CERCLE_KAFKA_BOOTSTRAP": bootstrap,
            "CERCLE_JWT_SECRET": JWT_SECRET,
            "CERCLE_HTTP_HOST": LOOPBACK,
            "CERCLE_HTTP_PORT": str(self.port),
            "CERCLE_SMTP_HOST": LOOPBACK,
            "CERCLE_SMTP_PORT": str(free_port()),  # nothing listens: these tests send no email
            "CERCLE_RELAY_POLL_INTERVAL": "0.05",
            "CERCLE_CONSUMER_BACKOFF_INITIAL": "0.05",
            **{f"CERCLE_{name.upper()}": value for name, value in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", f"cercle_{self.service}.main", "migrate"],
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 90) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"cercle_{self.service}.main", "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self._ready, timeout, interval=0.2, message=f"{self.service} ready on {self.url}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{tail(self.log)}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.service} exited with {self.proc.returncode}:\n{tail(self.log)}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
