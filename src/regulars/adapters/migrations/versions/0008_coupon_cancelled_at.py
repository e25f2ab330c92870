"""loyalty: when a coupon's redemption was cancelled (a cancelled coupon can no longer be used)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_coupons") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loyalty_coupons") as batch:
        batch.drop_column("cancelled_at")
