"""The customer card of the web pages (issue 19): everything one person needs about one
customer in one read, and the card's own changes (tags and consent).

The reads are the API's (:func:`regulars.services.api.customers.card`, the loyalty
statement, :meth:`regulars.services.tasks.Tasks.list`) plus the contact history; nothing is
read per order or per task. Words are the page's business: this module hands over codes and
numbers.

Tags and consent change the customer's input row, so they go through ingest
(:class:`regulars.services.api.ingest.Ingest`), as ``POST /v1/customers`` does: the whole
card is sent back with the one field changed, so that the live map, the audit log (the
caller: the person's login) and the webhooks see it like any other update. A logged call is
:meth:`regulars.services.tasks.Tasks.log_contact`.

``scope``: the manager whose customers the caller may see (a manager signed in); another
manager's customer is "not found" for them. None: every customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from regulars.domain.errors import InputError
from regulars.domain.tables import CUSTOMERS, Kind
from regulars.i18n import _
from regulars.services.api import ApiServices
from regulars.services.api import customers as api_customers
from regulars.services.api.ingest import RejectedRecordsError
from regulars.services.audit import Caller
from regulars.services.tasks import TaskFilter

CONSENTS = ("consent_email", "consent_sms", "consent_messenger", "consent_phone")
"""The consent columns the card shows and changes, in the order shown."""
MAX_TAG = 64
MAX_TAGS = 50
_TAG_FORBIDDEN = re.compile(r"[;|,\x00-\x1f\x7f]")
"""The separators of a list column (the importer splits on them) and control characters."""

ORDERS_SHOWN = 20
CHART_ORDERS = 500
"""The timeline draws at most this many of the latest orders."""
FACTS = ("orders", "revenue", "avg_order_value", "typical_gap_days", "days_since_last_order",
         "first_order_at", "last_order_at")
PREDICTIONS = ("p_alive", "expected_orders", "expected_orders_days", "next_order_expected_at",
               "clv", "value_at_risk")
CONTACTS_SHOWN = 30
TASKS_SHOWN = 50


class CardError(InputError):
    """A change of the card that cannot be made; ``field`` names the form field at fault."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Card:
    """One customer as the card shows them (codes and numbers; the page writes the words)."""

    customer_id: str
    profile: dict[str, Any]
    tags: list[str]
    consents: dict[str, bool | None]
    rung: str | None
    status: str | None
    signals: list[str]
    traits: list[str]
    evidence: list[dict[str, Any]]
    facts: dict[str, Any] | None
    predictions: dict[str, Any] | None
    map_as_of: datetime | None
    orders: list[dict[str, Any]]
    """The latest orders read, oldest first, each with its ``returns`` and ``returned``
    (their sum)."""
    orders_total: int = 0
    """How many orders the customer has in all."""
    points: dict[str, Any] | None = None
    coupons: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        name: str | None = self.profile.get("name")
        return name

    @property
    def manager(self) -> str | None:
        manager: str | None = self.profile.get("manager")
        return manager

    def latest_orders(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` latest orders, latest first."""
        return list(reversed(self.orders[-n:])) if n > 0 else []


def tags_of(attributes: str | None) -> list[str]:
    """The tags of a card's ``attributes`` (a list column: ``;``-separated), in order."""
    return [t for t in (p.strip() for p in (attributes or "").split(";")) if t]


def check_tag(text: str) -> str:
    """A tag as it is stored (trimmed), or :class:`CardError` on the field ``tag``."""
    tag = " ".join(text.split())
    if not tag:
        raise CardError(_("Write the tag."), field="tag")
    if len(tag) > MAX_TAG:
        raise CardError(_("A tag has at most {n} characters.").format(n=MAX_TAG), field="tag")
    if _TAG_FORBIDDEN.search(tag):
        raise CardError(_("A tag cannot contain ; , or |."), field="tag")
    return tag


def owned(profile: Mapping[str, Any], scope: str | None) -> bool:
    """Whether a caller bound to the manager ``scope`` may see the customer."""
    return scope is None or profile.get("manager") == scope


def read_card(services: ApiServices, customer_id: str, *, scope: str | None = None,
              task_scope: str | None = None, orders: int = ORDERS_SHOWN,
              contacts: int = CONTACTS_SHOWN) -> Card | None:
    """The card of ``customer_id`` (an id merged into another card reads that card), or None
    when there is none or ``scope`` may not see it. ``task_scope``: the manager whose tasks
    are listed (None: everyone's). ``orders``: how many of the latest orders are read (at
    least :data:`CHART_ORDERS`, for the timeline): a customer with a hundred thousand
    orders costs what one with a thousand does."""
    store = services.store
    cid = store.resolve_alias(customer_id)
    found = store.customer_profile(cid)
    if found is None or not owned(found["profile"], scope):
        return None
    m = api_customers.map_entry(found["map"]) if found["map"] else None
    latest, total = store.latest_orders(cid, max(orders, CHART_ORDERS))
    rows = [{**o, "returned": sum(float(r["amount"] or 0) for r in o["returns"])}
            for o in reversed(latest)]
    profile = found["profile"]
    card = Card(
        customer_id=cid, profile=profile, tags=tags_of(profile.get("attributes")),
        consents={c: profile.get(c) for c in CONSENTS},
        rung=m["rung"] if m else None, status=m["status"] if m else None,
        signals=list(m["signals"]) if m else [], traits=list(m["traits"]) if m else [],
        evidence=list(m["evidence"]) if m else [],
        facts={k: m[k] for k in FACTS} if m else None,
        predictions={k: m.get(k) for k in PREDICTIONS}
        if m and m.get("p_alive") is not None else None,
        map_as_of=m["as_of"] if m else None, orders=rows, orders_total=total)
    if services.loyalty is not None:
        card.points = services.loyalty.card_points(cid)
        if card.points is not None:
            card.coupons = coupons(services, cid)
    if services.tasks is not None:
        listed = services.tasks.list(TaskFilter(customer_id=cid, limit=TASKS_SHOWN),
                                     scope=task_scope)
        # the open ones first (by due day), then the closed ones, latest first
        live = [t for t in listed if t["state"] in ("open", "snoozed")]
        closed = sorted((t for t in listed if t not in live),
                        key=lambda t: str(t.get("closed_at") or ""), reverse=True)
        card.tasks = live + closed
    card.contacts = store.contact_history(cid, contacts)
    return card


def coupons(services: ApiServices, member_id: str) -> list[dict[str, Any]]:
    """The member's coupons still to be used (valid now, or from a later day): code, reward,
    valid until."""
    if services.loyalty is None:
        return []
    service = services.loyalty.service
    now = datetime.now(UTC)
    with service.store.reading() as tx:
        found = tx.coupons_of(member_id)
    return [{"code": c.code, "reward": c.reward, "valid_until": c.valid_until,
             "state": c.state(now)}
            for c in sorted(found, key=lambda c: (c.valid_until, c.code))
            if c.state(now) in ("valid", "not_yet_valid")]


# -- changes ------------------------------------------------------------------------------------


def _update(services: ApiServices, customer_id: str, change: Callable[[dict[str, Any]], None],
            caller: Caller, scope: str | None) -> bool:
    """Send the card back through ingest with ``change`` applied to its record; whether
    anything changed. Raises :class:`CardError` when the customer is not there for
    ``scope``, or ingest refused the record (the problem's column as the field)."""
    cid = services.store.resolve_alias(customer_id)
    found = services.store.customer_card(cid)
    if found is None or not owned(found["profile"], scope):
        raise CardError(_("There is no such customer."), field="customer_id")
    record = {c: found["profile"].get(c) for c in CUSTOMERS.names}
    before = dict(record)
    change(record)
    if record == before:
        return False
    try:
        answer = services.ingest.run([(Kind.CUSTOMERS, record)], caller=caller)
    except RejectedRecordsError as e:
        first = e.problems[0] if e.problems else None
        raise CardError(first.message if first else str(e),
                        field=first.column if first else "") from e
    return answer.created


def add_tag(services: ApiServices, customer_id: str, tag: str, *, caller: Caller,
            scope: str | None = None) -> bool:
    """Add ``tag`` to the card's attributes (nothing when it has it already)."""
    new = check_tag(tag)

    def change(record: dict[str, Any]) -> None:
        tags = tags_of(record.get("attributes"))
        if new in tags:
            return
        if len(tags) >= MAX_TAGS:
            raise CardError(_("A customer has at most {n} tags.").format(n=MAX_TAGS),
                            field="tag")
        record["attributes"] = ";".join([*tags, new])

    return _update(services, customer_id, change, caller, scope)


def remove_tag(services: ApiServices, customer_id: str, tag: str, *, caller: Caller,
               scope: str | None = None) -> bool:
    """Remove ``tag`` from the card's attributes (nothing when it does not have it)."""
    gone = " ".join(tag.split())

    def change(record: dict[str, Any]) -> None:
        tags = tags_of(record.get("attributes"))
        record["attributes"] = ";".join(t for t in tags if t != gone) or None

    return _update(services, customer_id, change, caller, scope)


def parse_consent(value: str | None, field_name: str) -> bool | None:
    """A consent as a form sends it: ``yes``, ``no``, or empty for "not recorded"."""
    v = (value or "").strip().lower()
    if v in ("", "unknown"):
        return None
    if v in ("yes", "no"):
        return v == "yes"
    raise CardError(_("Choose yes, no or not recorded."), field=field_name)


def set_consent(services: ApiServices, customer_id: str, consents: Mapping[str, bool | None],
                *, caller: Caller, scope: str | None = None) -> bool:
    """Set the card's consents (the keys of :data:`CONSENTS` given; the others stay)."""
    unknown = [k for k in consents if k not in CONSENTS]
    if unknown:
        raise CardError(_("Unknown consent: {name}.").format(name=unknown[0]),
                        field=unknown[0])

    def change(record: dict[str, Any]) -> None:
        record.update(consents)

    return _update(services, customer_id, change, caller, scope)
