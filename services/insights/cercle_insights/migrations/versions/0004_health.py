"""Community health: alert state and history; members' employer and region, organizations, themes, votes, sessions'
themes and attendees, for the monthly series and the figures by organization, region, theme and year (issue 11).

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
    op.create_table(
        "member_profiles",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("region", sa.String(2), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_member_profiles_organization", "member_profiles", ["organization_id"])
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("region", sa.String(2), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "themes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("cycle_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.String(64), nullable=True),
        sa.Column("retained", sa.Boolean, nullable=False),
        sa.Column("rank", sa.Integer, nullable=True),
        sa.Column("votes", sa.Integer, nullable=True),
    )
    op.create_index("ix_themes_community", "themes", ["community_id", "proposed_at"])
    op.create_table(
        "theme_votes",
        sa.Column("vote_id", sa.String(64), primary_key=True),
        sa.Column("theme_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("cycle_id", sa.String(64), nullable=True),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_theme_votes_community", "theme_votes", ["community_id", "cast_at"])
    op.create_index("ix_theme_votes_theme", "theme_votes", ["theme_id"])
    op.create_table(
        "session_themes",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("theme_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_session_themes_theme", "session_themes", ["theme_id"])
    op.create_table(
        "session_attendees",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_session_attendees_session", "session_attendees", ["session_id"])
    op.create_index("ix_session_attendees_community", "session_attendees", ["community_id", "member_id"])
    op.create_index("ix_session_attendees_member", "session_attendees", ["member_id"])
    op.create_table(
        "health_states",
        sa.Column("community_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("signals", sa.JSON, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes", sa.Integer, nullable=False),
    )
    op.create_table(
        "health_alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("signals", sa.JSON, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_health_alerts_community", "health_alerts", ["community_id", "alerted_at"])


def downgrade() -> None:
    op.drop_index("ix_health_alerts_community", table_name="health_alerts")
    op.drop_table("health_alerts")
    op.drop_table("health_states")
    for index in ("ix_session_attendees_member", "ix_session_attendees_community", "ix_session_attendees_session"):
        op.drop_index(index, table_name="session_attendees")
    op.drop_table("session_attendees")
    op.drop_index("ix_session_themes_theme", table_name="session_themes")
    op.drop_table("session_themes")
    op.drop_index("ix_theme_votes_theme", table_name="theme_votes")
    op.drop_index("ix_theme_votes_community", table_name="theme_votes")
    op.drop_table("theme_votes")
    op.drop_index("ix_themes_community", table_name="themes")
    op.drop_table("themes")
    op.drop_table("organizations")
    op.drop_index("ix_member_profiles_organization", table_name="member_profiles")
    op.drop_table("member_profiles")
