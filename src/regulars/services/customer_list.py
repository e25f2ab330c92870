"""The customer list of the web pages: search, filters, a sort and keyset pages over the
served customer map, for a person (the owner sees everyone, a manager their own customers).

A query (:class:`ListQuery`) is what the list's form and links carry; :meth:`CustomerList.page`
reads one page of it with the count of every match and the links' positions, and
:meth:`CustomerList.rows` every matching row (the export). Both read the API store's listing
(:meth:`~regulars.services.api.ports.ApiStore.list_customers`), each page one ranged read of
an index however deep it is: a position is the sort value and the id of the row a page starts
after (or, going back, before), carried in the link as an opaque cursor (:func:`encode`).

Search: ``text`` is looked for in the id, the name and the e-mail; when it looks like a phone
number (at least :data:`MIN_PHONE_DIGITS` digits and nothing but ``+ - ( ) . /`` and spaces
beside them) its digits are also looked for in the normalised phones, as typed and as the
importer normalises a phone (``8 912 …`` → ``7912…``), so every way of writing a number finds
it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from regulars.domain.phones import typed_phone_digits
from regulars.services.api.customers import map_entry
from regulars.services.api.ports import ApiStore, CustomerFilter, ListPosition

PAGE_SIZE = 50
EXPORT_BATCH = 1000
MIN_PHONE_DIGITS = 3
MAX_TEXT = 100
MAX_TAGS = 10

SORTS: dict[str, bool] = {"stake": True, "value": True, "last_order": True, "name": False}
"""The list's sorts and whether each is descending by default (the most money first, the
most valuable, the latest order; names from A)."""
DEFAULT_SORT = "stake"

_TAG_SPLIT = re.compile(r"[;,\s]+")

Normaliser = Callable[[str | None], str | None]


@dataclass(frozen=True)
class Scope:
    """Whose customers a person may see: ``manager``'s only (a manager; None: nobody's,
    a manager user bound to no name sees an empty list)."""

    manager: str | None


@dataclass(frozen=True)
class ListQuery:
    """What the list shows: the search, the filters, the sort, and where the page starts
    (``cursor``, and ``at``: the place of its first row, for "51–100 of N")."""

    text: str | None = None
    rung: str | None = None
    status: str | None = None
    signal: str | None = None
    trait: str | None = None
    rfm_segment: str | None = None
    manager: str | None = None
    tier: str | None = None
    tags: tuple[str, ...] = ()
    sort: str = DEFAULT_SORT
    descending: bool | None = None  # None: the sort's own direction
    cursor: str | None = None
    at: int = 1

    @property
    def desc(self) -> bool:
        return SORTS[self.sort] if self.descending is None else self.descending


@dataclass(frozen=True)
class Page:
    """One page: its rows (decoded map entries with the card's name, contacts, manager,
    tier, attributes and the money at stake), the count of every match, the places of its
    first and last rows (1-based; 0 and 0 for none), and the cursors of the pages around."""

    rows: list[dict[str, Any]]
    total: int
    first: int
    last: int
    next_cursor: str | None = None
    previous_cursor: str | None = None
    query: ListQuery = field(default_factory=ListQuery)


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Tags as a person types them: ``vip; disc=D`` or ``vip disc=D`` (at most
    :data:`MAX_TAGS`)."""
    if not text:
        return ()
    return tuple(t for t in _TAG_SPLIT.split(text) if t)[:MAX_TAGS]


def phone_digits(text: str | None, normalise: Normaliser | None = None) -> tuple[str, ...]:
    """The digits to look for in the normalised phones when ``text`` looks like a phone
    number: as typed, and as the importer normalises it."""
    digits = typed_phone_digits(text, MIN_PHONE_DIGITS)
    if digits is None:
        return ()
    found = [digits]
    if normalise is not None:
        norm = normalise(text)
        if norm and norm not in found:
            found.append(norm)
    return tuple(found)


