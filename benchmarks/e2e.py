"""End-to-end latency with the four services as processes (devtools' Stack, as `make up` runs them): a session
registration accepted (201) -> its confirmation email accepted by the SMTP server, and -> insights' stats counting
it; beside a raw Kafka produce -> consume round trip on the same broker."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx

from cercle_shared.auth import issue_token
from devtools.stack import Stack
from devtools.wait import wait_until

from . import baselines


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Mailbox:
    """The SMTP server's saved messages: <UTC stamp>-<uuid>.eml, stamped when the server accepted them."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.seen: set[str] = set()
        self.by_recipient: dict[str, list[tuple[float, Any]]] = {}
        self._parser = BytesParser(policy=policy.default)

    def scan(self) -> None:
        if not self.mail_dir.is_dir():
            return
        for path in self.mail_dir.glob("*.eml"):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            message = self._parser.parsebytes(path.read_bytes())
            stamp = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
            for recipient in str(message["X-Envelope-To"] or "").lower().split(","):
                self.by_recipient.setdefault(recipient.strip(), []).append((stamp.timestamp(), message))

    def confirmations(self, email: str) -> list[float]:
        """When each of this address's own (non-announcement) messages was accepted."""
        return [at for at, m in self.by_recipient.get(email, []) if m["List-Unsubscribe"] is None]


def run(stack: Stack, rtt_topic: str, samples: int) -> tuple[list[Any], str]:
    """Start the stack's services (its broker is running), time `samples` registrations, stop the services."""
    from .compare import Comparison

    t0 = time.perf_counter()
    stack.up(timeout=600)
    print(f"end to end: the four services up in {time.perf_counter() - t0:.0f}s; {samples} registrations", flush=True)
    secret = stack.jwt_secret()
    op = {"Authorization": f"Bearer {issue_token(secret, 'operator')}"}
    clients = {name: httpx.Client(base_url=svc.url, timeout=30) for name, svc in stack.services.items()}
    reg, ses, ins = clients["registration"], clients["sessions"], clients["insights"]
    mailbox = Mailbox(stack.base / "mail")
    try:
        community = reg.post(
            "/v1/communities", headers=op, json={"name_fr": "Banc d'essai", "name_en": "Test bench", "regions": ["06"]}
        )
        community.raise_for_status()
        community_id = community.json()["id"]
        people = []
        for n in range(samples + 1):
            email = f"bench-{uuid.uuid4().hex[:8]}-{n}@example.org"
            member = reg.post(
                "/v1/members",
                headers=op,
                json={
                    "display_name": f"Membre {n}",
                    "email": email,
                    "region": "06",
                    "consents": {"processing": True, "email": True},
                },
            )
            member.raise_for_status()
            member_id = member.json()["id"]
            joined = reg.post(f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": member_id})
            joined.raise_for_status()
            people.append((member_id, email))
        facilitator = {"Authorization": f"Bearer {issue_token(secret, 'facilitator', communities=[community_id])}"}
        starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        body = {
            "title": "Banc d'essai",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "mode": "virtual",
            "capacity": samples + 10,
        }

        last: dict[str, httpx.Response] = {}

        def scheduled() -> Any:
            response = last["session"] = ses.post(
                f"/v1/communities/{community_id}/sessions", headers=facilitator, json=body
            )
            if response.status_code not in (201, 403, 404):  # 403/404: the community is not known there yet
                raise RuntimeError(f"scheduling a session: {response.status_code} {response.text}")
            return response if response.status_code == 201 else None

        session_id = wait_until(scheduled, 120, interval=0.25, message="sessions to learn about the community").json()[
            "id"
        ]

        def register(member_id: str) -> httpx.Response | None:
            token = issue_token(secret, "member", member_id=member_id)
            response = ses.post(
                f"/v1/sessions/{session_id}/registrations", headers={"Authorization": f"Bearer {token}"}, json={}
            )
            return response if response.status_code == 201 else None

        def confirmed() -> int:
            response = ins.get(f"/v1/communities/{community_id}/stats", headers=op)
            return int(response.json()["registrations"]["confirmed"]) if response.status_code == 200 else -1

        # Warm-up: the first member, once every service knows the community, her and her contact.
        warm_id, warm_email = people[0]
        wait_until(lambda: register(warm_id), 120, interval=0.25, message="sessions to learn about the member")

        def warm_mail() -> bool:
            mailbox.scan()
            return bool(mailbox.confirmations(warm_email))

        wait_until(warm_mail, 120, interval=0.1, message="the warm-up confirmation email")
        wait_until(lambda: confirmed() >= 1, 120, interval=0.1, message="insights to count the warm-up")
        time.sleep(2)  # the other members' contacts and memberships have arrived everywhere meanwhile

        to_email: list[float] = []
        to_insights: list[float] = []
        for n, (member_id, email) in enumerate(people[1:], start=1):
            accepted = wait_until(lambda member_id=member_id: register(member_id), 60, interval=0.05)
            at = time.time()
            assert accepted is not None
            email_at: float | None = None
            insights_at: float | None = None
            deadline = time.monotonic() + 120
            while (email_at is None or insights_at is None) and time.monotonic() < deadline:
                if email_at is None:
                    mailbox.scan()
                    found = mailbox.confirmations(email)
                    if found:
                        email_at = min(found)
                if insights_at is None and confirmed() >= n + 1:
                    insights_at = time.time()
                time.sleep(0.01)
            if email_at is None or insights_at is None:
                print(f"  registration {n}: email {email_at is not None}, insights {insights_at is not None} in 120 s")
                continue
            to_email.append((email_at - at) * 1000)
            to_insights.append((insights_at - at) * 1000)
        time.sleep(3)  # anything duplicated would have come by now
        mailbox.scan()
        counts = [len(mailbox.confirmations(email)) for _, email in people[1:]]
        lost = sum(1 for c in counts if c == 0)
        duplicated = sum(c - 1 for c in counts if c > 1)
        final = confirmed()
    finally:
        for client in clients.values():
            client.close()
        for name in stack.services:  # the broker stays, for the other parts; the services would only compete
            stack.stop_service(name)

    rtt = asyncio.run(baselines.kafka_round_trip(stack.kafka.bootstrap, rtt_topic, max(50, samples * 5)))
    rows = []
    for label, values in (("email accepted by SMTP", to_email), ("insights updated", to_insights)):
        if not values:
            continue
        p50 = Comparison(f"registration → {label}, p50", "ms", "raw Kafka produce→consume p50", "—", True)
        p50.add(statistics.median(values), rtt.p50_ms)
        p99 = Comparison(f"registration → {label}, p99", "ms", "raw Kafka produce→consume p99", "≤ 10×", True)
        p99.add(_percentile(values, 99), rtt.p99_ms)
        rows += [p99, p50]
    note = (
        f"  end to end: {len(to_email)} registrations timed (sequential, one at a time); confirmation emails: "
        f"{lost} lost, {duplicated} duplicated; insights counts {final} confirmed for {samples + 1} registrations; "
        f"raw round trip over {rtt.samples} records"
    )
    print(note, flush=True)
    return rows, note
