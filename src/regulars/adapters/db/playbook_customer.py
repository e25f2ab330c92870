"""One customer's facts for a playbook's preview (issue 20): the customer's row, its row of
the customer map, its loyalty membership and its tags, as the plain mapping conditions and
templates read (``services/playbooks/ports.py``). Small reads by primary key; the feed reads
the facts of many customers at once its own way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import INPUT_TABLES, customer_tags, loyalty_members, map_customers
from regulars.domain.playbooks.model import ATTRIBUTE_PREFIX, CONDITION_FIELDS
from regulars.domain.tables import Kind
from regulars.services.playbooks.ports import Facts

if TYPE_CHECKING:
    from regulars.services.playbooks.ports import FactsSource

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
_MAP_FIELDS = ("rung", "status", "rfm_segment", "money_at_stake", "revenue", "orders",
               "days_since_last_order", "p_alive", "clv", "first_order_at", "last_order_at")
_CUSTOMER_FIELDS = ("customer_id", "name", "email", "phone", "manager", "birthday",
                    "consent_email", "consent_sms", "consent_messenger", "consent_phone",
                    "do_not_contact")


def split_attributes(raw: object) -> tuple[dict[str, str], list[str]]:
    """``disc=D;founded=2011-05-17;vip`` → ({disc: D, founded: 2011-05-17}, [vip]): a pair is
    an attribute, a bare word a tag."""
    items = raw if isinstance(raw, list) else str(raw or "").split(";")
    attributes: dict[str, str] = {}
    tags: list[str] = []
    for item in (str(i).strip() for i in items):
        key, eq, value = item.partition("=")
        if eq and key.strip():
            attributes[key.strip().lower()] = value.strip()
        elif item:
            tags.append(item)
    return attributes, tags


def _codes(text: object) -> list[str]:
    try:
        value = json.loads(str(text)) if text else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


class SqlCustomerFacts(PooledRows):
    """:class:`~regulars.services.playbooks.ports.FactsSource` for a few customers."""

    def __init__(self, api: SqlApiStore) -> None:
        self.url = api.url
        self.writer = api.writer
        self.reader = api.reader
        self._api = api

    def close(self) -> None:
        self._api.close()

    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        return {cid: facts for cid in customer_ids
                if (facts := self._one(cid)) is not None}

    def _one(self, customer_id: str) -> dict[str, Any] | None:
        c, m = CUSTOMERS.c, map_customers.c
        rows = self._read(
            sa.select(*(c[f] for f in _CUSTOMER_FIELDS), c.attributes,
                      *(m[f] for f in _MAP_FIELDS), m.signals, m.traits)
            .select_from(CUSTOMERS.outerjoin(map_customers, m.customer_id == c.customer_id))
            .where(c.customer_id == customer_id))
        if not rows:
            return None
        row = rows[0]
        member = self._read(sa.select(loyalty_members.c.tier, loyalty_members.c.balance)
                            .where(loyalty_members.c.member_id == customer_id))
        given = [r["tag"] for r in self._read(
            sa.select(customer_tags.c.tag).where(customer_tags.c.customer_id == customer_id)
            .order_by(customer_tags.c.tag))]
        attributes, tags = split_attributes(row["attributes"])
        facts: dict[str, Any] = dict.fromkeys(CONDITION_FIELDS)
        facts.update({k: row[k] for k in (*_CUSTOMER_FIELDS, *_MAP_FIELDS)})
        facts.update(
            signals=_codes(row["signals"]), traits=_codes(row["traits"]),
            tags=[*tags, *(t for t in given if t not in tags)],
            tier=member[0]["tier"] if member else None,
            points=member[0]["balance"] if member else None,
            attributes=attributes,
            language=attributes.get("language"), country=attributes.get("country"),
            time_zone=attributes.get("time_zone") or attributes.get("timezone"),
            orders=row["orders"] or 0,
        )
        facts.update({f"{ATTRIBUTE_PREFIX}{k}": v for k, v in attributes.items()})
        return facts


if TYPE_CHECKING:  # mypy checks that the reader is what the other parts expect
    def _is_facts_source(source: SqlCustomerFacts) -> FactsSource:
        return source
