"""loyalty: the periodic runs (release, expiry, tier review), one row per committed chunk,
written in the chunk's own transaction: what a run did is recorded exactly as far as it got.
The latest tier review's moment is read from it (a review may not go back before it).

Revision ID: 0013_loyalty_runs
Revises: 0011_import_profiles
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_loyalty_runs"
down_revision = "0011_import_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("committed_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_runs")),
        sa.UniqueConstraint("run_id", "step", "chunk",
                            name=op.f("uq_loyalty_runs_run_id_step_chunk")),
    )
    op.create_index(op.f("ix_loyalty_runs_step_as_of"), "loyalty_runs", ["step", "as_of"])


def downgrade() -> None:
    op.drop_index(op.f("ix_loyalty_runs_step_as_of"), table_name="loyalty_runs")
    op.drop_table("loyalty_runs")
