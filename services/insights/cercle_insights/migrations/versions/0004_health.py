"""Community health: monthly series, alert state; organizations, themes and member details for breakdowns (issue 11).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Migrations are history: they inline their DDL rather than call helpers that may change later.


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
