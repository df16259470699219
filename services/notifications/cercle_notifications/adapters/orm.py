"""Tables of the notifications database, mapped onto the domain classes (the domain imports none of this)."""

from __future__ import annotations

import functools

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import registry

from cercle_shared.db import StrEnumType, UtcDateTime, messaging_tables
from cercle_shared.privacy import erased_members_table

from ..domain.model import (
    Community,
    Contact,
    Delivery,
    DeliveryStatus,
    EmailKind,
    Membership,
    MembershipRole,
    Preferences,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    SkipReason,
)

metadata = MetaData()
messaging = messaging_tables(metadata)
erased_members = erased_members_table(metadata)

contacts = Table(
    "contacts",
    metadata,
    Column("member_id", String(36), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("consents", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("location", String(1000), nullable=True),
    Column("cancelled", Boolean, nullable=False),
    Column("sequence", Integer, nullable=False, server_default="0"),
)

registrations = Table(
    "registrations",
    metadata,
    Column("registration_id", String(36), primary_key=True),
    Column("session_id", String(36), nullable=False),
    Column("member_id", String(36), nullable=False),
    Column("status", StrEnumType(RegistrationStatus, 20), nullable=False),
    Index("ix_registrations_session", "session_id", "status"),
    Index("ix_registrations_member", "member_id"),
)

communities = Table(
    "communities",
    metadata,
    Column("community_id", String(36), primary_key=True),
    Column("name_fr", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("regions", JSON, nullable=False, server_default="[]"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("membership_id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False),
    Column("member_id", String(36), nullable=False),
    Column("role", StrEnumType(MembershipRole, 20), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_memberships_community", "community_id", "role"),
    Index("ix_memberships_member", "member_id"),
)

preferences = Table(
    "preferences",
    metadata,
    Column("member_id", String(36), primary_key=True),
    Column("language", String(2), nullable=True),
    Column("opt_out", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("stopped", JSON, nullable=False, server_default="[]"),
    Column("digest_day", String(9), nullable=False, server_default="monday"),
)

# What the weekly digest tells: summaries published and resources shared, per community (one row per subject).
news_items = Table(
    "news_items",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("subject_id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False),
    Column("title", String(300), nullable=True),
    Column("published_at", UtcDateTime(), nullable=False),
    Index("ix_news_items_community", "community_id", "published_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source_event_id", String(200), nullable=False),
    Column("kind", StrEnumType(EmailKind, 60), nullable=False),
    Column("member_id", String(36), nullable=True),  # null once the member is erased
    Column("session_id", String(36), nullable=True),
    Column("details", JSON, nullable=False),
    Column("status", StrEnumType(DeliveryStatus, 20), nullable=False),
    Column("reason", StrEnumType(SkipReason, 40), nullable=True),
    Column("language", String(2), nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("anonymized", Boolean, nullable=False),
    # One email per event, kind and member, however often the event is delivered.
    UniqueConstraint("source_event_id", "kind", "member_id", name="uq_deliveries_source_kind_member"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_member", "member_id"),
    Index("ix_deliveries_created", "created_at", "id"),
)

mapper_registry = registry()


@functools.cache  # mapping a class twice is an error; every composition root calls this
def start_mappers() -> None:
    mapper_registry.map_imperatively(Contact, contacts)
    mapper_registry.map_imperatively(ScheduledSession, sessions)
    mapper_registry.map_imperatively(Registration, registrations)
    mapper_registry.map_imperatively(Community, communities)
    mapper_registry.map_imperatively(Preferences, preferences, version_id_col=preferences.c.version)
    mapper_registry.map_imperatively(Delivery, deliveries)
    mapper_registry.map_imperatively(Membership, memberships)
    timed_orm.start_mappers(mapper_registry)


from . import timed_orm  # noqa: E402  (its tables belong to this metadata; imported last, as it imports this module)
