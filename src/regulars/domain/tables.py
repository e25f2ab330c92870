"""The input tables of DOMAIN §2: their kinds, columns, types and rules.

This is the contract every other part reads: the importer validates files against it, the
store creates its tables from it, the demo generator writes it, and analytics expects these
column names. Only ``orders`` is mandatory for an analysis; every other table enables more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """A kind of input table (DOMAIN §2)."""

    CUSTOMERS = "customers"
    ORDERS = "orders"
    RETURNS = "returns"
    INVOICES = "invoices"
    INTERACTIONS = "interactions"
    FEEDBACK = "feedback"
    REFERRALS = "referrals"


class ColumnType(StrEnum):
    ID = "id"  # text identifier, trimmed, never empty
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    MONEY = "money"  # decimal amount, two to four places
    INTEGER = "integer"
    BOOLEAN = "boolean"
    LIST = "list"  # ';'-separated values (categories, add-on services, tags)


# How a yes/no is written in exports and by API clients that send every value as text
# (Russian да/нет, Estonian jah/ei), compared in lower case.
YES_WORDS = ("1", "true", "t", "yes", "y", "да", "д", "jah", "j")
NO_WORDS = ("0", "false", "f", "no", "n", "нет", "н", "ei", "e")


class When(StrEnum):
    """What a date or time column records, which decides the window it must fall in
    (:mod:`regulars.domain.rules`)."""

    HAPPENED = "happened"  # a fact that took place: not in the future
    DUE = "due"  # a deadline: may lie ahead, within reason
    BORN = "born"  # a birthday: not in the future


INTERACTION_DIRECTIONS = ("in", "out")
INTERACTION_KINDS = ("offer", "greeting", "reminder", "call", "complaint", "support", "event")


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    type: ColumnType
    required: bool = False
    description: str = ""
    non_negative: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    when: When = When.HAPPENED
    """For dates and times: what the value records (the window it must fall in)."""


@dataclass(frozen=True)
class References:
    """A column that must name a row of another table."""

    column: str
    kind: Kind
    # orders create the customer card they name when it is not known yet
    creates_missing: bool = False


@dataclass(frozen=True)
class TableSpec:
    """The shape of one input table."""

    kind: Kind
    id_column: str
    columns: tuple[Column, ...]
    # an id derived from the row's content when the file has none (stable across re-imports)
    derived_id: bool = False
    references: tuple[References, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_T = ColumnType

CUSTOMERS = TableSpec(
    Kind.CUSTOMERS,
    "customer_id",
    (
        Column("customer_id", _T.ID, required=True),
        Column("name", _T.TEXT),
        Column("email", _T.TEXT),
        Column("phone", _T.TEXT),
        Column("created_at", _T.TIMESTAMP, description="when the customer became known"),
        Column("birthday", _T.DATE, when=When.BORN),
        Column("manager", _T.TEXT, description="the responsible person"),
        Column("consent_email", _T.BOOLEAN),
        Column("consent_sms", _T.BOOLEAN),
        Column("consent_messenger", _T.BOOLEAN),
        Column("consent_phone", _T.BOOLEAN),
        Column("do_not_contact", _T.BOOLEAN),
        Column("attributes", _T.LIST, description="free-form tags, e.g. disc=D;decision=fast"),
    ),
)

ORDERS = TableSpec(
    Kind.ORDERS,
    "order_id",
    (
        Column("order_id", _T.ID, description="derived from the row when the file has none"),
        Column("customer_id", _T.ID, required=True),
        Column("ordered_at", _T.TIMESTAMP, required=True),
        Column("amount", _T.MONEY, required=True, non_negative=True),
        Column("currency", _T.TEXT, description="defaults to the configured currency"),
        Column("discount_amount", _T.MONEY, non_negative=True),
        Column("cost", _T.MONEY, description="cost of goods, for margin"),
        Column("channel", _T.TEXT),
        Column("quantity", _T.INTEGER, non_negative=True),
        Column("categories", _T.LIST, description="product categories in the order"),
        Column("new_products", _T.INTEGER, non_negative=True,
               description="items that were new products at the time"),
        Column("addons", _T.LIST, description="add-on services used"),
    ),
    derived_id=True,
    references=(References("customer_id", Kind.CUSTOMERS, creates_missing=True),),
)

RETURNS = TableSpec(
    Kind.RETURNS,
    "return_id",
    (
        Column("return_id", _T.ID, description="derived from the row when the file has none"),
        Column("order_id", _T.ID, required=True),
        Column("returned_at", _T.TIMESTAMP, required=True),
        Column("amount", _T.MONEY, required=True, non_negative=True),
        Column("reason", _T.TEXT),
    ),
    derived_id=True,
    references=(References("order_id", Kind.ORDERS),),
)

INVOICES = TableSpec(
    Kind.INVOICES,
    "invoice_id",
    (
        Column("invoice_id", _T.ID, required=True),
        Column("customer_id", _T.ID, required=True),
        Column("due_at", _T.TIMESTAMP, required=True, when=When.DUE),
        Column("amount", _T.MONEY, required=True, non_negative=True),
        Column("order_id", _T.ID),
        Column("paid_at", _T.TIMESTAMP),
    ),
    references=(References("customer_id", Kind.CUSTOMERS),),
)

INTERACTIONS = TableSpec(
    Kind.INTERACTIONS,
    "interaction_id",
    (
        Column("interaction_id", _T.ID, description="derived from the row when the file has none"),
        Column("customer_id", _T.ID, required=True),
        Column("at", _T.TIMESTAMP, required=True),
        Column("channel", _T.TEXT, required=True),
        Column("direction", _T.TEXT, required=True, choices=INTERACTION_DIRECTIONS),
        Column("kind", _T.TEXT, required=True, choices=INTERACTION_KINDS),
        Column("responded_at", _T.TIMESTAMP),
        Column("outcome", _T.TEXT),
        Column("manager", _T.TEXT),
    ),
    derived_id=True,
    references=(References("customer_id", Kind.CUSTOMERS),),
)

FEEDBACK = TableSpec(
    Kind.FEEDBACK,
    "feedback_id",
    (
        Column("feedback_id", _T.ID, description="derived from the row when the file has none"),
        Column("customer_id", _T.ID, required=True),
        Column("at", _T.TIMESTAMP, required=True),
        Column("nps", _T.INTEGER, min_value=0, max_value=10),
        Column("csat", _T.INTEGER, min_value=1, max_value=5),
        Column("complaint", _T.BOOLEAN),
        Column("text", _T.TEXT),
    ),
    derived_id=True,
    references=(References("customer_id", Kind.CUSTOMERS),),
)

REFERRALS = TableSpec(
    Kind.REFERRALS,
    "referral_id",
    (
        Column("referral_id", _T.ID, description="derived from the row when the file has none"),
        Column("referrer_id", _T.ID, required=True),
        Column("referee_id", _T.ID, required=True),
        Column("at", _T.TIMESTAMP, required=True),
        Column("code", _T.TEXT),
    ),
    derived_id=True,
    references=(
        References("referrer_id", Kind.CUSTOMERS),
        References("referee_id", Kind.CUSTOMERS),
    ),
)

SPECS: dict[Kind, TableSpec] = {
    s.kind: s
    for s in (CUSTOMERS, ORDERS, RETURNS, INVOICES, INTERACTIONS, FEEDBACK, REFERRALS)
}

# The order in which a whole business must be imported so that references resolve.
IMPORT_ORDER: tuple[Kind, ...] = (
    Kind.CUSTOMERS,
    Kind.ORDERS,
    Kind.RETURNS,
    Kind.INVOICES,
    Kind.INTERACTIONS,
    Kind.FEEDBACK,
    Kind.REFERRALS,
)
