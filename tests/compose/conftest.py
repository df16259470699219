"""The compose stack under test: docker-compose.yml on a real Docker engine, once per run (`make compose-test`).

Every test under tests/compose gets the `compose` marker and runs only when the marker expression names it
(`pytest -m compose`): `make test` never needs an engine. The stack has a project name of its own and
non-default host ports, so it runs beside a developer's `make up` and beside another stack.

Fixtures for any compose test module:
- `compose_stack` (session): `.name` (the project), `.env` (what compose read), `.urls` (base URL per service),
  `.mailpit_url`, `.kafka_bootstrap` (the published listener, SASL/SCRAM), `.kafka_settings()` (the admin's
  client settings; `.kafka_settings(user, password)` another principal's), `.compose(*args)` (runs
  `docker compose` for this project), `.token(role, **claims)`, `.container(service)` (its id), `.timings`.
- `compose_api`: httpx clients per service (`compose_api.sessions.get(...)`), `auth()`, `eventually()`, `mail()`.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import docker_engine, images
from devtools.compose import ComposeProject, ensure_plugin, timed
from devtools.ports import LOOPBACK, free_port
from devtools.wait import wait_until

HERE = Path(__file__).resolve().parent
SERVICES = ("registration", "sessions", "notifications", "insights")
# Host ports a developer's `make up` uses: a test stack never binds them.
RESERVED_PORTS = {8001, 8002, 8003, 8004, 8025, 9092, 9093, 1025, 19092}
TIMINGS: dict[str, float] = {}
COMPOSE_TEST_TIMEOUT = 3600
# Subjects of notifications' registration emails (templates/<language>/session_registration_*.subject.j2).
REGISTRATION_SUBJECTS = ("Registration confirmed", "Inscription confirmée", "Waitlist", "Liste d'attente")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test of this folder `compose`; leave them out unless `-m` names the marker."""
    selected = "compose" in (config.getoption("markexpr") or "")
    kept, dropped = [], []
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.compose)
            # The first test's setup builds what is missing (the debootstrapped base, the stand-ins, the wheelhouse,
            # the four service images: many minutes on a fresh machine) and brings the stack up: the suite's
            # 300 s per test does not fit it.
            item.add_marker(pytest.mark.timeout(COMPOSE_TEST_TIMEOUT))
            if not selected:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    # `down -v` leaves nothing: checked last, once every other test used the stack.
    items.sort(key=lambda item: item.path.name == "test_teardown.py")


pytest_collection_modifyitems.tryfirst = True  # type: ignore[attr-defined]  # before -m deselects


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "compose test phases (seconds)")
        for phase, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{phase:>22}: {seconds:7.1f}")


def _port() -> int:
    while (port := free_port()) in RESERVED_PORTS:
        pass
    return port


@dataclass
class ComposeStack:
    project: ComposeProject
    env: dict[str, str]
    urls: dict[str, str]
    mailpit_url: str
    kafka_bootstrap: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.project.project

    def compose(self, *args: str, check: bool = True, timeout: float = 600):
        """Run `docker compose <args>` for this project; returns the CompletedProcess."""
        return self.project.run(*args, check=check, timeout=timeout)

    def container(self, service: str) -> str:
        return self.project.container_id(service)

    def kafka_settings(self, user: str = "cercle-admin", password: str | None = None):
        """Client settings for the published listener: the admin by default, or another principal."""
        from cercle_shared.settings import KafkaSettings

        return KafkaSettings(
            kafka_bootstrap=self.kafka_bootstrap,
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username=user,
            kafka_sasl_password=password or self.env["CERCLE_KAFKA_ADMIN_PASSWORD"],
        )

    def token(self, role: str = "operator", **claims: Any) -> str:
        from cercle_shared.auth import issue_token

        return issue_token(self.env["CERCLE_JWT_SECRET"], role, **claims)


def stack_env(project: str) -> dict[str, str]:
    return {
        "COMPOSE_PROJECT_NAME": project,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "CERCLE_JWT_SECRET": secrets.token_urlsafe(48),
        "CERCLE_KAFKA_ADMIN_PASSWORD": secrets.token_urlsafe(24),
        "CERCLE_KAFKA_CONTROLLER_PASSWORD": secrets.token_urlsafe(24),
        **{f"CERCLE_KAFKA_PASSWORD_{name.upper()}": secrets.token_urlsafe(24) for name in SERVICES},
        "CERCLE_REGISTRATION_PORT": str(_port()),
        "CERCLE_SESSIONS_PORT": str(_port()),
        "CERCLE_NOTIFICATIONS_PORT": str(_port()),
        "CERCLE_INSIGHTS_PORT": str(_port()),
        "CERCLE_MAILPIT_PORT": str(_port()),
        "CERCLE_KAFKA_PORT": str(_port()),
        "CERCLE_ENABLED_REGIONS": "06,13",
        **images.COMPOSE_ENV,
    }


