"""Ingest over HTTP: customers, orders, returns and events, one record or a batch, exactly once.

The rules are the importer's (:mod:`regulars.services.importing`), applied to a few records
in one short transaction instead of a file through DuckDB staging:

- every record is typed by the column contract (``regulars.domain.tables``); ids missing from
  a record are derived from its content as the importer derives them, and the content
  fingerprint (``row_hash``) is the importer's, so a file holding the same rows later finds
  them "already present";
- a record already in the store with the same content is skipped; the same id with other
  content is a problem (customers are the exception: a card is updated, as a CRM expects);
- references must resolve (a return's order, an event's customer); an order of an unknown
  customer creates that customer's card; a card sharing a normalised e-mail or phone with
  another is merged into it, as on import;
- any problem rejects the whole request and nothing is written.

Points: the request's orders and returns are accrued in the ingest's own transaction where the
ledger can join it (``accrue_within``: the server's case, one database), so the rows, their
points, the audit entry and the kept answer commit together; otherwise (``accrue``) after the
commit, in the ledger's own transaction. Both are keyed by order and return id.

``Idempotency-Key``: the response is stored under the key (unique) in the same transaction as
the rows, so of two concurrent retries one commits and the other, meeting the key or its rows,
starts again and replays the stored response; a different body under the same key is a
conflict.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from regulars.domain import rules as domain_rules
from regulars.domain.errors import InputError, Problem
from regulars.domain.privacy import ERASED
from regulars.domain.rules import (
    RETURN_TOO_LARGE,
    InputRules,
    broken,
    limits,
    money_text,
    returns_beyond,
)
from regulars.domain.tables import IMPORT_ORDER, SPECS, ColumnType, Kind, TableSpec
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.api.ports import ApiStore, ApiTx, DuplicateError
from regulars.services.audit import AuditTrail, Caller, Outcome
from regulars.services.importing import plan_merges

_NULL = "\x00"  # the importer's stand-ins inside hashed content (adapters/staging/text.py)
_SEP = "\x1f"
_LIST_SPLIT = re.compile(r"[;|,]")


class RejectedRecordsError(InputError):
    """Records failed validation; nothing was written. ``problems`` name index and field."""

    def __init__(self, problems: list[Problem], message: str, *, conflict: bool = False):
        super().__init__(message)
        self.problems = problems
        self.conflict = conflict


class IdempotencyConflictError(InputError):
    """An ``Idempotency-Key`` reused with another request body."""


@dataclass
class IngestResult:
    received: int = 0
    added: int = 0
    already_present: int = 0
    duplicates_in_request: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    merged: list[dict[str, str]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    # the orders and returns of the request as stored (new and already present), for accrual
    stored: dict[Kind, list[dict[str, Any]]] = field(default_factory=dict)
    # the accrual written in the ingest's transaction: its lines, and what to call after the
    # commit (None: not accrued yet)
    accrued: tuple[list[dict[str, Any]], Callable[[], None]] | None = None

    def body(self) -> dict[str, Any]:
        return {
            "received": self.received, "added": self.added,
            "already_present": self.already_present,
            "duplicates_in_request": self.duplicates_in_request,
            "customers_created": self.customers_created,
            "customers_updated": self.customers_updated, "merged": self.merged,
            "ids": self.ids,
        }


@dataclass(frozen=True)
class IngestAnswer:
    """What an ingest did: the answer's ``body``; ``created`` when it added or updated
    something (else every record was already stored); ``replayed`` when it is the answer
    kept for the ``Idempotency-Key``, with the status the channel kept with it
    (``kept_status``: an HTTP replay answers the status it answered first)."""

    body: dict[str, Any]
    created: bool
    replayed: bool = False
    kept_status: int | None = None

    @property
    def outcome(self) -> Outcome:
        return Outcome.CREATED if self.created else Outcome.UNCHANGED


def _created(body: Mapping[str, Any]) -> bool:
    return bool(body.get("added") or body.get("customers_updated"))


# -- turning records into store rows --------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    return v or None


def _list(value: Any) -> str | None:
    parts: Iterable[Any] = value if isinstance(value, list | tuple) else (
        [] if value is None else _LIST_SPLIT.split(str(value)))
    kept = [s for s in (str(p).strip() for p in parts) if s]
    return ";".join(kept) or None


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.tzinfo is not None:  # the store keeps UTC without an offset
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    raise TypeError(value)


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    d = Decimal(str(value)).quantize(Decimal("0.0001"))
    return d + Decimal("0.0000")  # no negative zero


def canonical(spec: TableSpec, record: Mapping[str, Any],
              currency: str | None) -> dict[str, Any]:
    """A record's values as the store keeps them (the importer's typing rules); an order
    without a currency gets ``currency`` (None leaves it to be filled later)."""
    row: dict[str, Any] = {}
    for col in spec.columns:
        v = record.get(col.name)
        t = col.type
        if t in (ColumnType.ID, ColumnType.TEXT):
            v = _text(v)
            if v is not None and col.choices:
                v = v.lower()
        elif t is ColumnType.LIST:
            v = _list(v)
        elif t is ColumnType.TIMESTAMP:
            v = _timestamp(v)
        elif t is ColumnType.DATE:
            v = v.date() if isinstance(v, datetime) else v
        elif t is ColumnType.MONEY:
            v = _money(v)
        elif t is ColumnType.INTEGER:
            v = None if v is None else int(v)
        elif t is ColumnType.BOOLEAN:
            v = None if v is None else bool(v)
        row[col.name] = v
    if spec.kind is Kind.ORDERS and row.get("currency") is None and currency is not None:
        row["currency"] = currency
    return row


def _render(value: Any) -> str:
    """A value as DuckDB's CAST(... AS VARCHAR) writes it, for the importer's fingerprint."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.4f}"
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += "." + f"{value.microsecond:06d}".rstrip("0")
        return text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def row_hash(spec: TableSpec, row: Mapping[str, Any]) -> str:
    content = _SEP.join(_render(row[n]) for n in spec.names if n != spec.id_column)
    return hashlib.md5(content.encode(), usedforsecurity=False).hexdigest()


