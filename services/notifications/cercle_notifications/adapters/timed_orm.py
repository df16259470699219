"""Tables of timed messages and of communities' reminder settings, on the notifications metadata (adapters/orm.py)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import registry

from cercle_shared.db import StrEnumType, UtcDateTime

from ..domain.timed import CommunityReminders, TimedMessage, TimedSkipReason, TimedStatus
from .orm import metadata

timed_messages = Table(
    "timed_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("offset", String(20), nullable=False),
    Column("session_id", String(36), nullable=True),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("not_after", UtcDateTime(), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", StrEnumType(TimedStatus, 20), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("reason", StrEnumType(TimedSkipReason, 20), nullable=True),
    Column("cancelled_reason", Text, nullable=True),
    Column("delivery_id", String(36), nullable=True),
    Column("handled_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # One message per member, subject, kind and offset, however often it is planned.
    UniqueConstraint("member_id", "subject", "kind", "offset", name="uq_timed_messages_key"),
    Index("ix_timed_messages_due", "status", "due_at"),
    Index("ix_timed_messages_subject", "subject", "kind"),
)

community_reminders = Table(
    "community_reminders",
    metadata,
    Column("community_id", String(36), primary_key=True),
    Column("offsets", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=True),
)


def start_mappers(mapper_registry: registry) -> None:
    """Called once, by orm.start_mappers."""
    mapper_registry.map_imperatively(TimedMessage, timed_messages)
    mapper_registry.map_imperatively(CommunityReminders, community_reminders)
