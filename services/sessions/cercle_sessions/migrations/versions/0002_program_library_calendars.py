"""Program cycles, themes and votes; summary notes; the resource library; calendar feeds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("proposals_open_at", TZ, nullable=False),
        sa.Column("proposals_close_at", TZ, nullable=False),
        sa.Column("voting_opens_at", TZ, nullable=False),
        sa.Column("voting_closes_at", TZ, nullable=False),
        sa.Column("themes_to_retain", sa.Integer, nullable=False),
        sa.Column("sessions_per_theme", sa.Integer, nullable=False),
        sa.Column("votes_per_member", sa.Integer, nullable=False),
        sa.Column("max_votes_per_theme", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("retained", sa.JSON, nullable=False),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("plan_status", sa.String(10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_cycles_community_id", "cycles", ["community_id"])
    op.create_table(
        "themes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("need", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("proposer_id", sa.String(64), nullable=True),
        sa.Column("proposed_at", TZ, nullable=False),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("status", sa.String(14), nullable=False),
    )
    op.create_index("ix_themes_cycle_id", "themes", ["cycle_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("theme_id", sa.String(36), sa.ForeignKey("themes.id"), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("cast_at", TZ, nullable=False),
    )
    op.create_index("ix_votes_cycle_member", "votes", ["cycle_id", "member_id"])
    op.create_table(
        "summaries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body_fr", sa.Text, nullable=True),
        sa.Column("body_en", sa.Text, nullable=True),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.UniqueConstraint("session_id", "version", name="uq_summaries_session_version"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("theme_id", sa.String(36), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("shared_by", sa.String(200), nullable=True),
        sa.Column("shared_at", TZ, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_index("ix_resources_community_id", "resources", ["community_id"])
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("community_id", sa.String(36), nullable=True),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_table("resources")
    op.drop_table("summaries")
    op.drop_table("votes")
    op.drop_table("themes")
    op.drop_table("cycles")
