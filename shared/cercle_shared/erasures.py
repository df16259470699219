"""Erasures survive a restore: a service's database restored from a backup is shown again every MemberErased event
(read by the operator's tools from the members topic, which keeps them forever) and re-applies each through its
own consumer path, before it serves anything.

The events travel as JSON lines, one Kafka record each (topic, partition, offset, key, value, headers), so that a
service sees the very records it would have consumed: the same event ids (its processed ids skip what its restored
database had already applied), the same reactions. A service needs no Kafka access for it.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .contracts import CATALOG
from .contracts import registration as reg
from .contracts.topics import MEMBERS
from .messaging import Envelope, IdempotentConsumer, InvalidMessage, Record, Subscriptions

if TYPE_CHECKING:
    from .cli import ExtraCommand
    from .service import ServiceRuntime
    from .settings import ServiceSettings

log = logging.getLogger(__name__)

TOPIC = MEMBERS.name
EVENT_TYPE = CATALOG.for_event(reg.MemberErased).type
COMMAND = "reapply-erasures"
BATCH = 200  # erasures applied in one transaction (a savepoint each only when one fails)


def is_erasure(headers: Iterable[tuple[str, bytes | None]]) -> bool:
    """Whether a record's headers name a MemberErased event (the value is read only for those)."""
    return any(name.lower() == "ce_type" and value == EVENT_TYPE.encode() for name, value in headers)


def to_line(record: Record) -> str:
    """One record as a JSON line (key, value and headers as text: a Cercle event is UTF-8 throughout)."""
    return json.dumps(
        {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": None if record.key is None else record.key.decode(),
            "value": None if record.value is None else record.value.decode(),
            "headers": {name: None if value is None else value.decode() for name, value in record.headers.items()},
        },
        ensure_ascii=False,
    )


def from_lines(lines: Iterable[str]) -> list[Record]:
    """The records of a file of JSON lines (blank lines skipped); ValueError naming the line at fault."""
    records: list[Record] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            records.append(
                Record(
                    topic=str(item["topic"]),
                    partition=int(item["partition"]),
                    offset=int(item["offset"]),
                    key=None if item["key"] is None else str(item["key"]).encode(),
                    value=None if item["value"] is None else str(item["value"]).encode(),
                    headers={
                        str(name): None if value is None else str(value).encode()
                        for name, value in dict(item["headers"]).items()
                    },
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"line {number}: not a record of `{COMMAND}` ({type(exc).__name__}: {exc})") from exc
    return records


def only_erasures(subscriptions: Subscriptions | None) -> Subscriptions:
    """The service's own reaction to MemberErased, and nothing else it subscribes to."""
    handler = subscriptions.handler_for(EVENT_TYPE) if subscriptions is not None else None
    if handler is None:
        raise ValueError("this service has no reaction to MemberErased")
    return Subscriptions().on(reg.MemberErased, handler)


@dataclass(frozen=True)
class Reapplied:
    events: int  # MemberErased events read
    applied: int  # of which the database had no record (the others were skipped by their id)
    skipped: int = 0  # records that are not a valid MemberErased (never applied by anyone)


def reapply(
    runtime: ServiceRuntime, records: Iterable[Record], subscriptions: Subscriptions | None = None
) -> Reapplied:
    """Apply every MemberErased record through the consumer path of `runtime` (its consumer's name, so that its
    processed ids count), `BATCH` a transaction; records of other types are skipped. `subscriptions`: the reaction
    (default: the service's own, from its consumer's subscriptions). Raises what a failing reaction raises: the
    batches before it are committed, and a second run picks up where it stopped."""
    reaction = only_erasures(subscriptions if subscriptions is not None else runtime.messaging.subscriptions)
    consumer = IdempotentConsumer(
        name=runtime.name,
        uow_factory=runtime.uow,
        tables=runtime.tables,
        subscriptions=reaction,
        dead_letter_topic="",
        publish_dead_letter=_no_dead_letters,
    )
    processed = runtime.tables.processed_events
    erasures: list[Record] = []
    skipped = 0
    for record in records:
        if record.topic != TOPIC or not is_erasure(record.headers.items()):
            continue
        try:
            Envelope.from_kafka(record.key, record.value, record.headers).payload()
        except InvalidMessage as exc:
            # The running services dead-lettered it when it came; it erased nobody.
            log.warning("%s: skipped %s/%s: %s", COMMAND, record.partition, record.offset, exc)
            skipped += 1
            continue
        erasures.append(record)
    applied = 0
    for chunk in _chunks(erasures, BATCH):
        ids = {_event_id(r) for r in chunk}
        with runtime.db_factory() as db:
            known = set(
                db.scalars(
                    select(processed.c.event_id).where(
                        processed.c.consumer == runtime.name, processed.c.event_id.in_(ids)
                    )
                )
            )
        consumer.apply_batch_now(chunk)
        applied += len(ids - known)
    return Reapplied(events=len(erasures), applied=applied, skipped=skipped)


async def _no_dead_letters(topic: str, key: bytes | None, value: bytes | None, headers: dict[str, str]) -> None:
    raise RuntimeError("a re-application never dead-letters: a failing erasure stops it")  # apply_batch_now raises


def _event_id(record: Record) -> str:
    for name, value in record.headers.items():
        if name.lower() == "ce_id" and value is not None:
            return value.decode()
    return ""


def _chunks(records: list[Record], size: int) -> Iterator[list[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def command(
    settings_cls: Callable[[], ServiceSettings],
    build_runtime: Callable[[Any], ServiceRuntime],
    subscriptions: Callable[[], Subscriptions] | None = None,
) -> ExtraCommand:
    """`cercle-<service> reapply-erasures FILE`: what `cercle-ops restore` runs in the restored service's image after
    pg_restore and before the service starts. `subscriptions`: the reaction, for a service that consumes no
    MemberErased while it runs (registration, which erases the member again)."""
    from .cli import ExtraCommand

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "file", type=Path, help="MemberErased records as JSON lines (cercle-ops restore writes it)."
        )

    def run(args: argparse.Namespace) -> int:
        settings = settings_cls()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            records = from_lines(args.file.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"cannot read {args.file}: {exc}")
            return 2
        runtime = build_runtime(settings)
        try:
            done = reapply(runtime, records, subscriptions() if subscriptions else None)
        finally:
            runtime.engine.dispose()
        skipped = f"; {done.skipped} invalid records skipped" if done.skipped else ""
        print(
            f"{runtime.name}: {done.events} erasures read; {done.applied} not recorded in this database, applied now"
            f"{skipped}"
        )
        return 0

    return ExtraCommand(
        name=COMMAND,
        help="Apply again every erasure of FILE to a database restored from a backup (cercle-ops restore runs it).",
        description="Read MemberErased records (JSON lines, as cercle-ops restore writes them from the members topic) "
        "and apply each through this service's own reaction, skipping those the database had applied already; then "
        "exit. Run it after restoring the database and before starting the service.",
        configure=configure,
        run=run,
    )
