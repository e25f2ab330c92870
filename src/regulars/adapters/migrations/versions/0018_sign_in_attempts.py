"""sign_in_attempts: the failed sign-ins of the web pages, counted per login and per address
over a window, so that the limit holds across request processes and restarts (issue 19).

Revision ID: 0018_sign_in_attempts
Revises: 0017_users
Create Date: 2026-12-08 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_sign_in_attempts"
down_revision = "0017_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index("ix_sign_in_attempts_scope_subject_at", "sign_in_attempts",
                    ["scope", "subject", "at"])
    op.create_index(op.f("ix_sign_in_attempts_at"), "sign_in_attempts", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_attempts_at"), table_name="sign_in_attempts")
    op.drop_index("ix_sign_in_attempts_scope_subject_at", table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
