"""Tables of partner subscriptions (grants, endpoints, the partner-visible event store, messages, attempts,
notices), on the same metadata as adapters/orm.py, mapped onto domain/partners.py."""

from __future__ import annotations

import functools

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from cercle_shared.db import StrEnumType, UtcDateTime

from ..domain.partners import (
    Attempt,
    AttemptOutcome,
    CommunityRegions,
    Endpoint,
    Grant,
    Message,
    MessageStatus,
    PartnerEvent,
    PartnerNotice,
)
from .orm import mapper_registry, metadata

partner_grants = Table(
    "partner_grants",
    metadata,
    Column("organization_id", String(200), primary_key=True),
    Column("event_types", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("communities", JSON, nullable=False),
    Column("contact_email", String(320), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

partner_endpoints = Table(
    "partner_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("communities", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(200), nullable=True),
    # Sealed (AES-GCM with the service's key): a database dump alone cannot sign for a partner.
    Column("sealed_secret", String(500), nullable=False),
    Column("previous_sealed_secret", String(500), nullable=True),
    Column("previous_secret_expires_at", UtcDateTime(), nullable=True),
    Column("failing_since", UtcDateTime(), nullable=True),
    Column("last_failure_email_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_partner_endpoints_organization", "organization_id", "created_at"),
)

partner_events = Table(
    "partner_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("time", UtcDateTime(), nullable=False),
    Column("regions", JSON, nullable=False),
    Column("community_id", String(200), nullable=True),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

partner_messages = Table(
    "partner_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("endpoint_id", String(36), nullable=False),
    Column("organization_id", String(200), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("status", StrEnumType(MessageStatus, 20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("claim", String(36), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # One message per event and endpoint, however often the event is delivered to this service.
    UniqueConstraint("endpoint_id", "event_id", name="uq_partner_messages_endpoint_event"),
    Index("ix_partner_messages_due", "status", "next_attempt_at"),
    Index("ix_partner_messages_endpoint", "endpoint_id", "created_at", "id"),
)

partner_attempts = Table(
    "partner_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("message_id", String(36), nullable=False),
    Column("endpoint_id", String(36), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("outcome", StrEnumType(AttemptOutcome, 20), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("url", String(300), nullable=False),
    Index("ix_partner_attempts_message", "message_id", "attempted_at", "id"),
    Index("ix_partner_attempts_endpoint", "endpoint_id", "attempted_at"),
)

partner_notices = Table(
    "partner_notices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Index("ix_partner_notices_unsent", "sent_at", "created_at"),
)

partner_community_regions = Table(
    "partner_community_regions",
    metadata,
    Column("community_id", String(200), primary_key=True),
    Column("regions", JSON, nullable=False),
    Column("province_wide", Boolean, nullable=False),
)


@functools.cache
def start_mappers() -> None:
    mapper_registry.map_imperatively(Grant, partner_grants)
    mapper_registry.map_imperatively(Endpoint, partner_endpoints)
    mapper_registry.map_imperatively(PartnerEvent, partner_events)
    mapper_registry.map_imperatively(Message, partner_messages)
    mapper_registry.map_imperatively(Attempt, partner_attempts)
    mapper_registry.map_imperatively(PartnerNotice, partner_notices)
    mapper_registry.map_imperatively(CommunityRegions, partner_community_regions)
