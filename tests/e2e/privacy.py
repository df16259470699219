"""Search a running stack for personal data: every row of every table of a service's database, every record of
every topic (read raw, from the beginning to the end offsets of the moment), and SQLite's own files."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.kafka_reader import lenient_header_names


@dataclass(frozen=True)
class Finding:
    where: str  # "<service>.<table>" or "<topic>/<partition>@<offset>" or a file name
    needle: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.needle!r} in {self.where}: …{self.excerpt}…"


def _excerpt(text: str, needle: str, width: int = 80) -> str:
    at = text.lower().find(needle.lower())
    return text[max(0, at - width) : at + len(needle) + width]


def rows_holding(service: str, database_url: str, needles: Iterable[str]) -> tuple[list[Finding], set[str]]:
    """(findings, names of the tables searched): every row of every table, reflected from the database itself."""
    needles = list(needles)
    engine = create_engine(database_url, poolclass=NullPool)
    findings: list[Finding] = []
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)).mappings():
                    text = repr(dict(row))
                    lowered = text.lower()
                    findings.extend(
                        Finding(f"{service}.{table.name}", n, _excerpt(text, n))
                        for n in needles
                        if n.lower() in lowered
                    )
    finally:
        engine.dispose()
    return findings, set(metadata.tables)


def sqlite_files_holding(database_url: str, needles: Iterable[str]) -> list[Finding]:
    """The database file and its write-ahead log, byte for byte (deleted rows must not linger in free pages)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return []
    path = Path(url.database)
    findings = []
    for file in (path, path.with_name(path.name + "-wal")):
        if not file.exists():
            continue
        content = file.read_bytes().lower()
        for needle in needles:
            if needle.lower().encode() in content:
                findings.append(Finding(file.name, needle, "(raw bytes)"))
    return findings


@dataclass(frozen=True)
class TopicSweep:
    findings: list[Finding]
    topics: set[str]
    records: int


def records_holding(
    bootstrap: str, needles: Iterable[str], *, skip: Iterable[str] = (), timeout: float = 60
) -> TopicSweep:
    """Every record of every topic but those skipped (and Kafka's own), from the beginning to the end offsets
    of now: key, value and every header searched, case-insensitively, as raw bytes."""
    needles = list(needles)
    wanted = [n.lower().encode() for n in needles]
    skipped = set(skip)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"privacy-sweep-{uuid.uuid4().hex[:8]}",
    )
    findings: list[Finding] = []
    count = 0
    try:
        names = {t for t in consumer.topics() if not t.startswith("__") and t not in skipped}
        partitions = [
            TopicPartition(topic, p) for topic in sorted(names) for p in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                late = {f"{tp.topic}/{tp.partition}": (consumer.position(tp), end) for tp, end in ends.items()}
                raise TimeoutError(f"could not read every topic to its end in {timeout}s: {late}")
            with lenient_header_names():  # another test's hostile record must not stop the sweep
                polled = consumer.poll(timeout_ms=500)
            for tp, batch in polled.items():
                for record in batch:
                    if record.offset >= ends[tp]:
                        continue
                    count += 1
                    parts = [record.key or b"", record.value or b""]
                    parts += [name.encode() + b"=" + (value or b"") for name, value in record.headers]
                    blob = b"\n".join(parts)
                    lowered = blob.lower()
                    for needle, raw in zip(needles, wanted, strict=True):
                        if raw in lowered:
                            findings.append(
                                Finding(
                                    f"{tp.topic}/{tp.partition}@{record.offset}",
                                    needle,
                                    _excerpt(blob.decode(errors="replace"), needle),
                                )
                            )
    finally:
        consumer.close()
    return TopicSweep(findings, names, count)
