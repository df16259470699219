"""Tables of the sessions database, mapped onto the domain classes (the domain imports none of this)."""

from __future__ import annotations

import functools

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import registry, relationship

from cercle_shared.db import StrEnumType, UtcDateTime, messaging_tables
from cercle_shared.privacy import erased_members_table

from ..domain.library import CalendarFeed, FeedKind, Resource, ResourceKind, Summary
from ..domain.model import (
    Attendance,
    Community,
    CommunityStatus,
    MemberContact,
    Membership,
    MembershipRole,
    Mode,
    Registration,
    RegistrationStatus,
    Session,
    SessionStatus,
)
from ..domain.program import CycleStatus, PlanStatus, ProgramCycle, Theme, ThemeStatus, Vote

metadata = MetaData()
messaging = messaging_tables(metadata)

# Replica of registration's communities and memberships, fed by its events only.
communities = Table(
    "communities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name_fr", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("regions", JSON, nullable=False),
    Column("province_wide", Boolean, nullable=False),
    Column("cadence", Integer, nullable=False),
    Column("status", StrEnumType(CommunityStatus, 10), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False),  # no foreign key: the two topics arrive in any order
    Column("member_id", String(64), nullable=False),
    Column("role", StrEnumType(MembershipRole, 20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Index("ix_memberships_community_member", "community_id", "member_id"),
    Index("ix_memberships_member", "member_id"),
)

# Replica of registration's internal contacts topic: only the name shown to whoever runs a session, and whether
# the member may be named to peers (directory consent). Deleted on a tombstone or an erasure.
member_contacts = Table(
    "member_contacts",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

erased_members = erased_members_table(metadata)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False, index=True),
    Column("cycle_id", String(36), nullable=True),
    Column("theme_id", String(36), nullable=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("mode", StrEnumType(Mode, 10), nullable=False),
    Column("location", String(500), nullable=True),
    Column("link", String(1000), nullable=True),
    Column("capacity", Integer, nullable=False),
    Column("formats", JSON, nullable=False),
    Column("co_facilitators", JSON, nullable=False),
    Column("guests", JSON, nullable=False),
    Column("status", StrEnumType(SessionStatus, 12), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("arrivals", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

registrations = Table(
    "registrations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("status", StrEnumType(RegistrationStatus, 12), nullable=False),
    Column("arrival", Integer, nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("confirmed_at", UtcDateTime(), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("attendance", StrEnumType(Attendance, 10), nullable=True),
    Column("checked_in_at", UtcDateTime(), nullable=True),
    UniqueConstraint("session_id", "arrival", name="uq_registrations_session_arrival"),
    Index("ix_registrations_member", "member_id"),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("proposals_open_at", UtcDateTime(), nullable=False),
    Column("proposals_close_at", UtcDateTime(), nullable=False),
    Column("voting_opens_at", UtcDateTime(), nullable=False),
    Column("voting_closes_at", UtcDateTime(), nullable=False),
    Column("themes_to_retain", Integer, nullable=False),
    Column("sessions_per_theme", Integer, nullable=False),
    Column("votes_per_member", Integer, nullable=False),
    Column("max_votes_per_theme", Integer, nullable=False),
    Column("status", StrEnumType(CycleStatus, 10), nullable=False),
    Column("retained", JSON, nullable=False),
    Column("plan", JSON, nullable=False),
    Column("plan_status", StrEnumType(PlanStatus, 10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

themes = Table(
    "themes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("cycle_id", String(36), ForeignKey("cycles.id"), nullable=False, index=True),
    Column("community_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("need", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("proposer_id", String(64), nullable=True),
    Column("proposed_at", UtcDateTime(), nullable=False),
    Column("merged_into", String(36), nullable=True),
    Column("status", StrEnumType(ThemeStatus, 14), nullable=False),
)

votes = Table(
    "votes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("cycle_id", String(36), ForeignKey("cycles.id"), nullable=False),
    Column("theme_id", String(36), ForeignKey("themes.id"), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("cast_at", UtcDateTime(), nullable=False),
    Index("ix_votes_cycle_member", "cycle_id", "member_id"),
)

summaries = Table(
    "summaries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body_fr", Text, nullable=True),
    Column("body_en", Text, nullable=True),
    Column("published_by", String(200), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    UniqueConstraint("session_id", "version", name="uq_summaries_session_version"),
)

resources = Table(
    "resources",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("community_id", String(36), nullable=False, index=True),
    Column("session_id", String(36), nullable=True),
    Column("theme_id", String(36), nullable=True),
    Column("title", String(300), nullable=False),
    Column("kind", StrEnumType(ResourceKind, 10), nullable=False),
    Column("language", String(2), nullable=False),
    Column("description", Text, nullable=False),
    Column("url", String(2000), nullable=True),
    Column("tags", JSON, nullable=False),
    Column("shared_by", String(200), nullable=True),
    Column("shared_at", UtcDateTime(), nullable=False),
    Column("search_text", Text, nullable=False),  # normalized tokens, space-delimited: portable full-text search
)

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", StrEnumType(FeedKind, 10), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("community_id", String(36), nullable=True),
    Column("member_id", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # the owner and the scope their token had, to check every read against the owner's current rights
    Column("owner_subject", String(200), nullable=True),
    Column("owner_role", String(20), nullable=True),
    Column("owner_regions", JSON, nullable=True),
    Column("owner_communities", JSON, nullable=True),
    Index("ix_calendar_feeds_member", "member_id"),
    Index("ix_calendar_feeds_community", "community_id"),
)

mapper_registry = registry()


@functools.cache  # mapping a class twice is an error; every composition root calls this
def start_mappers() -> None:
    mapper_registry.map_imperatively(Community, communities)
    mapper_registry.map_imperatively(Membership, memberships)
    mapper_registry.map_imperatively(MemberContact, member_contacts)
    mapper_registry.map_imperatively(Registration, registrations)
    mapper_registry.map_imperatively(
        Session,
        sessions,
        version_id_col=sessions.c.version,
        properties={
            "registrations": relationship(
                Registration, order_by=registrations.c.arrival, cascade="all, delete-orphan", lazy="selectin"
            )
        },
    )
    mapper_registry.map_imperatively(ProgramCycle, cycles, version_id_col=cycles.c.version)
    mapper_registry.map_imperatively(Theme, themes)
    mapper_registry.map_imperatively(Vote, votes)
    mapper_registry.map_imperatively(Summary, summaries)
    mapper_registry.map_imperatively(Resource, resources)
    mapper_registry.map_imperatively(CalendarFeed, calendar_feeds)
