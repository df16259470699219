"""Read models: communities, their regions, memberships, sessions, registrations, erased members; messaging tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A migration is history: the DDL is written here, not imported from helpers that may change later.
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "seq"])
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "communities",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name_fr", sa.String(200), nullable=True),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("domain", sa.String(100), nullable=True),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("province_wide", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_communities_name", "communities", ["name_fr", "id"])
    op.create_table(
        "community_regions",
        sa.Column("community_id", sa.String(64), sa.ForeignKey("communities.id"), primary_key=True),
        sa.Column("region", sa.String(2), primary_key=True),
    )
    op.create_index("ix_community_regions_region", "community_regions", ["region"])
    op.create_table(
        "memberships",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), sa.ForeignKey("communities.id"), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_memberships_community", "memberships", ["community_id"])
    op.create_index("ix_memberships_member", "memberships", ["member_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), sa.ForeignKey("communities.id"), nullable=False),
        sa.Column("status", sa.String(10), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mode", sa.String(10), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("present", sa.Integer, nullable=True),
        sa.Column("absent", sa.Integer, nullable=True),
    )
    op.create_index("ix_sessions_community", "sessions", ["community_id"])
    op.create_table(
        "session_registrations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(64), sa.ForeignKey("communities.id"), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
    )
    op.create_index("ix_session_registrations_community", "session_registrations", ["community_id", "status"])
    op.create_index("ix_session_registrations_member", "session_registrations", ["member_id"])
    op.create_table(
        "erased_members",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_members")
    op.drop_table("session_registrations")
    op.drop_table("sessions")
    op.drop_table("memberships")
    op.drop_table("community_regions")
    op.drop_table("communities")
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
