"""The sessions container dies in the middle of registrations; its restart policy brings it back, and nothing is
lost or doubled: every accepted registration is there once, counted once by insights, one email each.

The container's main process is SIGKILLed from the host, as the kernel's OOM killer or a crash would end it.
`docker kill` itself is not used: Docker treats it as a deliberate stop and suspends the restart policy until
the next start (documented behaviour of `docker kill`), so it would prove nothing about the policy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devtools.wait import wait_until

from .conftest import REGISTRATION_SUBJECTS

pytestmark = pytest.mark.compose

MEMBERS = 12
CAPACITY = 5


def inspect(container: str) -> dict:
    out = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def test_a_crashed_sessions_container_restarts_and_loses_or_doubles_no_registration(compose_stack, compose_api):
    api, op = compose_api, compose_api.auth("operator")
    community = api.registration.post(
        "/v1/communities",
        headers=op,
        json={"name_fr": "CoP Relance — Saguenay", "name_en": "Restart CoP", "regions": ["06"]},
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    suffix = uuid.uuid4().hex[:6]
    emails, members = {}, []
    for n in range(MEMBERS):
        email = f"membre{n}.{suffix}@example.org"
        created = api.registration.post(
            "/v1/members",
            headers=op,
            json={
                "display_name": f"Membre {n} {suffix}",
                "email": email,
                "language": "fr",
                "region": "06",
                "consents": {"processing": True, "email": True},
            },
        )
        assert created.status_code == 201, created.text
        member_id = created.json()["id"]
        members.append(member_id)
        emails[member_id] = email
        joined = api.registration.post(
            f"/v1/communities/{community_id}/memberships", headers=op, json={"member_id": member_id}
        )
        assert joined.status_code == 201, joined.text

    starts = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    session_id = api.eventually(
        lambda: api.sessions.post(
            f"/v1/communities/{community_id}/sessions",
            headers=api.auth("facilitator", communities=[community_id]),
            json={
                "title": "Séance interrompue",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "mode": "virtual",
                "capacity": CAPACITY,
            },
        ),
        lambda r: r.status_code == 201,
        message="sessions to learn about the community",
    ).json()["id"]

    container = compose_stack.container("sessions")
    restarts_before = inspect(container)["RestartCount"]
    accepted: dict[str, str] = {}  # member -> how sessions accepted her: "201", or "409" on a retry after a crash
    registered = threading.Semaphore(0)
    interrupted: list[str] = []  # attempts that met the outage: no connection, or a 5xx while sessions starts

    def register(member_id: str) -> None:
        headers = api.auth("member", member_id=member_id)
        url = f"{compose_stack.urls['sessions']}/v1/sessions/{session_id}/registrations"
        attempts = []

        def attempt() -> bool:
            try:
                response = httpx.post(url, headers=headers, json={}, timeout=10)
            except httpx.TransportError:  # the container is down or restarting
                attempts.append("transport")
                interrupted.append(member_id)
                return False
            attempts.append(str(response.status_code))
            if response.status_code >= 500:
                interrupted.append(member_id)
            if response.status_code == 201:
                accepted[member_id] = "201"
                return True
            # A retry of a request the crash cut short, after its transaction committed.
            if response.status_code == 409 and "already registered" in response.text and len(attempts) > 1:
                accepted[member_id] = "409"
                return True
            return False  # 403/404 while sessions learns the membership; 5xx while it starts

        wait_until(attempt, 180, interval=0.3, message=f"the registration of {member_id} ({attempts[-5:]})")
        registered.release()

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(register, member_id) for member_id in members]
        for _ in range(MEMBERS // 3):
            registered.acquire(timeout=180)
        # Registrations are in flight: the sessions process dies as if the kernel killed it.
        pid = inspect(container)["State"]["Pid"]
        assert pid > 0
        os.kill(pid, signal.SIGKILL)
        for future in futures:
            future.result()

    state = wait_until(
        lambda: (
            (s := inspect(container))["RestartCount"] > restarts_before
            and s["State"]["Health"]["Status"] == "healthy"
            and s
        ),
        180,
        interval=1,
        message="the restart policy to bring sessions back, healthy",
    )
    assert state["State"]["Running"]
    assert set(accepted) == set(members)
    assert interrupted, "the crash happened while registrations were being sent"
    how = list(accepted.values())
    print(
        f"\naccepted: {how.count('201')} with 201, {how.count('409')} as already registered on a retry; "
        f"{len(interrupted)} attempts met the outage ({len(set(interrupted))} members)"
    )

    listed = api.eventually(
        lambda: api.sessions.get(f"/v1/sessions/{session_id}/registrations", headers=op, params={"limit": 100}),
        lambda r: r.status_code == 200,
        message="the registrations list",
    )
    rows = api.items(listed)
    assert sorted(r["member_id"] for r in rows) == sorted(members)  # each one, once
    statuses = [r["status"] for r in rows]
    assert statuses.count("confirmed") == CAPACITY
    assert statuses.count("waitlisted") == MEMBERS - CAPACITY

    def stats_match(r: httpx.Response) -> bool:
        if r.status_code != 200:
            return False
        counts = r.json()["registrations"]
        return (counts["confirmed"], counts["waitlisted"]) == (CAPACITY, MEMBERS - CAPACITY)

    api.eventually(
        lambda: api.insights.get(f"/v1/communities/{community_id}/stats", headers=op),
        stats_match,
        timeout=120,
        message="insights to count every registration once",
    )

    def everyone_mailed() -> dict[str, int] | None:
        counts = dict.fromkeys(members, 0)
        by_address = {email: m for m, email in emails.items()}
        for message in api.mail():
            if not message["Subject"].startswith(REGISTRATION_SUBJECTS):
                continue  # the announcement of the new session, which every member of the community gets
            for to in message["To"]:
                if to["Address"].lower() in by_address:
                    counts[by_address[to["Address"].lower()]] += 1
        return counts if all(counts.values()) else None

    counts = wait_until(everyone_mailed, 120, interval=1, message="a registration email to every member")
    assert sorted(set(counts.values())) == [1], counts
    # Counted once still, now that every email went out (a replayed event would have moved the stats by now).
    final = api.insights.get(f"/v1/communities/{community_id}/stats", headers=op)
    assert stats_match(final), final.text
