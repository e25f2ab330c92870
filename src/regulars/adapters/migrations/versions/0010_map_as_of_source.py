"""customer-map snapshot: how its as-of moment was chosen ("last order", "clock" or "given"),
for the snapshot and for each customer's row (the live map may move a row's moment on)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLES = ("map_state", "map_customers")


def upgrade() -> None:
    # a snapshot built before this revision does not say how: null until the next rebuild
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("as_of_source", sa.String(16), nullable=True))


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("as_of_source")
