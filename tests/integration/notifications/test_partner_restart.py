"""At least once across a crash: the notifications process is SIGKILLed while webhooks are in flight, then started
again; every message reaches the partner (a few perhaps twice, always with the same webhook-id), none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest
from kafka import KafkaProducer

from devtools import REPO_ROOT
from devtools.ports import free_port
from devtools.wait import wait_until
from tests.support.services import JWT_SECRET, auth
from tests.unit.notifications.partners.helpers import endpoint, grant, registration_confirmed
from tests.unit.notifications.partners.receiver import receiver

from .test_partner_webhooks import publish

pytestmark = pytest.mark.integration

TIMEOUT = 90
EVENTS = 30


def _start(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cercle_notifications.main", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_process_killed_mid_delivery_loses_no_message(kafka, postgres, tmp_path):
    name = f"notifications_{uuid.uuid4().hex[:10]}"
    database = postgres.create_database(name)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "CERCLE_DATABASE_URL": database,
        "CERCLE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "CERCLE_JWT_SECRET": JWT_SECRET,
        "CERCLE_HTTP_HOST": "127.0.0.1",
        "CERCLE_HTTP_PORT": str(port),
        "CERCLE_SMTP_PORT": str(free_port()),
        "CERCLE_CONSUMER_GROUP": f"test-notifications-{uuid.uuid4().hex[:8]}",
        "CERCLE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "CERCLE_WEBHOOK_POLL_INTERVAL": "0.05",
        "CERCLE_WEBHOOK_TIMEOUT": "2",
        "CERCLE_WEBHOOK_LEASE": "1",  # the lease is at least the timeout + 5 s: 7 s
        "CERCLE_WEBHOOK_ENDPOINT_CONCURRENCY": "2",
    }
    subprocess.run(
        [sys.executable, "-m", "cercle_notifications.main", "migrate"], env=env, check=True, capture_output=True
    )
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    log = open(tmp_path / "notifications.log", "ab")  # noqa: SIM115
    process = _start(env, log)
    try:
        wait_until(lambda: _ready(url), TIMEOUT, message="notifications ready")
        with httpx.Client(base_url=url, timeout=15) as api, receiver(delay=0.3) as rx:
            organization = "org-restart"
            grant(api, organization, auth("operator"))
            # only this test's community: the broker also holds earlier tests' events, which a new group reads too
            community = f"c-restart-{uuid.uuid4().hex[:8]}"
            partner = auth("partner", organization_id=organization)
            ep = endpoint(api, organization, partner, rx.url, communities=[community])
            published = {publish(producer, registration_confirmed(community)) for _ in range(EVENTS)}

            rx.wait_for(4, TIMEOUT)
            process.send_signal(signal.SIGKILL)  # mid-delivery: requests are in flight, claims are held
            process.wait(30)
            assert len({r.webhook_id for r in rx.received}) < EVENTS

            process = _start(env, log)
            wait_until(lambda: _ready(url), TIMEOUT, message="notifications ready again")
            wait_until(
                lambda: published <= {r.webhook_id for r in list(rx.received)},
                TIMEOUT,
                message="every message received",
            )
            for got in list(rx.received):
                got.verify(ep["secret"])

            def all_delivered() -> bool:
                r = api.get(
                    f"/v1/partners/{organization}/endpoints/{ep['id']}/messages",
                    params={"limit": 100},
                    headers=auth("operator"),
                )
                items = r.json()["items"]
                return {m["webhook_id"] for m in items} == published and all(m["status"] == "delivered" for m in items)

            wait_until(all_delivered, TIMEOUT, message="every message marked delivered")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        producer.close()
        postgres.drop_database(name)
