"""`cercle-insights rebuild`: empty the projections and replay every topic insights reads, from the beginning up to
the end offsets seen at the start, through the consumer's own batch path (the same reactions, one transaction per
fetched batch, a savepoint per event). Run it with the insights service stopped: it refuses while a consumer of
insights' group is connected, and while another rebuild holds its lock.

What is kept: the tables insights owns (`info={"owned": True}`: surveys, answers, invitations, action plans, alert
state), the outbox, and other consumers' processed ids. A reaction that publishes is idempotent on its own keys (an
invitation already sent is a row insights kept), so a rebuild sends nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Table, delete, text

from cercle_shared.messaging import IdempotentConsumer, Record
from cercle_shared.messaging.security import aiokafka_config, kafka_python_config
from cercle_shared.messaging.undecodable import as_record, drain_leniently
from cercle_shared.service import ServiceRuntime

from ..config import Settings

log = logging.getLogger(__name__)

LOCK_KEY = 0x43524C494E534942  # pg_advisory_lock key of the rebuild ("CRLINSIB")
BATCH = 500


class RebuildRefused(RuntimeError):
    """The rebuild cannot run now (the service is running, or another rebuild is)."""


@dataclass
class RebuildReport:
    records: int = 0
    skipped: int = 0  # records a running service would have dead-lettered (not Cercle events, or failing)
    tables: tuple[str, ...] = ()
    seconds: float = 0.0


def projection_tables(runtime: ServiceRuntime) -> list[Table]:
    """Every table a rebuild empties: not owned, not the messaging tables; children before parents."""
    metadata = runtime.tables.outbox.metadata
    messaging = {runtime.tables.outbox.name, runtime.tables.processed_events.name}
    tables = [t for t in metadata.sorted_tables if t.name not in messaging and not t.info.get("owned")]
    return list(reversed(tables))


def group_members(settings: Settings, group: str) -> int:
    """How many consumers are connected to the service's consumer group right now."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import CoordinatorNotAvailableError

    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="cercle-insights-rebuild", **kafka_python_config(settings)
    )
    try:
        for attempt in range(30):
            try:
                described = admin.describe_groups([group]).get(group) or {}
                break
            except CoordinatorNotAvailableError:  # a broker that never hosted a group creates its offsets topic
                if attempt == 29:
                    raise RebuildRefused(
                        f"cannot tell whether insights is running: no coordinator for {group}"
                    ) from None
                time.sleep(1)
    finally:
        admin.close()
    return len(described.get("members") or ())  # a group nobody ever joined (or an empty one) has none


@contextmanager
def exclusive(runtime: ServiceRuntime) -> Iterator[None]:
    """Hold the rebuild's advisory lock (PostgreSQL) for the rebuild's duration; refuse if another holds it."""
    if runtime.engine.dialect.name != "postgresql":
        yield  # SQLite: one process per database file anyway (the local default)
        return
    # A connection of its own, checked out until the end: the session-level lock lives as long as it does.
    with runtime.engine.connect() as connection:
        if not connection.scalar(text("select pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
            raise RebuildRefused("another rebuild of insights is running")
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("select pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            connection.commit()


def empty_projections(runtime: ServiceRuntime, consumer_name: str) -> list[str]:
    tables = projection_tables(runtime)
    processed = runtime.tables.processed_events
    with runtime.db_factory.begin() as db:
        if db.get_bind().dialect.name == "postgresql" and tables:
            # One statement, no CASCADE: an owned table that referenced a projection would make it fail, not empty it.
            db.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)))
        else:
            for table in tables:
                db.execute(delete(table))
        db.execute(delete(processed).where(processed.c.consumer == consumer_name))
    return [t.name for t in tables]


