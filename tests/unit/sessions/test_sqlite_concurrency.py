"""On SQLite, the local default, concurrent registrations are serialized too: no overbooking, no 500."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support.services import auth


def test_concurrent_registrations_on_sqlite_never_overbook(harness):
    harness.community()
    members = [f"m-{i}" for i in range(8)]
    for m in members:
        harness.join(m)
    session = harness.schedule(capacity=3)
    barrier = threading.Barrier(len(members))

    def register(member_id):
        barrier.wait()
        return harness.api.post(
            f"/v1/sessions/{session['id']}/registrations", json={}, headers=auth("member", member_id=member_id)
        )

    with ThreadPoolExecutor(len(members)) as pool:
        responses = list(pool.map(register, members))
    assert [r.status_code for r in responses] == [201] * len(members), [r.text for r in responses]
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("confirmed") == 3
    assert sorted(r.json()["position"] for r in responses if r.json()["status"] == "waitlisted") == [1, 2, 3, 4, 5]