def derived_id(spec: TableSpec, fingerprint: str, occurrence: int) -> str:
    """The importer's id for a row without one: content and occurrence among equal rows."""
    digest = hashlib.md5(f"{fingerprint}{_SEP}{occurrence}".encode(),
                         usedforsecurity=False).hexdigest()
    return f"{spec.kind.value[0].upper()}-{digest[:20]}"


def request_hash(method: str, path: str, body: Any) -> str:
    """The fingerprint of a request for ``Idempotency-Key``: the same JSON, however spaced."""
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode()).hexdigest()


# -- the use case ---------------------------------------------------------------------------


Normaliser = Callable[[str | None], str | None]
# (orders, returns) as stored -> one line per order or return that earned or lost points
Accrue = Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]]
# (the ingest's open transaction, orders, returns) -> the lines and what to call once the
# transaction committed; None when the ledger cannot write in that transaction
AccrueWithin = Callable[
    [ApiTx, list[dict[str, Any]], list[dict[str, Any]]],
    tuple[list[dict[str, Any]], Callable[[], None]] | None]


class Ingest:
    """Writes records of one kind for one API key (see the module docstring)."""

    def __init__(
        self,
        store: ApiStore,
        *,
        currency: str,
        normalise_email: Normaliser,
        normalise_phone: Normaliser,
        on_change: Callable[[set[str]], None] | None = None,
        accrue: Accrue | None = None,
        accrue_within: AccrueWithin | None = None,
        rules: InputRules | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.store = store
        # the importer's limits (regulars.domain.rules), checked here in Python
        self.rules = rules or InputRules()
        # looked up at each call, so one clock (domain.rules.today) serves every door
        self.today = today or (lambda: domain_rules.today())  # noqa: PLW0108
        self.accrue = accrue
        # the accrual inside the ingest's own transaction, where the ledger can join it
        self.accrue_within = accrue_within
        self.currency = currency
        self.normalise_email = normalise_email
        self.normalise_phone = normalise_phone
        self.on_change = on_change

    def run(
        self,
        records: Sequence[tuple[Kind, Mapping[str, Any]]],
        *,
        caller: Caller | None = None,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        checked: bool = False,
        typed: bool = False,
    ) -> IngestAnswer:
        """Write ``(kind, record)`` pairs in one transaction, audited under ``caller``
        (default: Python's) in that same transaction.

        The records are checked against the input rules here unless ``checked`` says the
        caller applied the same rules already (the HTTP request models do, so that a broken
        limit is reported beside the type errors of the other records): one check each.
        ``typed`` says the records are :func:`canonical` already (the request models typed
        them for that check, an order's missing currency left None): typed once.

        ``ids`` in the body are the records' ids in request order (derived ones included);
        problems name each record by its position in the request.

        Raises
        ------
        RejectedRecordsError
            any record has a problem (nothing written).
        IdempotencyConflictError
            ``idempotency_key`` was used with another body.
        """
        caller = caller or Caller.python()
        for _attempt in range(5):
            try:
                with self.store.begin() as tx:
                    kept = tx.get_response(caller.actor, idempotency_key) \
                        if idempotency_key else None
                    if kept is None:
                        result = self._write_all(tx, records, caller, idempotency_key,
                                                 fingerprint, checked, typed)
                    elif kept.request_hash != fingerprint:
                        raise IdempotencyConflictError(_(
                            "Idempotency-Key {key!r} was used with another request"
                        ).format(key=idempotency_key))
            except DuplicateError:
                # a concurrent request wrote the same key or row first: look again
                continue
            if kept is not None:
                # accrual is keyed by order and return id: a replay accrues what an
                # interrupted first request may have left undone, and nothing twice
                replayed: dict[str, Any] = json.loads(kept.body)
                return IngestAnswer(
                    self._with_points(replayed, self._replayed_rows(records, replayed)),
                    created=_created(replayed), replayed=True, kept_status=kept.status)
            body = result.body()
            if result.accrued is not None:  # accrued in the ingest's transaction
                lines, after_commit = result.accrued
                answer = _with_lines(body, lines)
                after_commit()
            else:
                answer = self._with_points(body, result.stored)  # points first: the live
            if self.on_change and result.touched:  # map then refreshes after the accrual
                self.on_change(result.touched)
            return IngestAnswer(answer, created=_created(body), replayed=False)
        raise RejectedRecordsError(
            [], _("the request kept colliding with concurrent writes; retry it"), conflict=True)

    def _write_all(self, tx: ApiTx, records: Sequence[tuple[Kind, Mapping[str, Any]]],
                   caller: Caller, idempotency_key: str | None,
                   fingerprint: str, checked: bool, typed: bool = False) -> IngestResult:
        """Every record, kind by kind in import order, its audit entry and the answer kept
        under the ``Idempotency-Key``: one transaction, committed here."""
        result = IngestResult(received=len(records), ids=[""] * len(records))
        for kind in IMPORT_ORDER:
            at = [i for i, (k, _r) in enumerate(records) if k is kind]
            if at:
                self._write(tx, kind, [records[i][1] for i in at], at, result, checked,
                            typed)
        orders, returns = result.stored.get(Kind.ORDERS), result.stored.get(Kind.RETURNS)
        if self.accrue_within is not None and (orders or returns):
            # the ledger in this transaction: the rows and their points commit together
            result.accrued = self.accrue_within(tx, orders or [], returns or [])
        body = result.body()
        outcome = Outcome.CREATED if _created(body) else Outcome.UNCHANGED
        AuditTrail.write_in(tx, caller, "ingest", subject=", ".join(result.ids[:20]),
                            outcome=outcome, detail=body)
        if idempotency_key:  # a concurrent twin stored first: DuplicateError
            # the answer as the caller's channel gave it: HTTP keeps its status to replay
            # (the presenter's number; 0 for a channel without one)
            tx.keep_response(caller.actor, idempotency_key, fingerprint,
                             caller.status(outcome) or 0, json.dumps(body, default=str))
        tx.touch_customers(result.touched)  # the live map's queue, committed with the rows
        tx.commit()
        return result

    def _with_points(self, body: dict[str, Any],
                     stored: Mapping[Kind, list[dict[str, Any]]]) -> dict[str, Any]:
        """The answer with the points the request's orders earned (or returns took back).

        Here accrual runs after the ingest committed, in the loyalty store's own transaction
        (a ledger that cannot join the ingest's, a replay); it is keyed by order and return
        id, so running it again for a retry changes nothing.
        """
        if self.accrue is None or not (stored.get(Kind.ORDERS) or stored.get(Kind.RETURNS)):
            return body
        return _with_lines(body, self.accrue(stored.get(Kind.ORDERS, []),
                                             stored.get(Kind.RETURNS, [])))

    def _replayed_rows(self, records: Sequence[tuple[Kind, Mapping[str, Any]]],
                       body: Mapping[str, Any]) -> dict[Kind, list[dict[str, Any]]]:
        """The orders and returns of a replayed request as they were stored."""
        if self.accrue is None:
            return {}
        ids = list(body.get("ids") or [])
        out: dict[Kind, list[dict[str, Any]]] = {}
        for i, (kind, record) in enumerate(records):
            if kind not in (Kind.ORDERS, Kind.RETURNS) or i >= len(ids):
                continue
            row = canonical(SPECS[kind], record, self.currency)
            row[SPECS[kind].id_column] = ids[i]
            if kind is Kind.ORDERS:
                row["customer_id"] = self.store.resolve_alias(row["customer_id"])
            out.setdefault(kind, []).append(row)
        return out

    # -- per kind ----------------------------------------------------------------------------

    def _write(self, tx: ApiTx, kind: Kind, records: Sequence[Mapping[str, Any]],
               positions: Sequence[int], result: IngestResult, checked: bool = False,
               typed: bool = False) -> None:
        """The records of one kind: checked and typed, then the ones not stored yet written
        once their references resolve; any problem rejects the request."""
        spec = SPECS[kind]
        rows, index = self._rows(spec, records, positions, result, checked, typed)
        if kind is Kind.CUSTOMERS:
            self._customers(tx, rows, index, result)
            return
        refs = [c for c in ("customer_id", "referrer_id", "referee_id") if c in spec.names]
        # the cards the rows name (an alias names the card it was merged into), and which of
        # those cards are stored: one look-up for every reference of every row
        aliases, known = tx.customers_known(sorted({r[c] for r in rows for c in refs}))
        for col in refs:
            for r in rows:
                r[col] = aliases.get(r[col], r[col])
        # orders are inserted at once, the store skipping the ids it holds (one statement,
        # not a look-up and an insert): what an order's references need, the card of a new
        # customer, is written after it; any problem still rolls the whole request back
        inserted = tx.insert_new(kind, rows) if kind is Kind.ORDERS else None
        new_rows, new_index = self._not_stored(tx, spec, rows, index, result, inserted)
        if kind in (Kind.ORDERS, Kind.RETURNS):
            result.stored.setdefault(kind, []).extend(rows)
        if kind is Kind.RETURNS:
            problems = self._returns_resolve(tx, rows, new_rows, new_index, result)
        else:
            problems = self._references_resolve(tx, kind, refs, rows, new_rows, new_index,
                                                result, known)
        if problems:
            raise _rejected(problems)
        if inserted is None:
            tx.insert(kind.value, new_rows)
        result.added += len(new_rows)

    def _rows(self, spec: TableSpec, records: Sequence[Mapping[str, Any]],
              positions: Sequence[int], result: IngestResult, checked: bool,
              typed: bool = False) -> tuple[list[dict[str, Any]], list[int]]:
        """The records as store rows (typed, fingerprinted, ids derived where missing), each
        id once, with their positions in the request. Unless the caller ``checked`` them,
        the records are checked against the input rules (``regulars.domain.rules``): a
        broken limit rejects the request."""
        problems: list[Problem] = []
        rows: list[dict[str, Any]] = []
        index: list[int] = []  # position in the request of each row kept
        seen: dict[str, str] = {}
        occurrences: dict[str, int] = {}
        idc = spec.id_column
        rules = () if checked else limits(spec, self.rules, self.today())
        for i, record in zip(positions, records, strict=True):
            if typed:
                row = dict(record)
                if spec.kind is Kind.ORDERS and row.get("currency") is None:
                    row["currency"] = self.currency
            else:
                row = canonical(spec, record, self.currency)
            for limit in broken(row, rules):
                raw = record.get(limit.column)
                problems.append(Problem(i, limit.column, None if raw is None else str(raw),
                                        limit.message(_)))
            if spec.kind is Kind.CUSTOMERS:
                row["email_norm"] = self.normalise_email(row["email"])
                row["phone_norm"] = self.normalise_phone(row["phone"])
                row["stub"] = False
            row["row_hash"] = h = row_hash(spec, row)
            if row[idc] is None:
                occurrences[h] = occurrences.get(h, 0) + 1
                row[idc] = derived_id(spec, h, occurrences[h])
            result.ids[i] = row[idc]
            if row[idc] in seen:
                if seen[row[idc]] != h:
                    problems.append(Problem(i, idc, row[idc], _(
                        "id appears again with different content in this request")))
                result.duplicates_in_request += 1
                continue
            seen[row[idc]] = h
            rows.append(row)
            index.append(i)
        if problems:
            raise _rejected(problems)
        return rows, index

    @staticmethod
    def _not_stored(tx: ApiTx, spec: TableSpec, rows: list[dict[str, Any]],
                    index: list[int], result: IngestResult, inserted: set[str] | None = None
                    ) -> tuple[list[dict[str, Any]], list[int]]:
        """The rows not in the store yet (``inserted``: the ids just inserted, when the rows
        were written already); the same content again counts as already present, other
        content under a stored id is a conflict (409)."""
        idc = spec.id_column
        looked = [r[idc] for r in rows if inserted is None or r[idc] not in inserted]
        existing = tx.existing(spec.kind, looked) if looked else {}
        new_rows, new_index, problems = [], [], []
        for r, i in zip(rows, index, strict=True):
            fresh = inserted is not None and r[idc] in inserted
            found = None if fresh else existing.get(r[idc])
            if found is None and inserted is not None and not fresh:
                # skipped by the insert, gone by the look-up: a concurrent writer's doing
                raise DuplicateError(r[idc])
            if found is None:
                new_rows.append(r)
                new_index.append(i)
            elif found[0] in (r["row_hash"], ERASED):  # an erased row stays erased
                result.already_present += 1
            else:
                problems.append(Problem(i, idc, r[idc], _(
                    "already in the store with different content")))
        if problems:
            raise _rejected(problems, conflict=True)
        return new_rows, new_index

    def _returns_resolve(self, tx: ApiTx, rows: list[dict[str, Any]],
                         new_rows: list[dict[str, Any]], new_index: list[int],
                         result: IngestResult) -> list[Problem]:
        """New returns need a stored order, and may not take it past its amount."""
        owners = tx.order_customers(sorted({r["order_id"] for r in new_rows}))
        problems = [Problem(i, "order_id", r["order_id"], _("return for an unknown order"))
                    for r, i in zip(new_rows, new_index, strict=True)
                    if r["order_id"] not in owners]
        result.touched |= {owners[r["order_id"]] for r in rows if r["order_id"] in owners}
        if not problems:
            problems += self._beyond_their_orders(tx, new_rows, new_index)
        return problems

    @staticmethod
    def _references_resolve(tx: ApiTx, kind: Kind, refs: Sequence[str],
                            rows: list[dict[str, Any]], new_rows: list[dict[str, Any]],
                            new_index: list[int], result: IngestResult,
                            known: set[str]) -> list[Problem]:
        """The customers new rows refer to (``known``: those of them stored): an order
        creates the card of a customer not known yet; an event's customers must exist, and
        nobody refers themselves."""
        wanted = sorted({r[c] for r in new_rows for c in refs})
        missing = [c for c in wanted if c not in known]
        problems: list[Problem] = []
        if kind is Kind.ORDERS:
            if missing:
                tx.insert(Kind.CUSTOMERS.value, [
                    {"customer_id": c, "stub": True, "row_hash": "stub"} for c in missing])
                result.customers_created += len(missing)
        else:
            for r, i in zip(new_rows, new_index, strict=True):
                problems += [Problem(i, c, r[c], _("unknown customer"))
                             for c in refs if r[c] not in known]
                if kind is Kind.REFERRALS and r["referrer_id"] == r["referee_id"]:
                    problems.append(Problem(i, "referee_id", r["referee_id"],
                                            _("a customer cannot refer themselves")))
        result.touched |= {r[c] for r in rows for c in refs}
        return problems

    @staticmethod
    def _beyond_their_orders(tx: ApiTx, rows: Sequence[Mapping[str, Any]],
                             index: Sequence[int]) -> list[Problem]:
        """Returns that take their order past its amount, with the store's returns and the
        request's before them; the orders stay locked until the commit, so that of two
        concurrent requests returning the same order the second sees the first's returns."""
        left = tx.returnable(sorted({r["order_id"] for r in rows}))
        by_order: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
        for r, i in zip(rows, index, strict=True):
            by_order.setdefault(r["order_id"], []).append((i, r))
        problems = []
        for order_id, items in by_order.items():
            amount, returned = left[order_id]
            for k, remaining in returns_beyond(amount, returned, [r["amount"] for _i, r in items]):
                i, r = items[k]
                problems.append(Problem(i, "amount", money_text(r["amount"]), _(
                    RETURN_TOO_LARGE).format(order=order_id, amount=money_text(amount),
                                             left=money_text(remaining))))
        return sorted(problems, key=lambda p: p.row)

    def _customers(self, tx: ApiTx, rows: list[dict[str, Any]], index: list[int],
                   result: IngestResult) -> None:
        aliases = tx.aliases([r["customer_id"] for r in rows])
        existing = tx.existing(Kind.CUSTOMERS, [r["customer_id"] for r in rows])
        cards: list[tuple[int, dict[str, Any]]] = []  # new cards, and stubs being completed
        for r, i in zip(rows, index, strict=True):
            cid = r["customer_id"]
            if cid in aliases:
                result.already_present += 1
                continue
            found = existing.get(cid)
            if found is None or found[1]:
                cards.append((i, r))
            elif found[0] in (r["row_hash"], ERASED):  # an erased row stays erased
                result.already_present += 1
            else:  # an API client updates a card it sent before
                tx.update_customer(cid, {k: v for k, v in r.items() if k != "customer_id"})
                result.customers_updated += 1
                result.touched.add(cid)
        merges = plan_merges(self._contact_matches(tx, cards))
        merged = {m.alias_id for m in merges}
        now = datetime.now(UTC).replace(tzinfo=None)
        tx.insert("customer_merges", [
            {"alias_id": m.alias_id, "customer_id": m.customer_id, "reason": m.reason,
             "matched_value": m.matched_value, "merged_at": now, "import_id": None}
            for m in merges])
        result.merged += [{"alias_id": m.alias_id, "customer_id": m.customer_id,
                          "reason": m.reason} for m in merges]
        new = []
        for _i, r in cards:
            cid = r["customer_id"]
            if cid in merged:
                continue
            if cid in existing:  # a stub created by an order: now a full card
                tx.update_customer(cid, {k: v for k, v in r.items() if k != "customer_id"})
                result.customers_updated += 1
            else:
                new.append(r)
            result.touched.add(cid)
        tx.insert(Kind.CUSTOMERS.value, new)
        result.added += len(new)
        result.touched |= {m.customer_id for m in merges}

    @staticmethod
    def _contact_matches(tx: ApiTx, cards: list[tuple[int, dict[str, Any]]]) -> pa.Table:
        """The importer's ``contact_matches`` for a few cards (see ``plan_merges``)."""
        ids = {r["customer_id"] for _i, r in cards}
        emails = sorted({r["email_norm"] for _i, r in cards if r["email_norm"]})
        phones = sorted({r["phone_norm"] for _i, r in cards if r["phone_norm"]})
        entries: list[dict[str, Any]] = []
        for i, r in cards:
            for key_type in ("email", "phone"):
                if r[f"{key_type}_norm"]:
                    entries.append({"customer_id": r["customer_id"], "key_type": key_type,
                                    "key": r[f"{key_type}_norm"], "in_store": False,
                                    "stub": False, "created_at": r["created_at"],
                                    "_row": i + 1})
        for c in tx.contacts(emails, phones) if cards else []:
            if c["customer_id"] in ids:
                continue
            for key_type in ("email", "phone"):
                if c[f"{key_type}_norm"]:
                    entries.append({"customer_id": c["customer_id"], "key_type": key_type,
                                    "key": c[f"{key_type}_norm"], "in_store": True,
                                    "stub": bool(c["stub"]), "created_at": None, "_row": None})
        holders: dict[tuple[str, str], set[str]] = {}
        for e in entries:
            holders.setdefault((e["key_type"], e["key"]), set()).add(e["customer_id"])
        shared = [e for e in entries if len(holders[(e["key_type"], e["key"])]) > 1]
        shared.sort(key=lambda e: (e["key_type"], e["key"], e["customer_id"]))
        schema = pa.schema([("customer_id", pa.string()), ("key_type", pa.string()),
                            ("key", pa.string()), ("in_store", pa.bool_()),
                            ("stub", pa.bool_()), ("created_at", pa.timestamp("us")),
                            ("_row", pa.int64())])
        return pa.Table.from_pylist(shared, schema=schema)


def _with_lines(body: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer with its points lines, whichever transaction accrued them (none: as it is)."""
    return {**body, "points": lines} if lines else body


def _rejected(problems: list[Problem], *, conflict: bool = False) -> RejectedRecordsError:
    n = len(problems)
    return RejectedRecordsError(
        problems,
        ngettext("{n} record rejected; nothing was written",
                 "{n} records rejected; nothing was written", n).format(n=fmt_number(n)),
        conflict=conflict,
    )
