"""map_touched: the customers whose live-map rows wait for a refresh (issue 16), kept in the
store instead of the server's memory, so that the background worker can run in a process of
its own (``regulars worker``, ``regulars serve --workers N``).

Revision ID: 0015_map_touched
Revises: 0014_audit_channel
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_map_touched"
down_revision = "0014_audit_channel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_touched",
        sa.Column("customer_id", sa.String(), primary_key=True),
        sa.Column("touched_at", sa.DateTime(), nullable=False),
        sa.Column("touches", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_map_touched_touched_at", "map_touched", ["touched_at"])


def downgrade() -> None:
    op.drop_index("ix_map_touched_touched_at", table_name="map_touched")
    op.drop_table("map_touched")
