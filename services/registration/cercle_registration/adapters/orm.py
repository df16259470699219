"""Tables of the registration database, mapped onto the domain classes (the domain imports none of this)."""

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
)
from sqlalchemy.orm import registry, relationship

from cercle_shared.db import StrEnumType, UtcDateTime, messaging_tables

from ..domain.model import (
    Community,
    CommunityKind,
    CommunityStatus,
    ConsentChange,
    ConsentPurpose,
    Language,
    Member,
    MemberImport,
    Membership,
    MembershipRole,
    Organization,
    SizeBand,
)
from ..domain.sign_in import Attempt, RefreshState, RefreshToken, SignInCode

metadata = MetaData()
messaging = messaging_tables(metadata)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sector", String(100), nullable=True),
    Column("region", String(2), nullable=True),
    Column("size_band", StrEnumType(SizeBand, 10), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased: unique without regard to case
    Column("language", StrEnumType(Language, 2), nullable=False),
    Column("region", String(2), nullable=True, index=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=True, index=True),
    Column("job_title", String(200), nullable=True),
    Column("expertise", JSON, nullable=False),
    Column("consents", JSON, nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

consent_changes = Table(
    "consent_changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(36), ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("purpose", StrEnumType(ConsentPurpose, 20), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)

communities = Table(
    "communities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name_fr", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("description_fr", Text, nullable=False),
    Column("description_en", Text, nullable=False),
    Column("domain", String(100), nullable=True),
    Column("kind", StrEnumType(CommunityKind, 40), nullable=False),
    Column("regions", JSON, nullable=False),
    Column("province_wide", Boolean, nullable=False),
    Column("cadence", Integer, nullable=False),
    Column("status", StrEnumType(CommunityStatus, 10), nullable=False),
    Column("founded_on", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("community_id", String(36), ForeignKey("communities.id"), nullable=False),
    Column("member_id", String(36), ForeignKey("members.id"), nullable=False),
    Column("role", StrEnumType(MembershipRole, 20), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("left_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_memberships_community_member", "community_id", "member_id"),
    Index("ix_memberships_member", "member_id"),
)
# At most one current membership per member and community, even when two joins race.
Index(
    "ux_memberships_current",
    memberships.c.community_id,
    memberships.c.member_id,
    unique=True,
    postgresql_where=memberships.c.left_at.is_(None),
    sqlite_where=memberships.c.left_at.is_(None),
)

# A real import while it writes (see MemberImport): the members written so far, to undo if it is left midway.
member_imports = Table(
    "member_imports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("progressed_at", UtcDateTime(), nullable=False),
    Column("member_ids", JSON, nullable=False),
    Column("version", Integer, nullable=False),
)

# Sign-in: only digests of the codes and refresh tokens are stored (domain/sign_in.py).
sign_in_codes = Table(
    "sign_in_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36), ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("member_id", String(36), ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("state", StrEnumType(RefreshState, 10), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)

# One row per counted request, so that the limits hold across processes; purged once out of every window.
sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Index("ix_sign_in_attempts_key", "kind", "key_hash", "at"),
)

mapper_registry = registry()


@functools.cache  # mapping a class twice is an error; every composition root calls this
def start_mappers() -> None:
    mapper_registry.map_imperatively(Organization, organizations, version_id_col=organizations.c.version)
    mapper_registry.map_imperatively(ConsentChange, consent_changes)
    mapper_registry.map_imperatively(
        Member,
        members,
        version_id_col=members.c.version,
        properties={
            "consent_history": relationship(
                ConsentChange, cascade="all, delete-orphan", order_by=consent_changes.c.seq, lazy="selectin"
            )
        },
    )
    mapper_registry.map_imperatively(Community, communities, version_id_col=communities.c.version)
    mapper_registry.map_imperatively(Membership, memberships, version_id_col=memberships.c.version)
    mapper_registry.map_imperatively(MemberImport, member_imports, version_id_col=member_imports.c.version)
    mapper_registry.map_imperatively(SignInCode, sign_in_codes, version_id_col=sign_in_codes.c.version)
    mapper_registry.map_imperatively(RefreshToken, refresh_tokens, version_id_col=refresh_tokens.c.version)
    mapper_registry.map_imperatively(Attempt, sign_in_attempts)
