"""loyalty_programmes: where each version came from (the settings file or the web pages),
who made it and why, so that the store is the programme's source once it is edited on the
web (issue 19's loyalty admin).

Revision ID: 0019_programme_edits
Revises: 0018_sign_in_attempts
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_programme_edits"
down_revision = "0018_sign_in_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_programmes") as batch:
        # NULL: a version recorded before this column, always from the settings file
        batch.add_column(sa.Column("source", sa.String(8), nullable=True))
        batch.add_column(sa.Column("author", sa.Text(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loyalty_programmes") as batch:
        batch.drop_column("note")
        batch.drop_column("author")
        batch.drop_column("source")
