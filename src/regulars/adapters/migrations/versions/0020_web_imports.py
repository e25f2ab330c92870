"""web_imports: files uploaded on the web import page, waiting for their owner to confirm
them (issue 19): the one-time token, the reading options chosen, and the result.

Revision ID: 0020_web_imports
Revises: 0019_programme_edits
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_web_imports"
down_revision = "0019_programme_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_imports",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_web_imports")),
    )
    op.create_index(op.f("ix_web_imports_expires_at"), "web_imports", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_web_imports_expires_at"), table_name="web_imports")
    op.drop_table("web_imports")
