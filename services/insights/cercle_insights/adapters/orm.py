"""Tables of the insights database (read models), mapped onto the domain classes."""

from __future__ import annotations

import functools

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table
from sqlalchemy.orm import registry

from cercle_shared.db import StrEnumType, UtcDateTime, messaging_tables
from cercle_shared.privacy import erased_members_table

from ..domain.model import (
    Community,
    CommunityKind,
    CommunitySession,
    CommunityStatus,
    Membership,
    MembershipRole,
    RegistrationStatus,
    SessionMode,
    SessionRegistration,
    SessionStatus,
)

metadata = MetaData()
messaging = messaging_tables(metadata)

communities = Table(
    "communities",
    metadata,
    Column("id", String(64), primary_key=True),
    # Null while a placeholder: another event named the community before its creation arrived.
    Column("name_fr", String(200), nullable=True),
    Column("name_en", String(200), nullable=True),
    Column("kind", StrEnumType(CommunityKind, 40), nullable=True),
    Column("domain", String(100), nullable=True),
    Column("regions", JSON, nullable=False),
    Column("province_wide", Boolean, nullable=False),
    Column("status", StrEnumType(CommunityStatus, 10), nullable=True),
    Column("created_at", UtcDateTime(), nullable=True),
    Index("ix_communities_name", "name_fr", "id"),
)

# The community's regions again, one row each, so that region queries stay plain SQL on every backend.
community_regions = Table(
    "community_regions",
    metadata,
    Column("community_id", String(64), ForeignKey("communities.id"), primary_key=True),
    Column("region", String(2), primary_key=True),
    Index("ix_community_regions_region", "region"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(64), ForeignKey("communities.id"), nullable=False),
    Column("member_id", String(64), nullable=True),  # null once erased
    Column("role", StrEnumType(MembershipRole, 20), nullable=True),
    Column("joined_at", UtcDateTime(), nullable=True),
    Column("left_at", UtcDateTime(), nullable=True),
    Index("ix_memberships_community", "community_id"),
    Index("ix_memberships_member", "member_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(64), ForeignKey("communities.id"), nullable=False),
    Column("status", StrEnumType(SessionStatus, 10), nullable=True),
    Column("starts_at", UtcDateTime(), nullable=True),
    Column("ends_at", UtcDateTime(), nullable=True),
    Column("mode", StrEnumType(SessionMode, 10), nullable=True),
    Column("capacity", Integer, nullable=True),
    Column("present", Integer, nullable=True),
    Column("absent", Integer, nullable=True),
    Index("ix_sessions_community", "community_id"),
)

session_registrations = Table(
    "session_registrations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("community_id", String(64), ForeignKey("communities.id"), nullable=False),
    Column("member_id", String(64), nullable=True),  # null once erased
    Column("status", StrEnumType(RegistrationStatus, 10), nullable=False),
    Index("ix_session_registrations_community", "community_id", "status"),
    Index("ix_session_registrations_member", "member_id"),
)

erased_members = erased_members_table(metadata)

mapper_registry = registry()


@functools.cache  # mapping a class twice is an error; every composition root calls this
def start_mappers() -> None:
    mapper_registry.map_imperatively(Community, communities)
    mapper_registry.map_imperatively(Membership, memberships)
    mapper_registry.map_imperatively(CommunitySession, sessions)
    mapper_registry.map_imperatively(SessionRegistration, session_registrations)
    for feature in _FEATURES:
        feature.start_mappers()


# Each feature's tables live in its own module, on this metadata; imported here so that every table is known.
from . import action_plan_orm, health_orm, survey_orm  # noqa: E402

_FEATURES = (survey_orm, action_plan_orm, health_orm)
