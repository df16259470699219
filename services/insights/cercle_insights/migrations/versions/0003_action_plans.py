"""Action plans: from idea to action, their steps and nudges (issue 11).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Migrations are history: they inline their DDL rather than call helpers that may change later.


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
