"""import profiles: a saved column mapping and reading options, by name

Revision ID: 0011_import_profiles
Revises: 0010
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_import_profiles"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_profiles",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_import_profiles")),
    )


def downgrade() -> None:
    op.drop_table("import_profiles")
