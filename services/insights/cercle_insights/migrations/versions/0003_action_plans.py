"""Action plans: from idea to action, their steps and nudges (issue 11).

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
        "action_plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("anonymous_owner", sa.String(64), nullable=True),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("theme_id", sa.String(64), nullable=True),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("private_notes", sa.Text, nullable=True),
        sa.Column("reached", sa.String(30), nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_year", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("follow_up_on", sa.Date, nullable=True),
        sa.Column("follow_up_with", sa.String(20), nullable=True),
        sa.Column("dropped_on", sa.Date, nullable=True),
        sa.Column("drop_reason", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_action_plans_member", "action_plans", ["member_id", "opened_at", "id"])
    op.create_index("ix_action_plans_community", "action_plans", ["community_id", "opened_at", "id"])
    op.create_table(
        "action_plan_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("action_plans.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(30), nullable=False),
        sa.Column("happened_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("resource_ids", sa.JSON, nullable=False),
    )
    op.create_index("ix_action_plan_steps_plan", "action_plan_steps", ["plan_id"])
    op.create_table(
        "action_plan_nudges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("action_plans.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("about", sa.Date, nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("plan_id", "kind", "about", name="uq_action_plan_nudges_plan_kind_about"),
    )


def downgrade() -> None:
    op.drop_table("action_plan_nudges")
    op.drop_index("ix_action_plan_steps_plan", table_name="action_plan_steps")
    op.drop_table("action_plan_steps")
    op.drop_index("ix_action_plans_community", table_name="action_plans")
    op.drop_index("ix_action_plans_member", table_name="action_plans")
    op.drop_table("action_plans")
