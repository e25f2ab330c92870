"""The store's tables, and the imperative mapping of the domain's entities onto them.

The input tables are built from the column contract in ``regulars.domain.tables`` so the two
cannot drift apart; Alembic migrations create them (``adapters/migrations``) and a test checks
that the migrations and this metadata agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry

from regulars.domain import model
from regulars.domain.tables import SPECS, ColumnType, Kind, TableSpec

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)

SQL_TYPES: dict[ColumnType, sa.types.TypeEngine[Any]] = {
    ColumnType.ID: sa.String(),
    ColumnType.TEXT: sa.Text(),
    ColumnType.LIST: sa.Text(),
    ColumnType.TIMESTAMP: sa.DateTime(),
    ColumnType.DATE: sa.Date(),
    ColumnType.MONEY: sa.Numeric(18, 4),
    ColumnType.INTEGER: sa.BigInteger(),
    ColumnType.BOOLEAN: sa.Boolean(),
}

# Columns the store adds to every input table.
ROW_HASH = "row_hash"  # content fingerprint: a re-import with other content is a conflict
IMPORT_ID = "import_id"  # which accepted import brought the row in

# Indexes on the references analytics and imports look up by.
INDEXED: dict[Kind, tuple[str, ...]] = {
    Kind.CUSTOMERS: ("email_norm", "phone_norm"),
    Kind.ORDERS: ("customer_id",),
    Kind.RETURNS: ("order_id",),
    Kind.INVOICES: ("customer_id",),
    Kind.INTERACTIONS: ("customer_id",),
    Kind.FEEDBACK: ("customer_id",),
    Kind.REFERRALS: ("referrer_id", "referee_id"),
}


def _input_table(spec: TableSpec) -> sa.Table:
    columns: list[sa.Column[Any]] = []
    for col in spec.columns:
        is_id = col.name == spec.id_column
        columns.append(
            sa.Column(
                col.name,
                SQL_TYPES[col.type],
                primary_key=is_id,
                nullable=not (is_id or col.required),
            )
        )
    if spec.kind is Kind.CUSTOMERS:
        columns += [
            sa.Column("email_norm", sa.String(), nullable=True),
            sa.Column("phone_norm", sa.String(), nullable=True),
            sa.Column("stub", sa.Boolean(), nullable=False, server_default=sa.false()),
        ]
    columns += [
        sa.Column(ROW_HASH, sa.String(32), nullable=False),
        sa.Column(IMPORT_ID, sa.Integer(), nullable=True),
    ]
    table = sa.Table(spec.kind.value, metadata, *columns)
    for name in INDEXED[spec.kind]:
        sa.Index(None, table.c[name])
    return table


INPUT_TABLES: dict[Kind, sa.Table] = {kind: _input_table(spec) for kind, spec in SPECS.items()}

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("rows_read", sa.BigInteger(), nullable=False),
    sa.Column("rows_added", sa.BigInteger(), nullable=False),
    sa.Column("rows_already_present", sa.BigInteger(), nullable=False),
    sa.Column("rows_duplicate_in_file", sa.BigInteger(), nullable=False),
    sa.Column("rows_blacklisted", sa.BigInteger(), nullable=False),
    sa.Column("customers_created", sa.BigInteger(), nullable=False),
    sa.Column("customers_merged", sa.BigInteger(), nullable=False),
)

customer_merges = sa.Table(
    "customer_merges",
    metadata,
    sa.Column("alias_id", sa.String(), primary_key=True),
    sa.Column("customer_id", sa.String(), nullable=False, index=True),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("matched_value", sa.Text(), nullable=False),
    sa.Column("merged_at", sa.DateTime(), nullable=False),
    sa.Column("import_id", sa.Integer(), nullable=True),
)

# Saved ways of reading one kind of export (``regulars import --save-profile``): kept in the
# store so that next month's import, on any machine using it, finds them.
import_profiles = sa.Table(
    "import_profiles",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=True),
    sa.Column("options", sa.Text(), nullable=False),  # JSON: mapping and reading options
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)


def start_mappers() -> None:
    """Map the domain's entities onto the tables (once per process)."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(model.Customer, INPUT_TABLES[Kind.CUSTOMERS])
    mapper_registry.map_imperatively(model.Order, INPUT_TABLES[Kind.ORDERS])
    mapper_registry.map_imperatively(model.CustomerMerge, customer_merges)
    mapper_registry.map_imperatively(model.ImportBatch, imports)


# the HTTP API's tables (keys, audit, idempotency, map snapshot, webhooks) on this metadata
from regulars.adapters import api_store as _api_store  # noqa: E402, F401
from regulars.adapters import loyalty_store as _loyalty_store  # noqa: E402, F401
