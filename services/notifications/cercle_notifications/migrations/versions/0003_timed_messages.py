"""Timed messages: the durable scheduler of reminders and other due messages (issue 10).

Also what they need to know: memberships (who facilitates), the regions of communities (whose coordinators set
their reminders) and the iCalendar SEQUENCE of sessions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Migrations are history: they inline their DDL rather than call helpers that may change later.


def upgrade() -> None:
    op.create_table(
        "timed_messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("offset", sa.String(20), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(20), nullable=True),
        sa.Column("cancelled_reason", sa.Text, nullable=True),
        sa.Column("delivery_id", sa.String(36), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("member_id", "subject", "kind", "offset", name="uq_timed_messages_key"),
    )
    op.create_index("ix_timed_messages_due", "timed_messages", ["status", "due_at"])
    op.create_index("ix_timed_messages_subject", "timed_messages", ["subject", "kind"])
    op.create_table(
        "community_reminders",
        sa.Column("community_id", sa.String(36), primary_key=True),
        sa.Column("offsets", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "memberships",
        sa.Column("membership_id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_memberships_community", "memberships", ["community_id", "role"])
    op.create_index("ix_memberships_member", "memberships", ["member_id"])
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("regions", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("regions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("sequence")
    op.drop_table("memberships")
    op.drop_table("community_reminders")
    op.drop_table("timed_messages")
