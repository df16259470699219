"""The partner documentation lists exactly the partner-visible event types; the local receiver script verifies."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from cercle_shared.contracts import CATALOG
from devtools import webhook_receiver
from devtools.ports import free_port

DOC = Path(__file__).resolve().parents[4] / "docs" / "partners.md"


def test_the_partner_docs_list_every_partner_visible_event_type_and_no_other():
    listed = set(re.findall(r"^\| `(org\.cercle\.[a-z0-9_.]+)` \|", DOC.read_text(), flags=re.MULTILINE))
    assert listed == {spec.type for spec in CATALOG if spec.partner_visible}


def test_the_local_receiver_accepts_a_signed_webhook_and_refuses_a_forged_one(capsys):
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    port = free_port()
    threading.Thread(target=webhook_receiver.serve, args=(secret, "127.0.0.1", port), daemon=True).start()
    url = f"http://127.0.0.1:{port}/hooks"
    body = '{"type":"org.cercle.webhook.ping.v1","id":"msg_1"}'
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", now, body),
    }
    for _ in range(100):
        try:
            ok = httpx.post(url, content=body, headers=headers)
            break
        except httpx.ConnectError:
            time.sleep(0.05)
    assert ok.status_code == 204
    forged = httpx.post(url, content=body.replace("msg_1", "msg_2"), headers=headers)
    assert forged.status_code == 400
    assert "org.cercle.webhook.ping.v1" in capsys.readouterr().out
