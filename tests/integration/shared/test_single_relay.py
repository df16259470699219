"""One active outbox relay per service, on one real PostgreSQL database and the real broker.

Two instances of one service share its database: only the holder of the service's advisory lock publishes, every
event reaches the topic once and in order per key, a commit on either instance wakes the active relay through
PostgreSQL's NOTIFY, and the standby takes over when the holder goes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData

from cercle_shared.contracts import registration as r
from cercle_shared.contracts.topics import MEMBERS
from cercle_shared.db import make_engine, make_session_factory, messaging_tables
from cercle_shared.domain import Aggregate
from cercle_shared.messaging import Messaging, Outbox
from cercle_shared.settings import ServiceSettings
from cercle_shared.uow import PublishingUnitOfWork, UnitOfWork
from devtools.wait import wait_until_async
from tests.support.kafka_reader import TopicReader

pytestmark = pytest.mark.integration


class Instance:
    """One instance of a service: its own engine, outbox writer and messaging, on the shared database."""

    def __init__(self, service: str, pg_url: str, bootstrap: str, *, poll: float = 0.05) -> None:
        metadata = MetaData()
        self.tables = messaging_tables(metadata)
        self.engine = make_engine(pg_url)
        metadata.create_all(self.engine)
        self.db_factory = make_session_factory(self.engine)
        self.outbox = Outbox(self.tables, source=f"/cercle/{service}")
        settings = ServiceSettings(
            database_url=pg_url,
            kafka_bootstrap=bootstrap,
            jwt_secret="x" * 40,
            http_port=1,
            relay_poll_interval=poll,
            relay_lease_retry=0.2,
            relay_batch_size=50,
        )
        self.messaging = Messaging(
            service=service,
            settings=settings,
            db_factory=self.db_factory,
            tables=self.tables,
            outbox=self.outbox,
            uow_factory=lambda: UnitOfWork(self.db_factory),
        )

    @property
    def relay(self):
        return self.messaging.relay

    async def start(self) -> None:
        await self.messaging.start()
        await asyncio.wait_for(self.messaging.connected.wait(), 60)

    async def stop(self) -> None:
        await self.messaging.stop()
        self.engine.dispose()


def _event(prefix: str, key: int, n: int) -> r.MemberProfileUpdated:
    """The n-th change of member `key`: its order is in its expertise tag."""
    return r.MemberProfileUpdated(
        member_id=f"{prefix}-{key}", language="fr", expertise=[str(n)], updated_at=datetime.now(UTC)
    )


def _mine(records, prefix: str):
    return [p for p in records if p.key and p.key.startswith(f"{prefix}-")]


def _check_once_and_in_order(records, prefix: str, keys: int, per_key: int) -> None:
    mine = _mine(records, prefix)
    ids = [p.envelope.id for p in mine]
    assert len(ids) == len(set(ids)) == keys * per_key, "every event once"
    versions: dict[str, list[int]] = defaultdict(list)
    for p in mine:
        versions[p.key].append(int(p.envelope.data["expertise"][0]))
    assert all(v == list(range(1, per_key + 1)) for v in versions.values()), "in order per key"


async def test_of_two_instances_only_the_lock_holder_publishes_every_event_once_in_order_per_key(kafka, pg_url):
    service = f"relay{uuid.uuid4().hex[:6]}"
    prefix = uuid.uuid4().hex[:8]
    first, second = Instance(service, pg_url, kafka.bootstrap), Instance(service, pg_url, kafka.bootstrap)
    await first.start()
    await second.start()
    try:
        await wait_until_async(lambda: first.relay.active or second.relay.active, 60, message="one relay active")
        assert [first.relay.active, second.relay.active].count(True) == 1
        assert {first.relay.lease.state, second.relay.lease.state} == {"active", "standby"}

        keys, per_key = 10, 30
        for n in range(1, per_key + 1):  # both instances write, interleaved, as two API processes would
            writer = first if n % 2 else second
            with writer.db_factory.begin() as db:
                writer.outbox.add_many(db, [_event(prefix, key, n) for key in range(keys)])
            writer.outbox.committed()

        reader = TopicReader(kafka.bootstrap, MEMBERS.name)
        await asyncio.to_thread(
            reader.wait_for, lambda rs: len(_mine(rs, prefix)) >= keys * per_key, 60, message="every event"
        )
        # Once the outbox (shared by both instances) holds nothing unsent, every publication was acknowledged: read
        # to the end, the topic shows anything published twice (a second later proved nothing).
        await wait_until_async(lambda: first.relay.pending_count() == 0, 60, message="the outbox drained")
        await asyncio.to_thread(reader.read_to_end)
        _check_once_and_in_order(reader.records, prefix, keys, per_key)
        active, standby = (first, second) if first.relay.active else (second, first)
        assert active.relay.published_total == keys * per_key
        assert standby.relay.published_total == 0
    finally:
        await first.stop()
        await second.stop()


async def test_a_commit_on_another_instance_wakes_the_active_relay_through_postgres_notify(kafka, pg_url):
    """The active relay polls only every five minutes here: only the NOTIFY of the writer's commit can wake it."""
    service = f"relay{uuid.uuid4().hex[:6]}"
    prefix = uuid.uuid4().hex[:8]
    relaying = Instance(service, pg_url, kafka.bootstrap, poll=300)
    await relaying.start()
    writer_engine = make_engine(pg_url)
    try:
        await wait_until_async(lambda: relaying.relay.active, 60, message="the relay active")
        await asyncio.sleep(0.5)  # it found nothing and sleeps for five minutes

        metadata = MetaData()
        tables = messaging_tables(metadata)
        outbox = Outbox(tables, source=f"/cercle/{service}")  # another process's writer: no in-process wake-up

        class Registered(Aggregate):
            pass

        class Uow(PublishingUnitOfWork):
            translate = staticmethod(lambda event: [event])

        with Uow(make_session_factory(writer_engine), outbox) as uow:
            member = Registered()
            member.record(_event(prefix, 1, 1))  # type: ignore[arg-type]
            uow.track(member)
            uow.commit()

        reader = TopicReader(kafka.bootstrap, MEMBERS.name)
        await asyncio.to_thread(
            reader.wait_for, lambda rs: _mine(rs, prefix), 60, message="the event, well before the next poll"
        )
    finally:
        writer_engine.dispose()
        await relaying.stop()


async def test_when_the_holder_goes_the_standby_takes_over_and_publishes_what_is_pending(kafka, pg_url):
    service = f"relay{uuid.uuid4().hex[:6]}"
    prefix = uuid.uuid4().hex[:8]
    first, second = Instance(service, pg_url, kafka.bootstrap), Instance(service, pg_url, kafka.bootstrap)
    await first.start()
    await wait_until_async(lambda: first.relay.active, 60, message="the first relay active")
    await second.start()
    try:
        assert not second.relay.active
        await first.stop()  # its lock connection closes: PostgreSQL releases the lock
        with second.db_factory.begin() as db:
            second.outbox.add_many(db, [_event(prefix, 1, n) for n in range(1, 21)])
        await wait_until_async(lambda: second.relay.active, 60, message="the standby took over")
        reader = TopicReader(kafka.bootstrap, MEMBERS.name)
        await asyncio.to_thread(
            reader.wait_for, lambda rs: len(_mine(rs, prefix)) >= 20, 60, message="the pending events"
        )
        _check_once_and_in_order(reader.records, prefix, 1, 20)
    finally:
        await second.stop()
