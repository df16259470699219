"""Sign-in on real PostgreSQL and the real broker: the link's record on its internal topic (and nowhere a partner
reads), one use of a code under concurrency, rotation and reuse under concurrency, limits that hold across
instances, erasure signs out."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from cercle_shared.auth import decode_token
from cercle_shared.contracts import topics
from cercle_shared.contracts.base import Visibility
from cercle_shared.db.migrations import upgrade
from tests.support.harness import ServiceHarness
from tests.support.kafka_reader import TopicReader
from tests.support.services import JWT_SECRET, SERVICES, auth, running_service

pytestmark = pytest.mark.integration

OPERATOR = auth("operator")
CROWD = 10
LINK_TYPE = "org.cercle.registration.member.sign_in_link_requested.v1"


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def member(api, email: str = "marie@example.org", **extra) -> dict:
    body = {"display_name": "Marie Tremblay", "email": email, "region": "06", "consents": {"processing": True}}
    return ok(api.post("/v1/members", json={**body, **extra}, headers=OPERATOR), 201)


def all_at_once(call: Callable[[int], object], crowd: int = CROWD) -> list:
    barrier = threading.Barrier(crowd)

    def one(n: int):
        barrier.wait()
        return call(n)

    with ThreadPoolExecutor(crowd) as pool:
        return list(pool.map(one, range(crowd)))


def test_the_link_reaches_its_internal_topic_only_and_its_code_signs_in(kafka, pg_url):
    partner_topics = [t.name for t in topics.DOMAIN_TOPICS if t.visibility is Visibility.PARTNER]
    with (
        running_service("registration", pg_url, kafka.bootstrap) as api,
        TopicReader(kafka.bootstrap, topics.SIGN_IN_LINKS.name, *partner_topics) as reader,
    ):
        marie = member(api, language="en")
        ok(api.post("/v1/auth/links", json={"email": "marie@example.org"}), 202)
        ok(api.post("/v1/auth/links", json={"email": "nobody@example.org"}), 202)
        # the broker is shared with earlier tests, which may have asked for links too: only this member's counts
        [link] = reader.wait_for(
            lambda records: [r for r in records if r.type == LINK_TYPE and r.key == marie["id"]],
            timeout=60,
            message="the sign-in link's record",
        )
        assert link.topic == "cercle.registration.sign-in-links"
        assert link.key == marie["id"]
        data = link.envelope.data
        assert data["member_id"] == marie["id"]
        assert data["language"] == "en"
        assert data["link"].endswith(data["code"])
        # the member's profile event is on a partner-visible topic by now; the secret and the email are not
        reader.wait_for(
            lambda records: any(r.topic == topics.MEMBERS.name and r.key == marie["id"] for r in records),
            timeout=60,
            message="her member event (the topic holds other tests' too)",
        )
        for record in reader.records:
            if record.topic != topics.SIGN_IN_LINKS.name:
                assert data["code"].encode() not in (record.value or b"")
                assert b"marie@example.org" not in (record.value or b"")
        # Those topics are read as far as their partitions were by now; the relay publishes only what the outbox
        # holds, and every row behind the link is there already: none for a partner-visible topic holds a secret.
        engine = create_engine(pg_url)
        try:
            with engine.connect() as db:
                rows = db.execute(text("select topic, value from outbox")).all()
        finally:
            engine.dispose()
        assert any(topic == topics.SIGN_IN_LINKS.name for topic, _ in rows)
        leaked = [
            topic
            for topic, value in rows
            if topic in partner_topics and value and (data["code"] in value or "marie@example.org" in value)
        ]
        assert leaked == []
        tokens = ok(api.post("/v1/auth/token", json={"code": data["code"]}))
        assert decode_token(JWT_SECRET, tokens["access_token"]).member_id == marie["id"]
        assert (
            ok(api.get("/v1/members/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))["id"]
            == (marie["id"])
        )


@pytest.fixture
def database(new_database) -> str:
    url = new_database("registration")
    upgrade(SERVICES["registration"].bootstrap().MIGRATIONS, url)
    return url


@pytest.fixture
def instances(database) -> Iterator[Callable[..., ServiceHarness]]:
    """Instances of registration on one PostgreSQL database, as two processes would be (no broker: the outbox is
    only written)."""
    made: list[ServiceHarness] = []

    def make(**settings) -> ServiceHarness:
        made.append(ServiceHarness("registration", database, settings_overrides=settings))
        if len(made) > 1:
            made[-1].clock = made[0].clock  # one time for all
            made[-1].app.state.clock = made[0].clock
        return made[-1]

    yield make
    for h in made:
        h.runtime.engine.dispose()


def codes(h: ServiceHarness) -> list[str]:
    return [row["data"]["code"] for row in h.published("member.sign_in_link_requested")]


def signed_in(h: ServiceHarness) -> dict:
    ok(h.api.post("/v1/auth/links", json={"email": "marie@example.org"}), 202)
    return ok(h.api.post("/v1/auth/token", json={"code": codes(h)[-1]}))


def test_ten_concurrent_uses_of_one_code_sign_in_once(instances):
    h = instances()
    member(h.api)
    ok(h.api.post("/v1/auth/links", json={"email": "marie@example.org"}), 202)
    code = codes(h)[-1]
    answers = all_at_once(lambda _: h.api.post("/v1/auth/token", json={"code": code}).status_code)
    assert Counter(answers) == {200: 1, 400: CROWD - 1}
    with create_engine(h.database_url).connect() as c:
        assert c.execute(text("select count(*) from refresh_tokens")).scalar_one() == 1


def test_concurrent_refreshes_with_one_token_let_at_most_one_through_and_revoke_the_sign_in(instances):
    h = instances()
    member(h.api)
    first = signed_in(h)
    answers = all_at_once(
        lambda _: h.api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code
    )
    counts = Counter(answers)
    assert counts[200] <= 1
    assert counts[400] == CROWD - counts[200]
    # whichever came second saw a spent token: the whole family is revoked, the winner's new token included
    with create_engine(h.database_url).connect() as c:
        states = c.execute(text("select state from refresh_tokens")).scalars().all()
    assert set(states) == {"revoked"}
    assert len(states) == 1 + counts[200]


def test_rotation_and_reuse_detection_across_two_instances(instances):
    one, two = instances(), instances()
    member(one.api)
    first = signed_in(one)
    second = ok(two.api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    third = ok(one.api.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}))
    assert two.api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 400
    assert one.api.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 400


def test_the_limit_per_email_holds_across_instances_and_under_a_burst(instances):
    one, two = instances(), instances()
    member(one.api)
    burst = all_at_once(
        lambda n: (one if n % 2 else two).api.post("/v1/auth/links", json={"email": "marie@example.org"}).status_code,
        crowd=12,
    )
    assert Counter(burst) == {202: 5, 429: 7}
    assert len(codes(one)) == 5
    one.advance(minutes=15)
    assert two.api.post("/v1/auth/links", json={"email": "marie@example.org"}).status_code == 202


def test_the_limit_per_client_address_holds_across_instances(instances):
    one, two = instances(sign_in_tokens_per_address=3), instances(sign_in_tokens_per_address=3)
    answers = [(one, two)[n % 2].api.post("/v1/auth/token", json={"code": "Z" * 43}) for n in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].headers["retry-after"] == "900"


def test_erasure_revokes_every_token_and_pending_code(instances):
    h = instances()
    marie = member(h.api)
    tokens = signed_in(h)
    ok(h.api.post("/v1/auth/links", json={"email": "marie@example.org"}), 202)
    pending = codes(h)[-1]
    ok(h.api.delete(f"/v1/members/{marie['id']}", headers=OPERATOR), 204)
    assert h.api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 400
    assert h.api.post("/v1/auth/token", json={"code": pending}).status_code == 400
    with create_engine(h.database_url).connect() as c:
        assert c.execute(text("select count(*) from refresh_tokens")).scalar_one() == 0
        assert c.execute(text("select count(*) from sign_in_codes")).scalar_one() == 0


def test_known_and_unknown_emails_are_answered_in_similar_time(instances):
    """Over real HTTP on loopback (uvicorn, PostgreSQL): prints the medians, no timed assertion. The answer leaves
    once the request is counted; whether the address is a member's is looked up afterwards."""
    h = instances()
    member(h.api)
    server = uvicorn.Server(uvicorn.Config(h.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        samples: dict[str, list[float]] = {"known": [], "unknown": []}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for i in range(30):
                pair = [("known", "marie@example.org"), ("unknown", f"nobody{i}@example.org")]
                for kind, email in pair if i % 2 else pair[::-1]:  # each first half the time
                    h.advance(minutes=16)  # out of the per-email window
                    start = time.perf_counter()
                    assert client.post("/v1/auth/links", json={"email": email}).status_code == 202
                    samples[kind].append(time.perf_counter() - start)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(codes(h)) == 30
    medians = {kind: statistics.median(values) * 1000 for kind, values in samples.items()}
    print(
        f"\nPOST /v1/auth/links over HTTP, PostgreSQL, median: known {medians['known']:.2f} ms, "
        f"unknown {medians['unknown']:.2f} ms"
    )
