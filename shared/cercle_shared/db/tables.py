"""The outbox and inbox tables every service has in its own database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

from .types import UtcDateTime


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed_events: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Define (once per metadata) the outbox and processed-events tables."""
    if "outbox" in metadata.tables:
        return MessagingTables(metadata.tables["outbox"], metadata.tables["processed_events"])
    outbox = Table(
        "outbox",
        metadata,
        # The sequence orders publication, so one aggregate's events reach Kafka in commit order.
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=True),  # null: a tombstone
        Column("value", Text, nullable=True),
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "published_at", "seq"),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("event_type", String(200), nullable=True),
        Column("processed_at", UtcDateTime(), nullable=False),
        # The prune deletes by age every few minutes; without it each run scans the whole table.
        Index("ix_processed_events_processed_at", "processed_at"),
    )
    return MessagingTables(outbox, processed)
