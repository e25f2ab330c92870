"""Customers' facts for playbooks' conditions (the port
:class:`regulars.services.playbooks.ports.FactsSource`), read in bulk.

A condition may read anything of a customer: the card, the map's snapshot, the loyalty
membership and the tags playbooks gave. The runner asks for hundreds of customers at once, so
the facts of a chunk of ≤ 500 ids are four queries (one per table), never one per customer.

Attributes are the card's ``k=v;tag`` list: ``k=v`` becomes ``attribute.k`` (and
``attributes[k]``), a bare word a tag (with the tags in ``customer_tags``). The customer's
language, country and time zone come from the attributes ``lang``/``language``,
``country`` and ``tz``/``time_zone``/``timezone``, else the business's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    customer_tags,
    loyalty_members,
    map_customers,
)
from regulars.domain.playbooks.model import ATTRIBUTE_PREFIX
from regulars.domain.tables import Kind
from regulars.services.playbooks.feed import country_code, parse_attributes
from regulars.services.playbooks.ports import Facts

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
CHUNK = 500  # ids per IN (...): well under SQLite's 32,766 parameters and PostgreSQL's plans

_CARD = ("customer_id", "name", "email", "phone", "manager", "birthday", "consent_email",
         "consent_sms", "consent_messenger", "consent_phone", "do_not_contact", "attributes")
_MAP = ("rung", "status", "signals", "traits", "rfm_segment", "money_at_stake", "revenue",
        "orders", "days_since_last_order", "p_alive", "clv", "first_order_at", "last_order_at")
_LANGUAGE_KEYS = ("lang", "language")
_ZONE_KEYS = ("tz", "time_zone", "timezone")
# a business's default country from its phones' calling code ([import] default_phone_country)
CALLING_CODES = {"372": "EE", "7": "RU", "371": "LV", "370": "LT", "358": "FI", "46": "SE",
                 "47": "NO", "45": "DK", "49": "DE", "48": "PL", "44": "GB", "1": "US",
                 "380": "UA", "375": "BY", "33": "FR"}


def _zone(text: str | None) -> str | None:
    if not text:
        return None
    try:
        ZoneInfo(text)
    except (KeyError, ValueError):
        return None
    return text


def _first(values: Mapping[str, str], keys: Sequence[str]) -> str | None:
    for k in keys:
        if values.get(k):
            return values[k]
    return None


def _list(text: Any) -> list[str]:
    if not text:
        return []
    return [str(v) for v in json.loads(text)]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class SqlPlaybookFacts:
    """Facts of customers in the store ``store`` (an API store: its reader engine), with the
    business's defaults for a customer's ``language``, ``country`` (ISO 3166 alpha-2) and
    ``time_zone`` (IANA)."""

    def __init__(self, store: SqlApiStore, *, language: str, country: str | None,
                 time_zone: str, owned: bool = False) -> None:
        self.store = store
        self.owned = owned  # a store of its own, closed with it
        self.language = language
        self.country = country.upper() if country else None
        self.time_zone = time_zone

    def close(self) -> None:
        if self.owned:
            self.store.close()

    def _rows(self, stmt: sa.Select[Any]) -> list[dict[str, Any]]:
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            result = conn.execute(stmt)
            keys = list(result.keys())
            return [dict(zip(keys, r, strict=True)) for r in result.all()]

    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        ids = list(dict.fromkeys(customer_ids))
        out: dict[str, Facts] = {}
        for i in range(0, len(ids), CHUNK):
            out.update(self._chunk(ids[i:i + CHUNK]))
        return out

    def _chunk(self, ids: list[str]) -> dict[str, Facts]:
        cards = self._rows(sa.select(*[CUSTOMERS.c[n] for n in _CARD]).where(
            CUSTOMERS.c.customer_id.in_(ids)))
        if not cards:
            return {}
        mc = map_customers
        maps = {r["customer_id"]: r for r in self._rows(
            sa.select(mc.c.customer_id, *[mc.c[n] for n in _MAP]).where(
                mc.c.customer_id.in_(ids)))}
        lm = loyalty_members
        members = {r["member_id"]: r for r in self._rows(
            sa.select(lm.c.member_id, lm.c.tier, lm.c.balance).where(lm.c.member_id.in_(ids)))}
        tags: dict[str, list[str]] = {}
        for r in self._rows(sa.select(customer_tags.c.customer_id, customer_tags.c.tag).where(
                customer_tags.c.customer_id.in_(ids)).order_by(customer_tags.c.customer_id,
                                                               customer_tags.c.tag)):
            tags.setdefault(r["customer_id"], []).append(r["tag"])
        return {card["customer_id"]: self._facts(card, maps.get(card["customer_id"]),
                                                 members.get(card["customer_id"]),
                                                 tags.get(card["customer_id"], []))
                for card in cards}

    def _facts(self, card: Mapping[str, Any], row: Mapping[str, Any] | None,
               member: Mapping[str, Any] | None, own_tags: list[str]) -> dict[str, object]:
        values, attr_tags = parse_attributes(card["attributes"])
        facts: dict[str, object] = {
            "customer_id": card["customer_id"], "name": card["name"], "email": card["email"],
            "phone": card["phone"], "manager": card["manager"],
            "birthday": _day(card["birthday"]),
            "do_not_contact": bool(card["do_not_contact"]),
            "attributes": values,
            "tags": list(dict.fromkeys([*attr_tags, *own_tags])),
            "language": (_first(values, _LANGUAGE_KEYS) or self.language).lower(),
            "country": country_code(values.get("country")) or country_code(self.country),
            "time_zone": _zone(_first(values, _ZONE_KEYS)) or self.time_zone,
            "tier": member["tier"] if member else None,
            "points": int(member["balance"]) if member else None,
        }
        for channel in ("email", "sms", "messenger", "phone"):
            v = card[f"consent_{channel}"]
            facts[f"consent_{channel}"] = None if v is None else bool(v)
        for k, v in values.items():
            facts[ATTRIBUTE_PREFIX + k] = v
        m = row or {}
        facts.update({
            "rung": m.get("rung"), "status": m.get("status"),
            "signals": _list(m.get("signals")), "traits": _list(m.get("traits")),
            "rfm_segment": m.get("rfm_segment"),
            "money_at_stake": _float(m.get("money_at_stake")),
            "revenue": _float(m.get("revenue")),
            "orders": int(m["orders"]) if m.get("orders") is not None else 0,
            "days_since_last_order": _float(m.get("days_since_last_order")),
            "p_alive": _float(m.get("p_alive")), "clv": _float(m.get("clv")),
            "first_order_at": _moment(m.get("first_order_at")),
            "last_order_at": _moment(m.get("last_order_at")),
        })
        return facts

    # -- every customer, for date and cadence triggers -------------------------------------

    def customer_pages(self, size: int = 5000) -> Iterator[list[str]]:
        """Every customer id, in pages of ``size``, in id order (keyset: a page is one index
        range scan, however far in)."""
        after: str | None = None
        while True:
            stmt = sa.select(CUSTOMERS.c.customer_id).order_by(CUSTOMERS.c.customer_id).limit(size)
            if after is not None:
                stmt = stmt.where(CUSTOMERS.c.customer_id > after)
            with failures.translated(self.store.url), self.store.reader.connect() as conn:
                page = list(conn.execute(stmt).scalars())
            if not page:
                return
            yield page
            if len(page) < size:
                return
            after = page[-1]

    def all_customer_ids(self) -> list[str]:
        return [cid for page in self.customer_pages() for cid in page]
