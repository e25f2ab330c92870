"""tasks: the managers' tasks (issue 18): whom to contact, by when, why, and how it ended; and
``api_keys.manager``, which binds a key of the role manager to one manager's name.

Revision ID: 0016_tasks
Revises: 0015_map_touched
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_tasks"
down_revision = "0015_map_touched"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("money_at_stake", sa.Numeric(18, 4), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_owner_state_due_on", "tasks", ["owner", "state", "due_on"])
    op.create_index("ix_tasks_customer_id", "tasks", ["customer_id"])
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manager", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("manager")
    op.drop_index("ix_tasks_customer_id", table_name="tasks")
    op.drop_index("ix_tasks_owner_state_due_on", table_name="tasks")
    op.drop_table("tasks")
