"""The bounded HTTP client against real loopback servers: no redirects, at most 64 KiB read, a timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.exceptions import InvalidTag

from cercle_notifications.adapters.webhook_client import (
    LOGGED_BODY,
    SecretBox,
    UrlGuard,
    WebhookClient,
    new_secret,
    parse_retry_after,
)


@contextmanager
def server(handler_body) -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            paths.append(self.path)
            handler_body(self)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    finally:
        httpd.shutdown()
        httpd.server_close()


def post(url: str, timeout: float = 15.0):
    client = WebhookClient(UrlGuard(["127.0.0.1"]), timeout=timeout)
    return asyncio.run(client.post(url, msg_id="msg_1", body="{}", secrets_=[new_secret()]))


def test_a_redirect_is_a_failure_and_is_not_followed():
    def redirect(h):
        h.send_response(302)
        h.send_header("location", "/elsewhere")
        h.send_header("content-length", "0")
        h.end_headers()

    with server(redirect) as (url, paths):
        outcome = post(f"{url}/hooks")
    assert not outcome.ok
    assert outcome.status_code == 302
    assert paths == ["/hooks"]


def test_a_huge_answer_is_read_no_further_than_64_kib():
    sent = {"bytes": 0}

    def endless(h):
        h.send_response(200)
        h.send_header("content-length", str(100 * 1024 * 1024))
        h.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(1600):
                h.wfile.write(chunk)
                sent["bytes"] += len(chunk)
        except OSError:
            pass  # the client hung up, as it should

    with server(endless) as (url, _):
        outcome = post(f"{url}/hooks")
    assert outcome.ok
    assert len(outcome.body) <= LOGGED_BODY
    assert sent["bytes"] < 100 * 1024 * 1024


def test_an_endpoint_slower_than_the_timeout_fails():
    def slow(h):
        time.sleep(2)
        h.send_response(200)
        h.send_header("content-length", "0")
        h.end_headers()

    with server(slow) as (url, _):
        outcome = post(f"{url}/hooks", timeout=0.5)
    assert not outcome.ok
    assert "no answer within" in outcome.error


def test_retry_after_is_read_in_seconds_or_as_a_date():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None


def test_sealed_secrets_open_with_the_same_key_only():
    secret = new_secret()
    sealed = SecretBox(b"key one").seal(secret)
    assert secret not in sealed
    assert SecretBox(b"key one").open(sealed) == secret
    with pytest.raises(InvalidTag):
        SecretBox(b"key two").open(sealed)
