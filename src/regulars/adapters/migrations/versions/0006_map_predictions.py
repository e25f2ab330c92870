"""customer-map snapshot: the predictions of each customer (P(alive), expected orders, next
order date, lifetime value, value at risk), for the customer card

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("p_alive", sa.Float()),
    ("expected_orders", sa.Float()),
    ("expected_orders_days", sa.Integer()),
    ("next_order_expected_at", sa.DateTime()),
    ("clv", sa.Float()),
    ("value_at_risk", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("map_customers", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("map_customers", schema=None) as batch_op:
        for name, _type in reversed(_COLUMNS):
            batch_op.drop_column(name)
