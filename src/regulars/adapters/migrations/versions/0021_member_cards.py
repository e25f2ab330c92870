"""loyalty_members.card_number: the loyalty card the till scans or types, at most one
member's (a UNIQUE constraint, which is also the index the till's look-up by card uses;
NULLs do not collide, so members without a card are many).

Revision ID: 0021_member_cards
Revises: 0020_web_imports
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_member_cards"
down_revision = "0020_web_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_members") as batch:
        batch.add_column(sa.Column("card_number", sa.String(32), nullable=True))
        batch.create_unique_constraint(op.f("uq_loyalty_members_card_number"),
                                       ["card_number"])


def downgrade() -> None:
    with op.batch_alter_table("loyalty_members") as batch:
        batch.drop_constraint(op.f("uq_loyalty_members_card_number"), type_="unique")
        batch.drop_column("card_number")
