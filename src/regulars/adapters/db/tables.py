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
    if spec.kind is Kind.CUSTOMERS:
        # the customer list's sort by name and its manager's filter (migration 0022)
        sa.Index("ix_customers_name_customer_id", table.c.name, table.c.customer_id)
        sa.Index("ix_customers_manager", table.c.manager)
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


# -- the HTTP API's tables: keys, audit, idempotency, the map's snapshot, webhooks ---------------

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.Column("replaced_by", sa.String(32), nullable=True),
    # a key of the role manager bound to one manager's name (migration 0016): it sees and
    # closes that manager's tasks only
    sa.Column("manager", sa.Text(), nullable=True),
)

api_audit = sa.Table(
    "api_audit",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False, index=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=True),  # HTTP only
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("channel", sa.String(16), nullable=True),  # http, cli, python, web
    sa.Column("use_case", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
)

# the primary key is what makes two concurrent retries of one request write once
api_idempotency = sa.Table(
    "api_idempotency",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

map_customers = sa.Table(
    "map_customers",
    metadata,
    sa.Column("customer_id", sa.String(), primary_key=True),
    sa.Column("orders", sa.BigInteger(), nullable=False),
    sa.Column("first_order_at", sa.DateTime(), nullable=True),
    sa.Column("last_order_at", sa.DateTime(), nullable=True),
    sa.Column("revenue", sa.Float(), nullable=True),
    sa.Column("avg_order_value", sa.Float(), nullable=True),
    sa.Column("typical_gap_days", sa.Float(), nullable=True),
    sa.Column("days_since_last_order", sa.Float(), nullable=True),
    sa.Column("rung", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=True, index=True),
    sa.Column("signals", sa.Text(), nullable=False),
    sa.Column("traits", sa.Text(), nullable=False),
    sa.Column("rfm_r", sa.Integer(), nullable=True),
    sa.Column("rfm_f", sa.Integer(), nullable=True),
    sa.Column("rfm_m", sa.Integer(), nullable=True),
    sa.Column("rfm_segment", sa.String(32), nullable=True, index=True),
    sa.Column("evidence", sa.Text(), nullable=False),
    sa.Column("evidence_text", sa.Text(), nullable=False),
    sa.Column("as_of", sa.DateTime(), nullable=False),
    # how as_of was chosen: "last order", "clock" or "given" (null: before migration 0010)
    sa.Column("as_of_source", sa.String(16), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    # the predictions (null when the map was built without them); expected_orders covers
    # the next expected_orders_days days
    sa.Column("p_alive", sa.Float(), nullable=True),
    sa.Column("expected_orders", sa.Float(), nullable=True),
    sa.Column("expected_orders_days", sa.Integer(), nullable=True),
    sa.Column("next_order_expected_at", sa.DateTime(), nullable=True),
    sa.Column("clv", sa.Float(), nullable=True),
    sa.Column("value_at_risk", sa.Float(), nullable=True),
    # the money at stake (the ranking's, also in the stake evidence; null for a prospect or
    # a map built without it), a column so the customer list sorts by it (migration 0022)
    sa.Column("money_at_stake", sa.Float(), nullable=True),
    # the customer list's sorts, each with the id after it for keyset pages
    sa.Index("ix_map_customers_money_at_stake_customer_id", "money_at_stake", "customer_id"),
    sa.Index("ix_map_customers_revenue_customer_id", "revenue", "customer_id"),
    sa.Index("ix_map_customers_last_order_at_customer_id", "last_order_at", "customer_id"),
    # the list's filters, so that counting their matches reads this index, not the wide rows
    sa.Index("ix_map_customers_filters", "signals", "traits", "rung", "status", "rfm_segment"),
)

map_state = sa.Table(
    "map_state",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("as_of", sa.DateTime(), nullable=False),
    sa.Column("as_of_source", sa.String(16), nullable=True),
    sa.Column("built_at", sa.DateTime(), nullable=False),
    sa.Column("customers", sa.BigInteger(), nullable=False),
    sa.Column("portfolio", sa.Text(), nullable=False),
    sa.Column("not_evaluated", sa.Text(), nullable=False),
    # JSON: the base-level figures of the last full map (CustomerMap.baseline), which the
    # live map recomputes touched customers against
    sa.Column("baseline", sa.Text(), nullable=True),
)

# the customers whose live-map rows wait for a refresh: written by an ingest in the same
# transaction as its rows, so that no process keeps the list in memory (the background worker
# may run in another process). ``touches`` counts the ingests since the row was written: the
# worker deletes only rows whose count it read, so a touch during a refresh is not lost.
map_touched = sa.Table(
    "map_touched",
    metadata,
    sa.Column("customer_id", sa.String(), primary_key=True),
    sa.Column("touched_at", sa.DateTime(), nullable=False, index=True),  # the first touch
    sa.Column("touches", sa.BigInteger(), nullable=False),
)

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("events", sa.Text(), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
)

webhook_outbox = sa.Table(
    "webhook_outbox",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.String(32), nullable=False, index=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(), nullable=True, index=True),
    sa.Column("delivered_at", sa.DateTime(), nullable=True),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("outbox_id", sa.Integer(), nullable=False, index=True),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("duration_ms", sa.Float(), nullable=False),
)

API_TABLES = (api_keys, api_audit, api_idempotency, map_customers, map_state, map_touched,
              webhook_subscriptions, webhook_outbox, webhook_deliveries)


# -- the web pages' users and the server's own secrets (issue 19, migration 0017) ---------------

# a person who signs in to the web pages (machines use API keys); ``session_epoch`` grows when
# the password changes or the user is disabled, and a session signed for an older epoch is over
users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(32), primary_key=True),
    sa.Column("login", sa.String(64), nullable=False, unique=True),  # lower case
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("manager", sa.Text(), nullable=True),  # customers.manager, for a manager
    sa.Column("language", sa.String(8), nullable=True),  # ru, et, en; null: the browser's
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("session_epoch", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("disabled_at", sa.DateTime(), nullable=True),
    sa.Column("last_sign_in_at", sa.DateTime(), nullable=True),
)

