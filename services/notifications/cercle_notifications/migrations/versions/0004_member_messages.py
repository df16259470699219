"""Messages members receive: per-category unsubscribe, digest day, announcements and digests (issue 10).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Migrations are history: they inline their DDL rather than call helpers that may change later.


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("stopped", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("digest_day", sa.String(9), nullable=False, server_default="monday"))
    op.create_table(
        "news_items",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_news_items_community", "news_items", ["community_id", "published_at"])


def downgrade() -> None:
    op.drop_index("ix_news_items_community", table_name="news_items")
    op.drop_table("news_items")
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("digest_day")
        batch.drop_column("stopped")
