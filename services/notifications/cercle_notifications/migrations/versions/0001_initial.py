"""Contacts, sessions, registrations and community replicas; preferences; deliveries; outbox and processed events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from cercle_shared.db.migrations import create_messaging_tables, drop_messaging_tables
from cercle_shared.privacy import create_erased_members_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    create_erased_members_table()
    op.create_table(
        "contacts",
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("consents", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("location", sa.String(1000), nullable=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "registrations",
        sa.Column("registration_id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index("ix_registrations_session", "registrations", ["session_id", "status"])
    op.create_index("ix_registrations_member", "registrations", ["member_id"])
    op.create_table(
        "communities",
        sa.Column("community_id", sa.String(36), primary_key=True),
        sa.Column("name_fr", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("opt_out", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source_event_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("recipient", sa.String(320), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymized", sa.Boolean, nullable=False),
        sa.UniqueConstraint("source_event_id", "kind", "member_id", name="uq_deliveries_source_kind_member"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_member", "deliveries", ["member_id"])
    op.create_index("ix_deliveries_created", "deliveries", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("preferences")
    op.drop_table("communities")
    op.drop_table("registrations")
    op.drop_table("sessions")
    op.drop_table("contacts")
    op.drop_table("erased_members")
    drop_messaging_tables()