def _timed_plugin() -> float:
    started = time.monotonic()
    ensure_plugin()
    return time.monotonic() - started


@pytest.fixture(scope="session")
def compose_stack(tmp_path_factory) -> Iterator[ComposeStack]:
    """Engine, images, Compose v2 and one stack, up and healthy; everything this started is undone after."""
    with timed(TIMINGS, "engine"):
        started_engine = docker_engine.up()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Compose v2 (a Go build when it is missing) beside the images: CPU against mostly downloads.
        plugin = pool.submit(_timed_plugin)
        # CERCLE_COMPOSE_BUILD=0 reuses the images already built (a quicker loop while working on the tests).
        if os.environ.get("CERCLE_COMPOSE_BUILD", "1") != "0":
            TIMINGS.update(images.build_all(standins=os.environ.get("CERCLE_COMPOSE_STANDINS", "1") != "0"))
        TIMINGS["compose v2"] = plugin.result()
    project_name = f"cercle-test-{uuid.uuid4().hex[:8]}"
    project = ComposeProject.write(project_name, stack_env(project_name), tmp_path_factory.mktemp("compose"))
    env = project.env
    stack = ComposeStack(
        project=project,
        env=env,
        urls={name: f"http://{LOOPBACK}:{env[f'CERCLE_{name.upper()}_PORT']}" for name in SERVICES},
        mailpit_url=f"http://{LOOPBACK}:{env['CERCLE_MAILPIT_PORT']}",
        kafka_bootstrap=f"{LOOPBACK}:{env['CERCLE_KAFKA_PORT']}",
        timings=TIMINGS,
    )
    try:
        with timed(TIMINGS, "up (healthy)"):
            try:
                project.up()
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\n--- logs ---\n{project.logs(tail=60)}") from None
        yield stack
    finally:
        with timed(TIMINGS, "down"):
            project.down()
        if started_engine:
            with timed(TIMINGS, "engine teardown"):
                docker_engine.down()


@pytest.fixture(scope="module", autouse=True)
def _module_timing(request, compose_stack) -> Iterator[None]:
    """Each compose test module's time goes into the phases the run prints (the flow, the restart, ...)."""
    with timed(TIMINGS, f"tests: {request.module.__name__.rsplit('.', 1)[-1]}"):
        yield


class ComposeApi:
    """httpx clients for the stack's published ports, tokens signed with its own secret."""

    def __init__(self, stack: ComposeStack) -> None:
        self.stack = stack
        self.clients = {name: httpx.Client(base_url=url, timeout=30) for name, url in stack.urls.items()}
        self.mailpit = httpx.Client(base_url=stack.mailpit_url, timeout=15)

    def __getattr__(self, name: str) -> httpx.Client:
        try:
            return self.clients[name]
        except KeyError:
            raise AttributeError(name) from None

    def auth(self, role: str = "operator", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token(role, **claims)}"}

    @staticmethod
    def items(response: httpx.Response) -> list:
        body = response.json()
        return body["items"] if isinstance(body, dict) and "items" in body else body

    def eventually(
        self,
        call: Callable[[], httpx.Response],
        check: Callable[[httpx.Response], bool],
        timeout: float = 90,
        message: str = "condition",
    ) -> httpx.Response:
        """Repeat an HTTP call until `check(response)` holds (connection errors count as not yet)."""
        last: dict[str, Any] = {}

        def attempt() -> bool:
            try:
                last["r"] = call()
            except httpx.TransportError as exc:
                last["error"] = exc
                return False
            return check(last["r"])

        try:
            wait_until(attempt, timeout, interval=0.5, message=message)
        except TimeoutError as exc:
            r = last.get("r")
            detail = f"{r.status_code} {r.text[:500]}" if r is not None else repr(last.get("error"))
            raise TimeoutError(f"{exc}; last answer: {detail}") from None
        return last["r"]

    def mail(self) -> list[dict]:
        """Every message the compose SMTP service holds (Mailpit's API v1), each with its plain text body."""
        summaries = self.mailpit.get("/api/v1/messages", params={"limit": 1000})
        summaries.raise_for_status()
        messages = []
        for summary in summaries.json()["messages"]:
            full = self.mailpit.get(f"/api/v1/message/{summary['ID']}")
            full.raise_for_status()
            messages.append(full.json())
        return messages

    def mail_to(self, address: str) -> list[dict]:
        return [m for m in self.mail() if any(to["Address"].lower() == address.lower() for to in m["To"])]

    def registration_mail_to(self, address: str) -> list[dict]:
        """Her emails about her registrations (confirmed, waitlisted), not announcements of new sessions."""
        return [m for m in self.mail_to(address) if m["Subject"].startswith(REGISTRATION_SUBJECTS)]

    def close(self) -> None:
        for client in [*self.clients.values(), self.mailpit]:
            client.close()


@pytest.fixture(scope="session")
def compose_api(compose_stack) -> Iterator[ComposeApi]:
    api = ComposeApi(compose_stack)
    yield api
    api.close()
