"""The HTTP API's reads of customers (the map's list, a customer's card, everything kept
about one person) and their erasure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.erasure import erase
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    api_audit,
    customer_merges,
    customer_tags,
    loyalty_accruals,
    loyalty_card_entries,
    loyalty_club_payments,
    loyalty_coupons,
    loyalty_expiry_notices,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
    loyalty_punches,
    loyalty_referrals,
    loyalty_tier_history,
    map_customers,
    playbook_events,
    playbook_facts,
    playbook_journeys,
    playbook_messages,
    tasks,
)
from regulars.domain.tables import Kind
from regulars.services.api.ports import CustomerFilter

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]
RETURNS = INPUT_TABLES[Kind.RETURNS]

# loyalty tables keyed by member, exported with the customer (referrals: either side)
LOYALTY_BY_MEMBER = (loyalty_members, loyalty_ledger, loyalty_lots,
                     loyalty_accruals, loyalty_tier_history,
                     loyalty_coupons, loyalty_punches,
                     loyalty_club_payments, loyalty_card_entries,
                     loyalty_expiry_notices)



class CustomerRows(PooledRows):
    """Customers as the API shows them."""

    def list_customers(self, f: CustomerFilter) -> list[dict[str, Any]]:
        """A page of the map's customers matching ``f``: by id after ``f.after`` (the API's
        order), or in ``f.sort``'s order from ``f.position`` (keyset pages: each page is a
        range of an index, however deep)."""
        m = map_customers
        conds = _conditions(f, self.reader.dialect.name)
        if f.sort == "id" or f.sort not in _SORTED:
            if f.after is not None:
                conds.append(m.c.customer_id > f.after)
            return self._read(_listing().where(*conds).order_by(m.c.customer_id)
                              .limit(f.limit))
        return self._sorted_page(conds, f)

    def _sorted_page(self, conds: list[sa.ColumnElement[bool]],
                     f: CustomerFilter) -> list[dict[str, Any]]:
        """The rows with a value in the sort's order, then those without (by id): each part
        is one ranged read of its index, so a page costs the same at any depth. A previous
        page (``position.before``) reads backwards from the position and turns round."""
        key, ident = _SORTED[f.sort]
        pos = f.position
        backwards = pos is not None and pos.before
        desc = f.descending != backwards  # the direction of this read
        parts = [False, True]  # the rows with a value, then those without
        if backwards:
            parts.reverse()
        rows: list[dict[str, Any]] = []
        for empty in parts:
            if pos is not None and (pos.value is None) != empty and (
                    empty == backwards):  # this part lies wholly behind the position
                continue
            need = f.limit - len(rows)
            if need <= 0:
                break
            m_id = map_customers.c.customer_id
            if empty:
                where: list[sa.ColumnElement[bool]] = [key.is_(None)]
                if pos is not None and pos.value is None:
                    where.append(m_id < pos.customer_id if desc else m_id > pos.customer_id)
                order = [m_id.desc() if desc else m_id.asc()]
            else:
                where = [key.is_not(None)]
                if pos is not None and pos.value is not None:
                    here = sa.tuple_(sa.literal(pos.value, key.type),
                                     sa.literal(pos.customer_id, ident.type))
                    row = sa.tuple_(key, ident)
                    where.append(row < here if desc else row > here)
                order = [key.desc(), ident.desc()] if desc else [key.asc(), ident.asc()]
            stmt = _listing(inner_card=not empty and f.sort == "name")
            rows += self._read(stmt.where(*conds, *where).order_by(*order).limit(need))
        if backwards:
            rows.reverse()
        return rows

    def count_customers(self, f: CustomerFilter) -> int:
        m, c, lm = map_customers, CUSTOMERS, loyalty_members
        source: sa.FromClause = m
        if _needs_card(f):
            # the card's filters match no map row without a card: an inner join, which
            # lets the database read the cards first
            source = source.join(c, c.c.customer_id == m.c.customer_id)
        if f.tier:
            source = source.outerjoin(lm, lm.c.member_id == m.c.customer_id)
        stmt = sa.select(sa.func.count()).select_from(source).where(
            *_conditions(f, self.reader.dialect.name))
        with failures.translated(self.url), self.reader.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def customer_choices(self) -> dict[str, list[str]]:
        c, lm = CUSTOMERS, loyalty_members
        managers = self._read(sa.select(c.c.manager).where(c.c.manager.is_not(None))
                              .group_by(c.c.manager).order_by(c.c.manager))
        tiers = self._read(sa.select(lm.c.tier).where(lm.c.tier.is_not(None))
                           .group_by(lm.c.tier).order_by(lm.c.tier))
        return {"managers": [str(r["manager"]) for r in managers if str(r["manager"]).strip()],
                "tiers": [str(r["tier"]) for r in tiers]}

    def resolve_alias(self, customer_id: str) -> str:
        t = customer_merges
        rows = self._read(sa.select(t.c.customer_id).where(t.c.alias_id == customer_id))
        return str(rows[0]["customer_id"]) if rows else customer_id

    def customer_card(self, customer_id: str) -> dict[str, Any] | None:
        card = self.customer_profile(customer_id)
        if card is None:
            return None
        orders = self._read(sa.select(*_public(ORDERS)).where(
            ORDERS.c.customer_id == customer_id).order_by(ORDERS.c.ordered_at, ORDERS.c.order_id))
        returns = self._read(sa.select(*_public(RETURNS)).join(
            ORDERS, ORDERS.c.order_id == RETURNS.c.order_id).where(
            ORDERS.c.customer_id == customer_id).order_by(RETURNS.c.returned_at))
        return {**card, "orders": orders, "returns": returns}

    def customer_profile(self, customer_id: str) -> dict[str, Any] | None:
        """The card's input row and its map row (None before a map), without its orders."""
        profile = self._read(sa.select(*_public(CUSTOMERS)).where(
            CUSTOMERS.c.customer_id == customer_id))
        if not profile:
            return None
        row = self._read(sa.select(map_customers).where(
            map_customers.c.customer_id == customer_id))
        return {"profile": profile[0], "map": row[0] if row else None}

    def latest_orders(self, customer_id: str, limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        """The customer's ``limit`` latest orders, latest first, each with its ``returns``,
        and how many orders they have in all: three indexed reads, however many orders."""
        orders = self._read(sa.select(*_public(ORDERS)).where(
            ORDERS.c.customer_id == customer_id).order_by(
            ORDERS.c.ordered_at.desc(), ORDERS.c.order_id.desc()).limit(limit))
        total = self._read(sa.select(sa.func.count().label("n")).select_from(ORDERS).where(
            ORDERS.c.customer_id == customer_id))[0]["n"]
        by_order: dict[str, list[dict[str, Any]]] = {}
        ids = [o["order_id"] for o in orders]
        for i in range(0, len(ids), 500):  # within every engine's parameter limit
            for r in self._read(sa.select(*_public(RETURNS)).where(
                    RETURNS.c.order_id.in_(ids[i:i + 500])).order_by(RETURNS.c.returned_at)):
                by_order.setdefault(r["order_id"], []).append(r)
        return [{**o, "returns": by_order.get(o["order_id"], [])} for o in orders], int(total)

    def contact_history(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        """The customer's interactions, latest first (at most ``limit``), each with the note
        and state of the task it records (a done task's contact is ``task-<task_id>``)."""
        i = INPUT_TABLES[Kind.INTERACTIONS]
        task_ref = sa.literal("task-") + tasks.c.task_id
        stmt = (sa.select(*_public(i), tasks.c.note, tasks.c.task_id)
                .select_from(i.outerjoin(tasks, sa.and_(
                    tasks.c.customer_id == customer_id,  # its index: the customer's tasks
                    task_ref == i.c.interaction_id)))
                .where(i.c.customer_id == customer_id)
                .order_by(i.c.at.desc(), i.c.interaction_id.desc()).limit(limit))
        return self._read(stmt)

    def customer_rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for kind, t in INPUT_TABLES.items():
            if kind is Kind.RETURNS:
                stmt = sa.select(*_public(t)).join(ORDERS, ORDERS.c.order_id == t.c.order_id)\
                    .where(ORDERS.c.customer_id == customer_id)
            elif kind is Kind.REFERRALS:
                stmt = sa.select(*_public(t)).where(sa.or_(
                    t.c.referrer_id == customer_id, t.c.referee_id == customer_id))
            else:
                stmt = sa.select(*_public(t)).where(t.c.customer_id == customer_id)
            out[kind.value] = self._read(stmt)
        merges = customer_merges
        out["customer_merges"] = self._read(sa.select(merges).where(
            merges.c.customer_id == customer_id))
        out["customer_map"] = self._read(sa.select(map_customers).where(
            map_customers.c.customer_id == customer_id))
        # the loyalty programme's records of this member
        for t in LOYALTY_BY_MEMBER:
            out[t.name] = self._read(sa.select(t).where(t.c.member_id == customer_id))
        out[tasks.name] = self._read(sa.select(tasks).where(tasks.c.customer_id == customer_id))
        # the events the business sent for their playbooks (issue 20)
        out[playbook_events.name] = self._read(sa.select(playbook_events).where(
            playbook_events.c.customer_id == customer_id).order_by(playbook_events.c.seq))
        # the playbooks' record of them: the journeys they were taken on, every message a step
        # meant to send them and whether it went, the facts the feed last saw, their tags
        for t, order in ((playbook_journeys, playbook_journeys.c.entered_at),
                         (playbook_messages, playbook_messages.c.at),
                         (playbook_facts, playbook_facts.c.customer_id),
                         (customer_tags, customer_tags.c.tag)):
            out[t.name] = self._read(sa.select(t).where(t.c.customer_id == customer_id)
                                     .order_by(order))
        refs = loyalty_referrals
        out[refs.name] = self._read(sa.select(refs).where(sa.or_(
            refs.c.referrer_id == customer_id, refs.c.referee_id == customer_id)))
        return out

    def erase_customer(self, customer_id: str, *, key_id: str, at: datetime,
                       action: str = "POST /v1/customers/{id}/erase",
                       channel: str = "http", status: int | None = 200) -> dict[str, int]:
        """Erase the person of ``customer_id`` (and of the cards merged into it) in one
        transaction; what goes and what stays is docs/http-api.md#privacy."""
        with self.writer.begin() as conn:
            counts = erase(conn, customer_id)
            conn.execute(api_audit.insert().values(
                at=at, key_id=key_id, action=action, subject=customer_id, status=status,
                detail=json.dumps(counts), channel=channel, use_case="customers.erase",
                outcome="done"))
        return counts



# the sorted orders: the sort's column, and the id column that breaks its ties (the card's
# for the name, so that the read follows the index on the customers table)
_SORTED: dict[str, tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]] = {
    "stake": (map_customers.c.money_at_stake, map_customers.c.customer_id),
    "value": (map_customers.c.revenue, map_customers.c.customer_id),
    "last_order": (map_customers.c.last_order_at, map_customers.c.customer_id),
    "name": (CUSTOMERS.c.name, CUSTOMERS.c.customer_id),
}


def _listing(*, inner_card: bool = False) -> sa.Select[Any]:
    """The list's columns: the map's row, the card's name, contacts, manager and tags, the
    member's tier. ``inner_card``: only rows with a card (a name sort's rows that have one,
    so that SQLite reads them in the order of the cards' name index)."""
    m, c, lm = map_customers, CUSTOMERS, loyalty_members
    on = c.c.customer_id == m.c.customer_id
    card = m.join(c, on) if inner_card else m.outerjoin(c, on)
    return (sa.select(m, c.c.name, c.c.email, c.c.phone, c.c.manager, c.c.attributes,
                      lm.c.tier)
            .select_from(card.outerjoin(lm, lm.c.member_id == m.c.customer_id)))


def _needs_card(f: CustomerFilter) -> bool:
    return bool(f.manager or f.text or f.phones or f.tags)


def _holds(col: sa.ColumnElement[Any], needle: str, dialect: str, *,
           fold: bool = True) -> sa.ColumnElement[bool]:
    """``col`` holds ``needle`` (``fold``: in any case of ASCII letters). SQLite's LIKE folds
    ASCII itself, and is faster without ``lower()`` and without an ESCAPE clause, which is
    added only when the needle has a character to escape."""
    if fold and dialect != "sqlite":
        col, needle = sa.func.lower(col), needle.lower()
    if any(ch in needle for ch in "%_/"):
        escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
        return col.like(f"%{escaped}%", escape="/")
    if not fold and dialect == "sqlite":
        return sa.func.instr(col, needle) > 0  # LIKE would fold the case
    return col.like(f"%{needle}%")


def _conditions(f: CustomerFilter, dialect: str = "") -> list[sa.ColumnElement[bool]]:
    """The filters of ``f`` over ``map_customers``, the customers' cards and the members
    (``dialect``: the store's, for the fastest form of a search there)."""
    m, c, lm = map_customers, CUSTOMERS, loyalty_members
    conds: list[sa.ColumnElement[bool]] = []
    if f.rung:
        conds.append(m.c.rung == f.rung)
    if f.status:
        conds.append(m.c.status == f.status)
    if f.rfm_segment:
        conds.append(m.c.rfm_segment == f.rfm_segment)
    if f.signal:
        conds.append(m.c.signals.contains(json.dumps(f.signal), autoescape=True))
    if f.trait:
        conds.append(m.c.traits.contains(json.dumps(f.trait), autoescape=True))
    if f.manager:
        conds.append(c.c.manager == f.manager)
    if f.tier:
        conds.append(lm.c.tier == f.tier)
    if f.text or f.phones:
        found: list[sa.ColumnElement[bool]] = []
        if f.text:
            # the card's id (the map's, where there is a card): every term of the search is
            # then the card's, and a count reads the cards and looks up only their matches
            found += [_holds(col, f.text, dialect)
                      for col in (c.c.customer_id, c.c.name, c.c.email)]
            # SQLite (and PostgreSQL in the C locale) folds the case of ASCII only: a name
            # in Cyrillic is also looked for as typed, in lower case, capitalised and upper
            found += [_holds(c.c.name, v, dialect, fold=False) for v in _case_forms(f.text)]
        found += [_holds(c.c.phone_norm, d, dialect, fold=False) for d in f.phones if d]
        conds.append(sa.or_(*found))
    for given in f.tags:
        tag = given.strip().lower()
        if not tag:
            continue
        held = sa.literal(";") + sa.func.coalesce(c.c.attributes, "") + sa.literal(";")
        one = _holds(held, f";{tag};", dialect)
        if "=" not in tag:  # a key alone: any value of it
            one = sa.or_(one, _holds(held, f";{tag}=", dialect))
        conds.append(one)
    return conds


def _case_forms(text: str) -> list[str]:
    """The forms of a non-ASCII ``text`` a name may hold it in (none for ASCII)."""
    if text.isascii():
        return []
    forms = {text, text.lower(), text.upper(), text.capitalize(), text.title()}
    return sorted(forms)


def _public(t: sa.Table) -> list[sa.Column[Any]]:
    """A table's columns without the store's bookkeeping."""
    hidden = {"row_hash", "import_id", "email_norm", "phone_norm"}
    return [c for c in t.columns if c.name not in hidden]