async def replay(
    settings: Settings,
    consumer: IdempotentConsumer,
    topics: list[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Read `topics` from the beginning to the end offsets of now, applying each fetched batch; returns the count."""
    kafka = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        # "earliest" too: assign() starts the fetcher's own offset reset, which could otherwise land on the end
        # after the seek below and make the replay read nothing.
        auto_offset_reset="earliest",
        client_id="cercle-insights-rebuild",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        **aiokafka_config(settings),
    )
    await kafka.start()
    try:
        # The cluster's metadata (the consumer's own view only covers topics it subscribed to, and it has none).
        cluster = await kafka._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        kafka.assign(partitions)
        beginning = await kafka.beginning_offsets(partitions)
        end = await kafka.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > beginning[tp]}
        total = sum(end[tp] - beginning[tp] for tp in partitions)
        log.info("rebuild: %d records to read from %d partitions of %d topics", total, len(partitions), len(topics))
        if progress is not None:
            progress(0, total)
        for tp in partitions:
            kafka.seek(tp, beginning[tp])  # an explicit position, not a reset request racing the fetcher's
        done = 0
        for tp in set(partitions) - remaining:
            kafka.pause(tp)
        while remaining:
            # A partition the client cannot unpack (a hostile header name) is read leniently: skipped and counted.
            fetched = await drain_leniently(kafka, remaining, limit=BATCH)
            records: list[Record] = []
            for tp, batch in fetched.items():
                for record in batch:
                    if record.offset < end[tp]:
                        records.append(as_record(record))
                if await kafka.position(tp) >= end[tp]:
                    remaining.discard(tp)
                    kafka.pause(tp)
            if records:
                await consumer.handle_batch(records)
                done += len(records)
                if progress is not None:
                    progress(len(records), total)
            else:
                for tp in list(remaining):  # a partition whose last offsets were compacted away or are markers
                    if await kafka.position(tp) >= end[tp]:
                        remaining.discard(tp)
        return done
    finally:
        await kafka.stop()


async def rebuild(
    runtime: ServiceRuntime, settings: Settings, *, show_progress: bool = True, check_group: bool = True
) -> RebuildReport:
    """Empty insights' projections and refill them from the topics; see the module's docstring."""
    service_consumer = runtime.messaging.consumer
    subscriptions = runtime.messaging.subscriptions
    assert service_consumer is not None, "insights consumes events"
    assert subscriptions is not None
    group = settings.consumer_group or f"cercle-{runtime.name}"
    if check_group and (members := await asyncio.to_thread(group_members, settings, group)):
        raise RebuildRefused(
            f"{members} consumer(s) of group {group} are connected: stop the insights service before a rebuild"
        )
    report = RebuildReport()
    skipped: list[int] = []

    async def skip(topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str]) -> None:
        # The service dead-lettered these when they came; a rebuild counts them and goes on.
        skipped.append(1)
        log.warning(
            "rebuild: skipped %s@%s/%s: %s",
            headers.get("dlq_topic"),
            headers.get("dlq_partition"),
            headers.get("dlq_offset"),
            headers.get("dlq_error"),
        )

    consumer = IdempotentConsumer(
        name=service_consumer.name,
        uow_factory=runtime.uow,
        tables=runtime.tables,
        subscriptions=subscriptions,
        dead_letter_topic="",
        publish_dead_letter=skip,
        max_attempts=settings.consumer_max_attempts,
        backoff_initial=settings.consumer_backoff_initial,
        backoff_max=settings.consumer_backoff_max,
    )
    started = time.perf_counter()
    with exclusive(runtime):
        report.tables = tuple(empty_projections(runtime, consumer.name))
        bar = _progress_bar() if show_progress else None
        try:
            report.records = await replay(
                settings, consumer, subscriptions.topics(), progress=bar.update if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
    report.skipped = len(skipped)
    report.seconds = time.perf_counter() - started
    return report


class _Bar:
    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm(total=0, unit="event", desc="rebuild", smoothing=0.1)

    def update(self, count: int, total: int) -> None:
        if self._tqdm.total != total:
            self._tqdm.total = total
            self._tqdm.refresh()
        self._tqdm.update(count)

    def close(self) -> None:
        self._tqdm.close()


def _progress_bar() -> _Bar:
    return _Bar()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="No progress bar (a log line at the end only).")


def run(args: argparse.Namespace, build_runtime: Callable[[Settings], ServiceRuntime]) -> int:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s insights %(levelname)s %(name)s: %(message)s")
    runtime = build_runtime(settings)
    try:
        report = asyncio.run(rebuild(runtime, settings, show_progress=not args.no_progress))
    except RebuildRefused as exc:
        print(f"refused: {exc}")
        return 2
    finally:
        runtime.engine.dispose()
    print(
        f"rebuilt {len(report.tables)} tables from {report.records} records in {report.seconds:.1f}s "
        f"({report.records / max(report.seconds, 1e-9):.0f}/s); skipped {report.skipped}"
    )
    return 0
