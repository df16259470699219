"""Replica of registration's contacts (display names for rosters); the owner of each calendar feed.

A feed issued before this revision has no owner scope: a member's feed reads as that member; a feed issued to a
staff token (no member id) reads nothing until it is issued again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_contacts",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("calendar_feeds", sa.Column("owner_subject", sa.String(200), nullable=True))
    op.add_column("calendar_feeds", sa.Column("owner_role", sa.String(20), nullable=True))
    op.add_column("calendar_feeds", sa.Column("owner_regions", sa.JSON, nullable=True))
    op.add_column("calendar_feeds", sa.Column("owner_communities", sa.JSON, nullable=True))
    op.create_index("ix_calendar_feeds_member", "calendar_feeds", ["member_id"])
    op.create_index("ix_calendar_feeds_community", "calendar_feeds", ["community_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_community", table_name="calendar_feeds")
    op.drop_index("ix_calendar_feeds_member", table_name="calendar_feeds")
    with op.batch_alter_table("calendar_feeds") as batch:
        batch.drop_column("owner_communities")
        batch.drop_column("owner_regions")
        batch.drop_column("owner_role")
        batch.drop_column("owner_subject")
    op.drop_table("member_contacts")
