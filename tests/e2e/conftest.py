"""The four services as separate processes, started by the same code as `make up`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.stack import Stack
from devtools.wait import wait_until


class Api:
    """HTTP clients for a running stack, with a token signed by its own secret."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.clients = {name: httpx.Client(base_url=svc.url, timeout=15) for name, svc in stack.services.items()}

    def __getattr__(self, name: str) -> httpx.Client:
        try:
            return self.clients[name]
        except KeyError:
            raise AttributeError(name) from None

    def auth(self, role: str = "operator", **claims) -> dict[str, str]:
        from cercle_shared.auth import issue_token

        return {"Authorization": f"Bearer {issue_token(self.stack.jwt_secret(), role, **claims)}"}

    @staticmethod
    def items(response) -> list:
        """The items of a list answer: a cursor page's `items` (or a plain list, as some lists once were)."""
        body = response.json()
        return body["items"] if isinstance(body, dict) and "items" in body else body

    def eventually(self, call, check, timeout: float = 60, message: str = "condition"):
        """Repeat an HTTP call until `check(response)` holds; return the last response."""
        last = {}

        def attempt():
            last["r"] = call()
            return check(last["r"])

        try:
            wait_until(attempt, timeout, interval=0.25, message=message)
        except TimeoutError as exc:
            r = last.get("r")
            raise TimeoutError(f"{exc}; last answer: {r.status_code if r else None} {r.text if r else ''}") from None
        return last["r"]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp(f"stack-{request.param}")
    urls = {}
    if request.param == "postgresql":
        postgres = request.getfixturevalue("postgres")
        suffix = uuid.uuid4().hex[:8]
        urls = {
            name: postgres.create_database(f"e2e_{name}_{suffix}")
            for name in ("registration", "sessions", "notifications", "insights")
        }
    # Housekeeping (outbox purge, SQLite checkpoint) every few seconds, so that the privacy sweep sees its effect.
    stack = Stack.on_free_ports(base, database_urls=urls, extra_env={"CERCLE_HOUSEKEEPING_INTERVAL": "5"})
    started = time.monotonic()
    try:
        timings = stack.up()
        print(
            f"\n[{request.param}] stack up in {time.monotonic() - started:.1f}s: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        )
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def api(stack) -> Iterator[Api]:
    client = Api(stack)
    yield client
    client.close()