# secrets the server makes for itself on first use (the session cookies' signing key when
# ``[web] secret_key`` is not set): in the store, so that every request process and every
# restart signs with the same one
server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

# failed sign-ins (migration 0018): one row per scope (``login``, ``address``) and attempt,
# the subject a digest of the login or the address (no typed text is kept); counted over
# ``[web] sign_in_window_minutes`` in the store, so the limit holds across processes
sign_in_attempts = sa.Table(
    "sign_in_attempts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False, index=True),
    sa.Index("ix_sign_in_attempts_scope_subject_at", "scope", "subject", "at"),
)


# a file uploaded on the web import page, until its owner confirms it or it expires (issue 19,
# migration 0023): ``state`` uploaded -> importing -> done (a second confirm finds it taken);
# the file itself is in ``folder`` (a temporary directory), removed with the row
web_imports = sa.Table(
    "web_imports",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("folder", sa.Text(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("options", sa.Text(), nullable=False),  # JSON: the reading options chosen
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("result", sa.Text(), nullable=True),  # JSON: what the import did
)

# -- the loyalty programme's tables ----------------------------------------------------------------

_Money = sa.Numeric(18, 4)
_Points = sa.BigInteger()

loyalty_programmes = sa.Table(
    "loyalty_programmes", metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("effective_from", sa.DateTime(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.Column("definition", sa.Text(), nullable=False),
    # "file" (the settings' [loyalty]; NULL before 0020) or "web" (the loyalty admin pages)
    sa.Column("source", sa.String(8), nullable=True),
    sa.Column("author", sa.Text(), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
)

loyalty_members = sa.Table(
    "loyalty_members", metadata,
    sa.Column("member_id", sa.String(), primary_key=True),
    sa.Column("enrolled_at", sa.DateTime(), nullable=False),
    sa.Column("consent", sa.Boolean(), nullable=False),
    sa.Column("consent_at", sa.DateTime(), nullable=True),
    sa.Column("email_norm", sa.String(), nullable=True, index=True),
    sa.Column("phone_norm", sa.String(), nullable=True, index=True),
    sa.Column("payment_fingerprint", sa.String(), nullable=True),
    sa.Column("birthday", sa.Date(), nullable=True),
    sa.Column("referral_code", sa.String(32), nullable=True, unique=True),
    sa.Column("referred_by", sa.String(), nullable=True),
    sa.Column("tier", sa.String(), nullable=False),
    sa.Column("tier_period_end", sa.DateTime(), nullable=True),
    sa.Column("balance", _Points, nullable=False),
    sa.Column("pending", _Points, nullable=False),
    sa.Column("debt", _Points, nullable=False),
    sa.Column("deficit", _Points, nullable=False),
    sa.Column("earned_total", _Points, nullable=False),
    sa.Column("club_until", sa.DateTime(), nullable=True),
    sa.Column("stored_value", _Money, nullable=False),
    # the loyalty card the till scans or types (normalise_card), at most one member's
    sa.Column("card_number", sa.String(32), nullable=True, unique=True),
)

loyalty_lots = sa.Table(
    "loyalty_lots", metadata,
    sa.Column("lot_ref", sa.String(), primary_key=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("earned_at", sa.DateTime(), nullable=False),
    sa.Column("points", _Points, nullable=False),
    sa.Column("remaining", _Points, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("available_at", sa.DateTime(), nullable=True, index=True),
    sa.Column("expires_at", sa.DateTime(), nullable=True, index=True),
    sa.Column("order_id", sa.String(), nullable=True),
    sa.CheckConstraint("remaining >= 0 AND remaining <= points", name="ck_loyalty_lots_remaining"),
)

loyalty_ledger = sa.Table(
    "loyalty_ledger", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("ref", sa.String(), nullable=False, unique=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("points", _Points, nullable=False),
    sa.Column("pending", _Points, nullable=False),
    sa.Column("deficit", _Points, nullable=False),
    sa.Column("lot_ref", sa.String(), nullable=True),
    sa.Column("order_id", sa.String(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("programme_version", sa.Integer(), nullable=True),
)

loyalty_allocations = sa.Table(
    "loyalty_allocations", metadata,
    sa.Column("entry_ref", sa.String(), primary_key=True),
    sa.Column("lot_ref", sa.String(), primary_key=True),
    sa.Column("points", _Points, nullable=False),
)

loyalty_accruals = sa.Table(
    "loyalty_accruals", metadata,
    sa.Column("order_id", sa.String(), primary_key=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("ordered_at", sa.DateTime(), nullable=False),
    sa.Column("amount", _Money, nullable=False),
    sa.Column("returned_amount", _Money, nullable=False),
    sa.Column("points", _Points, nullable=False),
    sa.Column("reversed", _Points, nullable=False),
    sa.Column("lot_ref", sa.String(), nullable=False),
    sa.Column("programme_version", sa.Integer(), nullable=False),
    sa.Column("payment_fingerprint", sa.String(), nullable=True),
)

loyalty_operations = sa.Table(
    "loyalty_operations", metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("member_id", sa.String(), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
)

loyalty_tier_history = sa.Table(
    "loyalty_tier_history", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("from_tier", sa.String(), nullable=True),
    sa.Column("to_tier", sa.String(), nullable=False),
    sa.Column("change", sa.String(16), nullable=False),
    sa.Column("qualifying", _Money, nullable=False),
    # SQLite: never reuse the id of a deleted (erased) row, which the tier_changed cursor and
    # the events' ids rely on (migration 0007; PostgreSQL's sequence never reuses one)
    sqlite_autoincrement=True,
)

loyalty_referrals = sa.Table(
    "loyalty_referrals", metadata,
    sa.Column("referee_id", sa.String(), primary_key=True),
    sa.Column("referrer_id", sa.String(), nullable=False, index=True),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(), nullable=True),
    sa.Column("order_id", sa.String(), nullable=True),
    sa.Column("settled_at", sa.DateTime(), nullable=True),
)

loyalty_coupons = sa.Table(
    "loyalty_coupons", metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("reward", sa.String(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("value", _Money, nullable=False),
    sa.Column("percent", _Money, nullable=False),
    sa.Column("issued_at", sa.DateTime(), nullable=False),
    sa.Column("valid_until", sa.DateTime(), nullable=False),
    sa.Column("used_at", sa.DateTime(), nullable=True),
    sa.Column("used_order_id", sa.String(), nullable=True),
    sa.Column("source_ref", sa.String(), nullable=False, unique=True),
    sa.Column("cancelled_at", sa.DateTime(), nullable=True),
)

loyalty_reward_stock = sa.Table(
    "loyalty_reward_stock", metadata,
    sa.Column("reward", sa.String(), primary_key=True),
    sa.Column("issued", sa.Integer(), nullable=False),
)

loyalty_punches = sa.Table(
    "loyalty_punches", metadata,
    sa.Column("member_id", sa.String(), primary_key=True),
    sa.Column("card", sa.String(), primary_key=True),
    sa.Column("punches", _Points, nullable=False),
    sa.Column("rewards_issued", _Points, nullable=False),
)

loyalty_club_payments = sa.Table(
    "loyalty_club_payments", metadata,
    sa.Column("payment_ref", sa.String(), primary_key=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("paid_at", sa.DateTime(), nullable=False),
    sa.Column("fee", _Money, nullable=False),
    sa.Column("starts_at", sa.DateTime(), nullable=False),
    sa.Column("ends_at", sa.DateTime(), nullable=False),
)

loyalty_card_entries = sa.Table(
    "loyalty_card_entries", metadata,
    sa.Column("ref", sa.String(), primary_key=True),
    sa.Column("member_id", sa.String(), nullable=False, index=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", _Money, nullable=False),
    sa.Column("payment_method", sa.String(), nullable=True),
    sa.Column("original_ref", sa.String(), nullable=True),
)

loyalty_draws = sa.Table(
    "loyalty_draws", metadata,
    sa.Column("draw_key", sa.String(), primary_key=True),
    sa.Column("offer", sa.String(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("seed", sa.BigInteger(), nullable=False),
    sa.Column("eligible", sa.BigInteger(), nullable=False),
    sa.Column("eligible_digest", sa.String(64), nullable=False),
    sa.Column("winners", sa.Text(), nullable=False),
)

# one row per (member, expiry instant) a points_expiring notice was sent for (migration 0005):
# the primary key is what makes the notice go out once, whatever runs it and however often
loyalty_expiry_notices = sa.Table(
    "loyalty_expiry_notices", metadata,
    sa.Column("member_id", sa.String(), primary_key=True),
    sa.Column("expires_at", sa.DateTime(), primary_key=True),
    sa.Column("points", _Points, nullable=False),
    sa.Column("balance", _Points, nullable=False),
    sa.Column("notice_id", sa.String(32), nullable=False),
    sa.Column("notified_at", sa.DateTime(), nullable=False),
)

# the tier_changed events (migration 0007): one row, the id of the last loyalty_tier_history
# row published; the server publishes the rows after it, in id order, and moves it forward
# in the transaction that queues their events
loyalty_tier_events = sa.Table(
    "loyalty_tier_events", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("last_history_id", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.CheckConstraint("id = 1", name="ck_loyalty_tier_events_one_row"),
)

# the periodic runs (migration 0013_loyalty_runs): one row per committed chunk of a release,
# expiry or tier review, inserted in that chunk's transaction, so what a run committed and
# what it recorded are the same, however far it got
loyalty_runs = sa.Table(
    "loyalty_runs", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("step", sa.String(16), nullable=False),
    sa.Column("chunk", sa.Integer(), nullable=False),
    sa.Column("as_of", sa.DateTime(), nullable=False),
    sa.Column("committed_at", sa.DateTime(), nullable=False),
    sa.Column("actor", sa.Text(), nullable=False),
    sa.Column("members", sa.Integer(), nullable=False),
    sa.Column("items", sa.Integer(), nullable=False),
    sa.Column("points", sa.BigInteger(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.UniqueConstraint("run_id", "step", "chunk"),
    sa.Index("ix_loyalty_runs_step_as_of", "step", "as_of"),
)



# -- the managers' tasks (issue 18, migration 0016_tasks) ------------------------------------------

# one row per task; a completed one is also one ``out`` row of ``interactions``, written in the
# same transaction (regulars.services.tasks)
tasks = sa.Table(
    "tasks", metadata,
    sa.Column("task_id", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.String(), nullable=False),
    sa.Column("owner", sa.Text(), nullable=False),
    sa.Column("due_on", sa.Date(), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("evidence", sa.Text(), nullable=False),  # JSON
    sa.Column("money_at_stake", _Money, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("snoozed_until", sa.Date(), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("closed_at", sa.DateTime(), nullable=True),
    sa.Column("created_by", sa.Text(), nullable=True),
    sa.Index("ix_tasks_owner_state_due_on", "owner", "state", "due_on"),
    sa.Index("ix_tasks_customer_id", "customer_id"),
)


# -- playbooks (issue 20, migration 0023_playbooks) ---------------------------------------------

# one row per customer's journey through a playbook: the trigger occurrence that started it is
# ``entry_key`` (unique per playbook and customer, so a trigger seen twice enters once); ``arm``
# is "treated" or "control" (the control group enters but receives nothing)
playbook_journeys = sa.Table(
    "playbook_journeys", metadata,
    sa.Column("journey_id", sa.String(32), primary_key=True),
    sa.Column("playbook", sa.String(64), nullable=False),
    sa.Column("version", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(), nullable=False),
    sa.Column("entry_key", sa.String(128), nullable=False),
    sa.Column("arm", sa.String(8), nullable=False),
    sa.Column("entered_at", sa.DateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # active, done, goal, exited
    sa.Column("ended_at", sa.DateTime(), nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
    sa.Column("goal_at", sa.DateTime(), nullable=True),
    sa.UniqueConstraint("playbook", "customer_id", "entry_key",
                        name="uq_playbook_journeys_entry"),
    sa.Index("ix_playbook_journeys_playbook_state", "playbook", "state"),
    sa.Index("ix_playbook_journeys_customer_id", "customer_id"),
)

# one row per step of a journey to run: the job's id is its idempotency key (journey and
# sequence number), a worker claims it with a lease (lease_owner, lease_until) and completes it
# in the transaction that writes its effect, so a crash neither repeats nor loses it
playbook_jobs = sa.Table(
    "playbook_jobs", metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("journey_id", sa.String(32), nullable=False),
    sa.Column("playbook", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("due_at", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending, claimed, done, skipped, failed
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("done_at", sa.DateTime(), nullable=True),
    sa.Index("ix_playbook_jobs_status_due_at", "status", "due_at"),
    sa.Index("ix_playbook_jobs_journey_id", "journey_id"),
)

# every message a step meant to send, sent or not: ``state`` sent, skipped (``reason``: the
# contact policy's code, or no_address, control, …), failed or dry_run; the id is the job's,
# so a step sends at most once
playbook_messages = sa.Table(
    "playbook_messages", metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
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
    sa.Column("provider_id", sa.Text(), nullable=True),  # the Message-ID, or the gateway's id
    sa.Index("ix_playbook_messages_customer_id_at", "customer_id", "at"),
    sa.Index("ix_playbook_messages_playbook_step_id", "playbook", "step_id"),
)

# events the business sends to POST /v1/events (cart_abandoned, signed_up, …) and those the
# product raises itself for playbooks; ``seq`` orders them for the playbooks' feed, and
# ``event_id`` (the caller's, or derived) makes a resend a no-op
playbook_events = sa.Table(
    "playbook_events", metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(128), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("properties", sa.Text(), nullable=False),  # JSON object
    sa.Column("received_at", sa.DateTime(), nullable=False),
    sa.Index("ix_playbook_events_customer_id_at", "customer_id", "at"),
)

# how far the playbooks' feed has read each source (events by seq, the map by as_of, dates by
# day): a pass resumes where the last one stopped, and a dry run does not move it
playbook_cursors = sa.Table(
    "playbook_cursors", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)

# what the feed last saw of each customer, to tell a change (rung, status, signals, tier)
playbook_facts = sa.Table(
    "playbook_facts", metadata,
    sa.Column("customer_id", sa.String(), primary_key=True),
    sa.Column("rung", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=True),
    sa.Column("signals", sa.Text(), nullable=False),  # JSON list of codes
    sa.Column("tier", sa.String(64), nullable=True),
    sa.Column("seen_at", sa.DateTime(), nullable=False),
)

# tags a playbook's step gave a customer (conditions read them with the attributes' tags)
customer_tags = sa.Table(
    "customer_tags", metadata,
    sa.Column("customer_id", sa.String(), primary_key=True),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Column("added_at", sa.DateTime(), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),  # the playbook, or "api"
)

PLAYBOOK_TABLES = (playbook_journeys, playbook_jobs, playbook_messages, playbook_events,
                   playbook_cursors, playbook_facts, customer_tags)

# maturity and goals (issue 21, migration 0024)
maturity_assessments = sa.Table(
    "maturity_assessments", metadata,
    sa.Column("assessment_id", sa.String(32), primary_key=True),
    sa.Column("taken_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("taken_by", sa.String(64), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("stage", sa.Integer(), nullable=False),  # the overall stage, 1..5
    sa.Column("note", sa.Text(), nullable=True),
)

maturity_answers = sa.Table(
    "maturity_answers", metadata,
    sa.Column("assessment_id", sa.String(32), primary_key=True),
    sa.Column("parameter", sa.String(32), primary_key=True),  # domain.maturity.PARAMETERS
    sa.Column("level", sa.Integer(), nullable=False),  # the owner's answer, 1..5
    sa.Column("suggested_level", sa.Integer(), nullable=True),  # what the data suggested
    sa.Column("evidence", sa.Text(), nullable=True),  # JSON: the evidence behind the suggestion
)

goals = sa.Table(
    "goals", metadata,
    sa.Column("goal_id", sa.String(32), primary_key=True),
    sa.Column("metric", sa.String(32), nullable=False),  # domain.goals.METRICS
    sa.Column("segment", sa.String(64), nullable=True),  # e.g. a rung; None = the whole base
    sa.Column("target", sa.Float(), nullable=False),
    sa.Column("baseline", sa.Float(), nullable=True),  # the metric's value when the goal was set
    sa.Column("starts_on", sa.Date(), nullable=False),
    sa.Column("due_on", sa.Date(), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("retired_at", sa.DateTime(), nullable=True),
)

goal_readings = sa.Table(
    "goal_readings", metadata,
    sa.Column("goal_id", sa.String(32), primary_key=True),
    sa.Column("as_of", sa.Date(), primary_key=True),
    sa.Column("value", sa.Float(), nullable=True),  # None: the metric had no value that day
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
)
