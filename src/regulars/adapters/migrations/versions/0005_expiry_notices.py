"""loyalty: the points_expiring notices sent, one per member and expiry instant

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_expiry_notices",
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.String(length=32), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "expires_at",
                                name=op.f("pk_loyalty_expiry_notices")),
    )


def downgrade() -> None:
    op.drop_table("loyalty_expiry_notices")
