"""Surveys: post-session feedback and annual community surveys, invitations, anonymous answers (issue 11).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Migrations are history: they inline their DDL rather than call helpers that may change later.


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title_fr", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("reminder_days", sa.JSON, nullable=False),
        sa.Column("community_id", sa.String(64), nullable=True),
        sa.Column("region", sa.String(2), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("theme_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_surveys_community", "surveys", ["community_id"])
    op.create_index("ix_surveys_region", "surveys", ["region"])
    op.create_index("ix_surveys_closes_at", "surveys", ["closes_at"])
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("survey_id", sa.String(64), sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rounds_sent", sa.Integer, nullable=False),
        sa.Column("answered", sa.Boolean, nullable=False),
        sa.UniqueConstraint("survey_id", "member_id", name="uq_survey_invitations_member"),
    )
    op.create_index("ix_survey_invitations_member", "survey_invitations", ["member_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("survey_id", sa.String(64), sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("community_id", sa.String(64), nullable=True),
        sa.Column("theme_id", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("texts", sa.JSON, nullable=False),
    )
    op.create_index("ix_survey_answers_survey", "survey_answers", ["survey_id"])
    op.create_index("ix_survey_answers_community_year", "survey_answers", ["community_id", "year"])
    op.create_table(
        "survey_consents",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "survey_attendance",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("theme_id", sa.String(64), nullable=True),
        sa.Column("held", sa.Boolean, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("present_member_ids", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("survey_attendance")
    op.drop_table("survey_consents")
    op.drop_index("ix_survey_answers_community_year", table_name="survey_answers")
    op.drop_index("ix_survey_answers_survey", table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index("ix_survey_invitations_member", table_name="survey_invitations")
    op.drop_table("survey_invitations")
    op.drop_index("ix_surveys_closes_at", table_name="surveys")
    op.drop_index("ix_surveys_region", table_name="surveys")
    op.drop_index("ix_surveys_community", table_name="surveys")
    op.drop_table("surveys")