def encode(sort: str, desc: bool, value: Any, customer_id: str, before: bool = False) -> str:
    """A position as an opaque cursor (base64url of a small JSON array)."""
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([sort, desc, value, customer_id, before], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, sort: str, desc: bool) -> ListPosition | None:
    """The position of ``cursor`` when it is one of this sort and direction, else None (the
    first page: a cursor of another order, or not one, starts the list again)."""
    if not cursor:
        return None
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True)
        s, d, value, cid, before = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if s != sort or d != desc or not isinstance(cid, str) or not isinstance(before, bool):
        return None
    if isinstance(value, dict):
        try:
            value = datetime.fromisoformat(str(value.get("t")))
        except ValueError:
            return None
    elif value is not None and not isinstance(value, int | float | str):
        return None
    if sort == "name" and value is not None and not isinstance(value, str):
        return None
    if sort in ("stake", "value") and (isinstance(value, bool) or not (
            value is None or isinstance(value, int | float))):
        return None
    return ListPosition(value=value, customer_id=cid, before=before)


_SORT_FIELD = {"stake": "money_at_stake", "value": "revenue", "last_order": "last_order_at",
               "name": "name"}


class CustomerList:
    """The list over an API store; ``normalise_phone`` is the importer's (the configured
    default country), so a number typed as it is written locally is found."""

    def __init__(self, store: ApiStore, normalise_phone: Normaliser | None = None) -> None:
        self.store = store
        self.normalise_phone = normalise_phone

    def choices(self) -> dict[str, list[str]]:
        """The managers and tiers the filters offer."""
        return self.store.customer_choices()

    def _filter(self, q: ListQuery, scope: Scope | None, limit: int) -> CustomerFilter | None:
        """The store's filter of ``q`` within ``scope`` (None when nothing can match)."""
        manager = q.manager
        if scope is not None:
            if scope.manager is None:
                return None
            manager = scope.manager  # a manager's own, whatever the query says
        text = (q.text or "").strip() or None
        return CustomerFilter(
            rung=q.rung, status=q.status, signal=q.signal, trait=q.trait,
            rfm_segment=q.rfm_segment, manager=manager, tier=q.tier, text=text,
            phones=phone_digits(text, self.normalise_phone), tags=q.tags, sort=q.sort,
            descending=q.desc, limit=limit)

    def page(self, q: ListQuery, scope: Scope | None = None, *,
             size: int | None = None) -> Page:
        """The page of ``q`` (its cursor's, else the first; ``size`` rows, by default
        :data:`PAGE_SIZE`) and the count of every match."""
        size = size or PAGE_SIZE
        f = self._filter(q, scope, size + 1)
        if f is None:
            return Page([], 0, 0, 0, query=q)
        pos = decode(q.cursor, q.sort, q.desc)
        at = max(1, q.at) if pos is not None else 1
        raw = self.store.list_customers(replace(f, position=pos))
        total = self.store.count_customers(f)
        more_after = more_before = False
        if pos is not None and pos.before:
            more_before = len(raw) > size
            raw = raw[-size:] if more_before else raw
            more_after = True  # the page it came back from
            if not more_before:
                at = 1
        else:
            more_after = len(raw) > size
            raw = raw[:size]
            more_before = pos is not None and at > 1
        rows = [self._row(r) for r in raw]
        if pos is None:
            at = 1
        first = at if rows else 0
        last = at + len(rows) - 1 if rows else 0
        key = _SORT_FIELD[q.sort]
        next_cursor = (encode(q.sort, q.desc, rows[-1][key], rows[-1]["customer_id"])
                       if rows and more_after else None)
        previous_cursor = (encode(q.sort, q.desc, rows[0][key], rows[0]["customer_id"],
                                  before=True) if rows and more_before else None)
        return Page(rows, total, first, last, next_cursor, previous_cursor, q)

    def rows(self, q: ListQuery, scope: Scope | None = None, *,
             batch: int = EXPORT_BATCH) -> Iterator[dict[str, Any]]:
        """Every row matching ``q`` in its order (its cursor aside), read a batch at a time
        (each batch its own short read: nothing holds the store while the rows are sent)."""
        f = self._filter(q, scope, batch)
        if f is None:
            return
        key = _SORT_FIELD[q.sort]
        pos: ListPosition | None = None
        while True:
            raw = self.store.list_customers(replace(f, position=pos))
            for r in raw:
                yield self._row(r)
            if len(raw) < batch:
                return
            last = raw[-1]
            pos = ListPosition(value=last[key], customer_id=str(last["customer_id"]))

    @staticmethod
    def _row(r: dict[str, Any]) -> dict[str, Any]:
        e = map_entry(r)
        e["tags"] = [t for t in (e.get("attributes") or "").split(";") if t]
        return e
