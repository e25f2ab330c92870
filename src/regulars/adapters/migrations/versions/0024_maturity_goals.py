"""maturity and goals (issue 21): the owner's self-assessments on article 001's 16 parameters
(each answer with the level the data suggested and its evidence), and the business's goals on
its portfolio (share of regulars, of sales from regulars, frequency, average order, tenure,
loyalty-programme efficiency, rotation) with the readings that track them over time.

Revision ID: 0024_maturity_goals
Revises: 0023_playbooks
Create Date: 2026-12-07 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_maturity_goals"
down_revision = "0023_playbooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maturity_assessments",
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_maturity_assessments"),
    )
    op.create_index("ix_maturity_assessments_taken_at", "maturity_assessments", ["taken_at"])

    op.create_table(
        "maturity_answers",
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("parameter", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("suggested_level", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("assessment_id", "parameter", name="pk_maturity_answers"),
    )

    op.create_table(
        "goals",
        sa.Column("goal_id", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("segment", sa.String(64), nullable=True),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("goal_id", name="pk_goals"),
    )

    op.create_table(
        "goal_readings",
        sa.Column("goal_id", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("goal_id", "as_of", name="pk_goal_readings"),
    )


def downgrade() -> None:
    op.drop_table("goal_readings")
    op.drop_table("goals")
    op.drop_table("maturity_answers")
    op.drop_index("ix_maturity_assessments_taken_at", table_name="maturity_assessments")
    op.drop_table("maturity_assessments")
