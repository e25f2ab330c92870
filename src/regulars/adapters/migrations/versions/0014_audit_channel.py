"""api_audit: every channel writes the audit log (issue 15). Each entry says through which
channel it came (http, cli, python), the use case by its name and how it ended; the HTTP
status is kept for HTTP entries only. Entries written before say "http", or "cli" for the
command line's erasures (their key_id is ``cli:<actor>``).

Revision ID: 0014_audit_channel
Revises: 0013_loyalty_runs
Create Date: 2026-12-06 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_audit_channel"
down_revision = "0013_loyalty_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("use_case", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.alter_column("status", existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE api_audit SET channel = CASE WHEN key_id LIKE 'cli:%' THEN 'cli' "
               "ELSE 'http' END")


def downgrade() -> None:
    op.execute("UPDATE api_audit SET status = 0 WHERE status IS NULL")
    with op.batch_alter_table("api_audit", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("outcome")
        batch_op.drop_column("use_case")
        batch_op.drop_column("channel")
