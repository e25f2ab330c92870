"""customer-map snapshot: the frozen baseline the live map recomputes customers against

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("map_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("baseline", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("map_state", schema=None) as batch_op:
        batch_op.drop_column("baseline")
