"""The customer list's sorts (issue 19): the money at stake as a column of the map snapshot,
and indexes for the list's sorts (money at stake, value, last order, name, each with the id
for keyset pages) and its manager's filter.

The filters' columns (signals, traits, rung, status, RFM segment) get one index together: a
count of a filter's matches then reads it instead of the map's wide rows (their evidence).

The money at stake of a snapshot built before this revision is read from its stake evidence
(the ``{"about": "stake", ...}`` object of each row's evidence), so the list sorts by it
without waiting for the next rebuild.

Revision ID: 0022_customers_indexes
Revises: 0021_member_cards
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_customers_indexes"
down_revision = "0021_member_cards"
branch_labels = None
depends_on = None

_MAP_INDEXES = (("ix_map_customers_money_at_stake_customer_id", ["money_at_stake", "customer_id"]),
                ("ix_map_customers_revenue_customer_id", ["revenue", "customer_id"]),
                ("ix_map_customers_last_order_at_customer_id", ["last_order_at", "customer_id"]),
                # the filters' columns: counting their matches reads this, not the wide rows
                ("ix_map_customers_filters",
                 ["signals", "traits", "rung", "status", "rfm_segment"]))
_CUSTOMER_INDEXES = (("ix_customers_name_customer_id", ["name", "customer_id"]),
                     ("ix_customers_manager", ["manager"]))

_BACKFILL = {
    "sqlite": """
        UPDATE map_customers SET money_at_stake = (
            SELECT json_extract(e.value, '$.money_at_stake') FROM json_each(map_customers.evidence) AS e
            WHERE json_extract(e.value, '$.about') = 'stake' LIMIT 1)
        WHERE evidence LIKE '%"stake"%' AND json_valid(evidence)""",
    "postgresql": """
        UPDATE map_customers SET money_at_stake = (
            SELECT (e ->> 'money_at_stake')::double precision
            FROM jsonb_array_elements(map_customers.evidence::jsonb) AS e
            WHERE e ->> 'about' = 'stake' LIMIT 1)
        WHERE evidence LIKE '%"stake"%'""",
}


def upgrade() -> None:
    with op.batch_alter_table("map_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("money_at_stake", sa.Float(), nullable=True))
    backfill = _BACKFILL.get(op.get_bind().dialect.name)
    if backfill is not None:
        op.execute(backfill)
    for name, columns in _MAP_INDEXES:
        op.create_index(name, "map_customers", columns)
    for name, columns in _CUSTOMER_INDEXES:
        op.create_index(name, "customers", columns)


def downgrade() -> None:
    for name, _columns in reversed(_CUSTOMER_INDEXES):
        op.drop_index(name, table_name="customers")
    for name, _columns in reversed(_MAP_INDEXES):
        op.drop_index(name, table_name="map_customers")
    with op.batch_alter_table("map_customers", schema=None) as batch_op:
        batch_op.drop_column("money_at_stake")
