"""playbooks (issue 20): the customers' journeys through playbooks, the durable schedule of
their steps (jobs claimed with a lease), every message a step meant to send and why it was or
was not sent, the events the business sends, the feed's cursors and last-seen facts, and the
tags playbooks give customers.

Revision ID: 0023_playbooks
Revises: 0022_customers_indexes
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_playbooks"
down_revision = "0022_customers_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playbook_journeys",
        sa.Column("journey_id", sa.String(32), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("entry_key", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(8), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("goal_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("journey_id", name="pk_playbook_journeys"),
        sa.UniqueConstraint("playbook", "customer_id", "entry_key",
                            name="uq_playbook_journeys_entry"),
    )
    op.create_index("ix_playbook_journeys_playbook_state", "playbook_journeys",
                    ["playbook", "state"])
    op.create_index("ix_playbook_journeys_customer_id", "playbook_journeys", ["customer_id"])

    op.create_table(
        "playbook_jobs",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("journey_id", sa.String(32), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name="pk_playbook_jobs"),
    )
    op.create_index("ix_playbook_jobs_status_due_at", "playbook_jobs", ["status", "due_at"])
    op.create_index("ix_playbook_jobs_journey_id", "playbook_jobs", ["journey_id"])

    op.create_table(
        "playbook_messages",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("journey_id", sa.String(32), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name="pk_playbook_messages"),
    )
    op.create_index("ix_playbook_messages_customer_id_at", "playbook_messages",
                    ["customer_id", "at"])
    op.create_index("ix_playbook_messages_playbook_step_id", "playbook_messages",
                    ["playbook", "step_id"])

    op.create_table(
        "playbook_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_playbook_events"),
        sa.UniqueConstraint("event_id", name="uq_playbook_events_event_id"),
    )
    op.create_index("ix_playbook_events_customer_id_at", "playbook_events",
                    ["customer_id", "at"])

    op.create_table(
        "playbook_cursors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_playbook_cursors"),
    )

    op.create_table(
        "playbook_facts",
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("rung", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("signals", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_playbook_facts"),
    )

    op.create_table(
        "customer_tags",
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "tag", name="pk_customer_tags"),
    )


def downgrade() -> None:
    op.drop_table("customer_tags")
    op.drop_table("playbook_facts")
    op.drop_table("playbook_cursors")
    op.drop_index("ix_playbook_events_customer_id_at", table_name="playbook_events")
    op.drop_table("playbook_events")
    op.drop_index("ix_playbook_messages_playbook_step_id", table_name="playbook_messages")
    op.drop_index("ix_playbook_messages_customer_id_at", table_name="playbook_messages")
    op.drop_table("playbook_messages")
    op.drop_index("ix_playbook_jobs_journey_id", table_name="playbook_jobs")
    op.drop_index("ix_playbook_jobs_status_due_at", table_name="playbook_jobs")
    op.drop_table("playbook_jobs")
    op.drop_index("ix_playbook_journeys_customer_id", table_name="playbook_journeys")
    op.drop_index("ix_playbook_journeys_playbook_state", table_name="playbook_journeys")
    op.drop_table("playbook_journeys")
