"""The broker stops while the API takes writes: nothing is lost, the API never blocks."""

import time

import pytest

from cercle_shared.contracts import topics
from cercle_shared.messaging.admin import ensure_topics
from devtools.kafka import LocalKafka
from devtools.wait import wait_until
from tests.support.kafka_reader import TopicReader
from tests.support.services import auth, running_service

pytestmark = pytest.mark.integration


@pytest.fixture
def own_kafka(tmp_path):
    """A broker of this test's own, since the test stops it."""
    with LocalKafka(tmp_path / "kafka") as broker:
        ensure_topics(broker.bootstrap, [topics.MEMBERS, topics.MEMBER_CONTACTS])
        yield broker


def _member(n: int) -> dict:
    return {
        "display_name": f"Membre {n}",
        "email": f"membre{n}@example.org",
        "region": "06",
        "consents": {"processing": True},
    }


def test_events_written_while_the_broker_is_down_are_all_delivered_once_it_is_back(own_kafka, pg_url):
    with running_service("registration", pg_url, own_kafka.bootstrap, send_timeout=1.0) as api:
        first = api.post("/v1/members", json=_member(0), headers=auth()).json()["id"]
        outbox = api.app_state.runtime.messaging.relay
        wait_until(lambda: outbox.pending_count() == 0, 60, message="first event published")

        own_kafka.stop()
        ids, slowest = [], 0.0
        for n in range(1, 8):
            started = time.monotonic()
            response = api.post("/v1/members", json=_member(n), headers=auth())
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 201
            ids.append(response.json()["id"])
        assert slowest < 2.0, f"the API blocked for {slowest:.1f}s while the broker was down"
        assert outbox.pending_count() >= len(ids)  # held in the outbox, not lost

        restart_seconds = own_kafka.restart()
        wait_until(lambda: outbox.pending_count() == 0, 90, message="outbox drained after the broker came back")

    with TopicReader(own_kafka.bootstrap, topics.MEMBERS.name) as reader:
        records = reader.wait_for(
            lambda rs: {first, *ids} <= {r.key for r in rs} and rs, 60, message="every member's event"
        )
    registered = [r for r in records if r.type == "org.cercle.registration.member.registered.v1"]
    assert {r.key for r in registered} >= {first, *ids}
    print(f"broker restart-to-ready: {restart_seconds:.1f}s")
