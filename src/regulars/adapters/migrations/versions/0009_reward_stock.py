"""loyalty: how many of each reward with a stock limit have been redeemed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_reward_stock",
        sa.Column("reward", sa.String(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("reward", name=op.f("pk_loyalty_reward_stock")),
    )


def downgrade() -> None:
    op.drop_table("loyalty_reward_stock")
