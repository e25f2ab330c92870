"""Entities of the business's history (DOMAIN §2), as plain dataclasses.

The store maps them imperatively (``regulars.adapters.db.tables``); bulk imports bypass them and
write whole tables at once, so they carry no behaviour that bulk rows would skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass
class Customer:
    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    birthday: date | None = None
    manager: str | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_messenger: bool | None = None
    consent_phone: bool | None = None
    do_not_contact: bool | None = None
    attributes: str | None = None
    # normalised keys used to find the same person twice (one card per person)
    email_norm: str | None = None
    phone_norm: str | None = None
    # a card created from an order before the customer file arrived; a later customer file
    # completes it instead of conflicting with it
    stub: bool = False
    row_hash: str = ""
    import_id: int | None = None


@dataclass
class Order:
    order_id: str
    customer_id: str
    ordered_at: datetime
    amount: Decimal
    currency: str | None = None
    discount_amount: Decimal | None = None
    cost: Decimal | None = None
    channel: str | None = None
    quantity: int | None = None
    categories: str | None = None
    new_products: int | None = None
    addons: str | None = None
    row_hash: str = ""
    import_id: int | None = None


@dataclass
class CustomerMerge:
    """A duplicate card folded into another: ``alias_id`` now means ``customer_id``."""

    alias_id: str
    customer_id: str
    reason: str  # "email" or "phone"
    matched_value: str
    merged_at: datetime
    import_id: int | None = None


@dataclass
class ImportBatch:
    """One accepted import of one file: what came in and what it changed."""

    kind: str
    source: str
    sha256: str
    started_at: datetime
    rows_read: int = 0
    rows_added: int = 0
    rows_already_present: int = 0
    rows_duplicate_in_file: int = 0
    rows_blacklisted: int = 0
    customers_created: int = 0
    customers_merged: int = 0
    id: int | None = field(default=None)
