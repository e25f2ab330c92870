"""loyalty: the tier_changed events' cursor (the last tier-history row published), and on
SQLite a tier history whose ids are never reused

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _history_autoincrement(on: bool) -> None:
    # SQLite hands out max(id) + 1 without AUTOINCREMENT: after the newest row is erased its
    # id would come back, below the cursor (never published) and under an event id that a
    # receiver has seen. The copy keeps the ids; sqlite_sequence starts at their maximum.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("loyalty_tier_history", recreate="always",
                              table_kwargs={"sqlite_autoincrement": on}):
        pass


def upgrade() -> None:
    op.create_table(
        "loyalty_tier_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_history_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_loyalty_tier_events_one_row"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tier_events")),
    )
    _history_autoincrement(True)


def downgrade() -> None:
    _history_autoincrement(False)
    op.drop_table("loyalty_tier_events")
