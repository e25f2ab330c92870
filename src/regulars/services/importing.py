"""Import one file of one kind (DOMAIN §2) into the store: all of it, or nothing.

The steps, each over the whole file at once:

1. read the file (CSV, TSV, whitespace-separated text, Parquet, JSON Lines; the encoding and
   delimiter detected unless given);
2. match columns (``--map``, else our names, else the headers of real exports), type every
   value (date and number formats found per column) and collect every problem with its row
   and column; with ``--credit-notes returns`` negative order or invoice rows are set apart
   first, to become returns;
3. give rows without an id a stable derived one, fingerprint every row's content;
4. drop exact duplicates in the file; a reused id with other content is a problem;
5. drop blacklisted junk leads; merge duplicate customer cards on normalised e-mail/phone;
6. compare with the store: what is there already is skipped, an id with other content is a
   problem, and references (return → order, invoice → customer, …) must resolve;
7. if there is any problem, reject the whole file with a report (or, with ``--quarantine``,
   write the rows with problems to a file and go on without them); otherwise write it in one
   transaction (unless this is a dry run), with the credit notes' returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from regulars.domain.errors import FileFormatError, Problem, RejectedFileError
from regulars.domain.tables import SPECS, Kind, TableSpec
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.ports import Staging, Store, StoreWrite

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; ``total`` 0 means unknown."""


@dataclass(frozen=True)
class Blacklist:
    """Known junk leads: e-mails, phones and customer ids, already normalised."""

    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.emails) + len(self.phones) + len(self.ids)


@dataclass(frozen=True)
class Merge:
    alias_id: str
    customer_id: str
    reason: str
    matched_value: str


@dataclass
class ImportReport:
    """What an import read, found and changed."""

    kind: Kind
    path: str
    rows_read: int = 0
    rows_added: int = 0
    rows_already_present: int = 0
    rows_duplicate_in_file: int = 0
    rows_blacklisted: int = 0
    customers_created: int = 0
    customers_completed: int = 0
    merges: list[Merge] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    """Our column -> the file's column it was read from (given, or recognised)."""
    reading: list[str] = field(default_factory=list)
    """What was found out about the file: encoding, delimiter, date and number formats."""
    read_as: dict[str, str] = field(default_factory=dict)
    """How the file was read (encoding, delimiter, format): what a saved profile keeps."""
    rows_set_aside: int = 0
    set_aside_path: str | None = None
    credit_notes: int = 0
    """Rows with a negative amount imported as returns (``--credit-notes returns``)."""
    credit_note_rules: dict[str, int] = field(default_factory=dict)
    """How many credit notes found their order by its base document ("base") and how many
    by their customer's latest earlier order with enough left ("latest")."""
    returns: ImportReport | None = None
    """The import of the returns the credit notes became."""
    dry_run: bool = False
    import_id: int | None = None
    file_columns: list[str] = field(default_factory=list)
    """The file's columns, in the file's order."""
    problems: list[Problem] = field(default_factory=list)
    """With ``quarantine``: the first problems of the rows set aside (row, column, value,
    message; at most ``max_problems``), as a rejection would have listed them."""
    problems_total: int = 0
    """With ``quarantine``: how many problems the rows set aside had."""
    sample: list[dict[str, Any]] = field(default_factory=list)
    """With ``sample_rows``: the file's first rows as they are read (our columns, typed,
    and ``_row``), before any is set aside."""

    def summary(self) -> str:
        n = fmt_number
        added = (_("would add {n}") if self.dry_run else _("added {n}")).format(
            n=n(self.rows_added))
        parts = [
            ngettext("{n} row read", "{n} rows read", self.rows_read).format(n=n(self.rows_read)),
            added,
            _("{n} already in the store").format(n=n(self.rows_already_present)),
        ]
        if self.rows_duplicate_in_file:
            parts.append(ngettext("{n} exact duplicate skipped", "{n} exact duplicates skipped",
                                  self.rows_duplicate_in_file).format(
                n=n(self.rows_duplicate_in_file)))
        if self.rows_blacklisted:
            parts.append(_("{n} blacklisted skipped").format(n=n(self.rows_blacklisted)))
        if self.customers_created:
            parts.append(ngettext("{n} customer created from orders",
                                  "{n} customers created from orders",
                                  self.customers_created).format(n=n(self.customers_created)))
        if self.customers_completed:
            parts.append(ngettext("{n} customer card completed", "{n} customer cards completed",
                                  self.customers_completed).format(
                n=n(self.customers_completed)))
        if self.merges:
            parts.append(ngettext("{n} duplicate card merged", "{n} duplicate cards merged",
                                  len(self.merges)).format(n=n(len(self.merges))))
        if self.credit_notes:
            parts.append(ngettext("{n} credit note as a return", "{n} credit notes as returns",
                                  self.credit_notes).format(n=n(self.credit_notes)))
        if self.rows_set_aside:
            parts.append(ngettext("{n} row set aside in {path}", "{n} rows set aside in {path}",
                                  self.rows_set_aside).format(
                n=n(self.rows_set_aside), path=self.set_aside_path))
        return f"{self.kind}: " + ", ".join(parts)


def read_blacklist(path: Path, *, normalise_email: Callable[[str], str | None],
                   normalise_phone: Callable[[str], str | None]) -> Blacklist:
    """One entry a line: an e-mail, a phone, or a customer id; ``email:``/``phone:``/``id:``
    prefixes make the kind explicit; ``#`` starts a comment."""
    emails: set[str] = set()
    phones: set[str] = set()
    ids: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise FileFormatError(_("blacklist {path}: {err}").format(path=path, err=e)) from e
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _sep, value = line.partition(":")
        if kind in ("email", "phone", "id") and value:
            line = value.strip()
        else:
            kind = "email" if "@" in line else ("phone" if line.lstrip("+").replace(
                " ", "").replace("-", "").replace("(", "").replace(")", "").isdigit()
                and len(line) >= 7 else "id")
        if kind == "email" and (email := normalise_email(line)):
            emails.add(email)
        elif kind == "phone" and (p := normalise_phone(line)):
            phones.add(p)
        else:
            ids.add(line)
    return Blacklist(frozenset(emails), frozenset(phones), frozenset(ids))


def plan_merges(matches: pa.Table) -> list[Merge]:
    """The merge rule: cards sharing a normalised e-mail or phone are one person.

    Cards connected through any chain of shared keys form one group. The group keeps the card
    already in the store (a real one before one created from an order; the smallest id among
    several), else the file's earliest-created card (then the first in the file). Every other
    card of the file in the group becomes an alias of the kept one.
    """
    rows = matches.to_pylist()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    info: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_key.setdefault((r["key_type"], r["key"]), []).append(r)
        info.setdefault(r["customer_id"], r)
    for group in by_key.values():
        first = find(group[0]["customer_id"])
        for r in group[1:]:
            other = find(r["customer_id"])
            if other != first:
                parent[other] = first
    members: dict[str, list[str]] = {}
    for cid in info:
        members.setdefault(find(cid), []).append(cid)

    def rank(cid: str) -> tuple[Any, ...]:
        r = info[cid]
        created = r["created_at"] or datetime.max
        return (not r["in_store"], bool(r["stub"]), created, r["_row"] or 0, cid)

    reason_for: dict[str, tuple[str, str]] = {}
    for (key_type, key), group in by_key.items():
        for r in group:
            reason_for.setdefault(r["customer_id"], (key_type, key))
    merges = []
    for group_ids in members.values():
        keep = min(group_ids, key=rank)
        for cid in sorted(group_ids):
            if cid != keep and not info[cid]["in_store"]:
                key_type, key = reason_for[cid]
                merges.append(Merge(cid, keep, key_type, key))
    return merges


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# over 60 lines for its signature and docstring: the body runs the steps below in order
def import_file(
    *,
    store: Store,
    staging: Staging,
    kind: Kind,
    path: Path,
    options: Any,
    max_problems: int = 20,
    batch_rows: int = 100_000,
    blacklist: Blacklist | None = None,
    strict_customers: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    default_currency: str | None = None,
    quarantine: Path | None = None,
    new_staging: Callable[[], AbstractContextManager[Staging]] | None = None,
    within: StoreWrite | None = None,
    pending_orders: pa.Table | None = None,
    sample_rows: int = 0,
) -> ImportReport:
    """Validate ``path`` as a table of ``kind`` and, unless ``dry_run``, add it to ``store``.

    ``quarantine``: rows with a problem are written to that CSV file (their columns, then
    row, line, column and reason) and the others are imported, instead of rejecting the file.
    ``options.credit_notes == "returns"``: negative order or invoice rows become returns of
    the order they correct (:meth:`Staging.credit_note_returns` says which), imported after
    the file with a second staging from ``new_staging``, in the same transaction: a credit
    note refused leaves none of the file written.
    ``within``: write inside that open transaction (the caller commits); ``pending_orders``
    (``id, amount``): orders written earlier in it, which returns may name.
    ``sample_rows``: keep the file's first rows as read in ``report.sample`` (a preview).

    Raises
    ------
    RejectedFileError
        when any row has a problem; nothing is written. ``problems`` lists the first
        ``max_problems`` by row, ``total`` counts them all.
    FileFormatError, MissingColumnError
        when the file cannot be read or lacks a required column.
    """
    run = _Run(store=store, staging=staging, kind=kind, spec=SPECS[kind], path=path,
               options=options, max_problems=max_problems, quarantine=quarantine,
               report=ImportReport(kind=kind, path=str(path), dry_run=dry_run),
               step=progress or (lambda _stage, _done, _total: None),
               sample_rows=sample_rows)
    _read_and_check(run, default_currency)                        # steps 1 and 2
    aliases, stubs = _against_store(run, blacklist)               # steps 3 to 6
    new_customers = _check_references(run, aliases, strict_customers, pending_orders)
    if run.report.credit_notes:
        run.report.credit_note_rules = staging.credit_note_returns(
            run.spec, run.options, orders=store.read_table(Kind.ORDERS),
            returns=store.read_table(Kind.RETURNS), aliases=aliases)
    try:                                                          # step 7
        run.reject_if_problems()
    finally:
        if quarantine is not None and run.report.rows_set_aside:
            staging.write_set_aside(quarantine)
            run.report.set_aside_path = str(quarantine)

    run.report.rows_added = staging.count("typed")
    run.report.customers_created = len(new_customers)
    if dry_run:
        return run.report
    with _transaction(store, within) as write:
        # the credit notes' returns check against the store through other connections, in
        # this transaction: tables it loaded must not be locked for the index rebuild
        write.bulk_load = write.bulk_load and not run.report.credit_notes
        _write(run, write, stubs=stubs, new_customers=new_customers, batch_rows=batch_rows)
        if run.report.credit_notes and new_staging is not None:
            # the returns the credit notes make, in this transaction: refused, they take the
            # file's orders back with them
            run.report.returns = _import_credit_notes(
                staging.credit_returns(), store=store, new_staging=new_staging,
                options=run.options, max_problems=max_problems, batch_rows=batch_rows,
                within=write,
                pending_orders=staging.added_orders() if kind is Kind.ORDERS else None)
        if within is None:
            write.commit()
    return run.report


@dataclass
class _Run:
    """One import under way: what every step reads, and the report they fill in."""

    store: Store
    staging: Staging
    kind: Kind
    spec: TableSpec
    path: Path
    options: Any
    max_problems: int
    quarantine: Path | None
    report: ImportReport
    step: Progress
    sample_rows: int = 0

    def set_aside(self) -> None:
        """Take the rows with a problem out (``--quarantine``), keeping the first problems
        and their count in the report."""
        problems, total = self.staging.problem_list(self.max_problems)
        report = self.report
        report.problems = sorted([*report.problems, *problems],
                                 key=lambda p: (p.row, p.column))[:self.max_problems]
        report.problems_total += total
        report.rows_set_aside += self.staging.set_aside()

    def reject_if_problems(self) -> None:
        if self.quarantine is not None:
            self.set_aside()
        problems, total = self.staging.problem_list(self.max_problems)
        if total:
            raise RejectedFileError(self.path, problems, total,
                                    rejection_message(self.path, problems, total))


def _read_and_check(run: _Run, default_currency: str | None) -> None:
    """Read the file, match its columns, set credit notes apart and type every value."""
    staging, spec, report = run.staging, run.spec, run.report
    run.step(_("reading"), 0, 0)
    file_columns = staging.read(run.path, run.options)
    found, report.ignored_columns = staging.resolve_columns(spec, file_columns, run.options)
    report.columns = found
    if run.quarantine is not None:
        staging.keep_raw()
    # a currency sign on the amounts (₽, €) says the currency a file without the column means
    currency = (run.options.currency or staging.amount_currency(spec, run.options)
                or default_currency)
    if currency != run.options.currency:
        run.options = dataclasses.replace(run.options, currency=currency)
    may_credit = run.kind in (Kind.ORDERS, Kind.INVOICES)
    route_credit = may_credit and run.options.credit_notes == "returns"
    if route_credit:
        report.credit_notes = staging.split_credit_notes(spec, run.options)
    run.step(_("validating"), 0, 0)
    checked = staging.check(spec, run.options, max_problems=run.max_problems,
                            fingerprint=True)
    report.file_columns = list(file_columns)
    if run.sample_rows:
        report.sample = staging.sample(spec, run.sample_rows)
    report.rows_read = checked.rows_read + report.credit_notes
    report.reading = list(staging.notes)
    report.read_as = dict(staging.detected)
    if report.rows_read == 0:
        raise FileFormatError(_("{path}: no data rows").format(path=run.path))
    if may_credit and not route_credit:
        staging.hint_credit_notes()
    if run.quarantine is not None:
        # rows whose values are wrong leave before they can create or merge customers
        run.set_aside()


def _against_store(run: _Run, blacklist: Blacklist | None) -> tuple[pa.Table, pa.Array]:
    """Ids, duplicates, blacklist, aliases, and what the store has already: the store's
    aliases and the customer stubs the file completes."""
    staging, spec, kind, report, store = run.staging, run.spec, run.kind, run.report, run.store
    # rows with bad values stay in for the checks below, so one report lists every problem
    store.ensure_schema()

    id_given = spec.id_column in report.columns
    staging.add_identity(spec, id_given)
    report.rows_duplicate_in_file = staging.dedupe_in_file(spec, ids_derived=not id_given)
    if kind is Kind.CUSTOMERS:
        staging.normalise_contacts()
    if blacklist:
        report.rows_blacklisted = staging.apply_blacklist(kind, blacklist)

    aliases = store.aliases()
    for col in ("customer_id", "referrer_id", "referee_id"):
        if col in spec.names and kind is not Kind.CUSTOMERS:
            staging.resolve_aliases(col, aliases)

    if kind is Kind.CUSTOMERS:
        # a card merged before is already known under the card it was merged into
        alias_ids = aliases.column("alias_id").combine_chunks()
        report.rows_already_present += staging.drop_ids(spec, alias_ids)
    present, stubs = staging.against_store(spec, store.existing_keys(kind))
    report.rows_already_present += present
    report.customers_completed = len(stubs)
    return aliases, stubs


def _check_references(run: _Run, aliases: pa.Table, strict_customers: bool,
                      pending_orders: pa.Table | None) -> pa.Array:
    """Merges for a customer file, orders for returns, customers for the rest: the customers
    the file creates from its references."""
    staging, store, kind = run.staging, run.store, run.kind
    new_customers = pa.array([], pa.string())
    if kind is Kind.CUSTOMERS:
        run.report.merges = plan_merges(staging.contact_matches(store.customer_contacts()))
        staging.drop_ids(run.spec, pa.array([m.alias_id for m in run.report.merges],
                                            pa.string()))
    elif kind is Kind.RETURNS:
        _check_returned_orders(run, pending_orders)
    else:
        known = store.ids(Kind.CUSTOMERS)
        refs = [r for r in run.spec.references if r.kind is Kind.CUSTOMERS]
        for ref in refs:
            if ref.creates_missing and not strict_customers:
                new_customers = staging.missing_references(ref.column, known)
            else:
                staging.check_references(ref.column, known, _("unknown customer"))
        if kind is Kind.REFERRALS:
            staging.check_self_referrals()
    return new_customers


def _check_returned_orders(run: _Run, pending_orders: pa.Table | None) -> None:
    """Every return names a known order and stays within what is left of it."""
    staging, store = run.staging, run.store
    unknown_order = _("return for an unknown order")
    known_orders = store.ids(Kind.ORDERS)
    returnable = store.returnable(staging.returned_orders())
    if pending_orders is not None and pending_orders.num_rows:
        known_orders = pa.concat_tables([
            known_orders, pending_orders.select(["id"]).cast(known_orders.schema)])
        returnable = pa.concat_tables([returnable, pa.table({
            "id": pending_orders.column("id"), "amount": pending_orders.column("amount"),
            "returned": pa.nulls(pending_orders.num_rows, pa.float64()),
        }).cast(returnable.schema)])
    staging.check_references("order_id", known_orders, unknown_order)
    # never more than what is left of the order, with the store's returns (checked again,
    # with the order locked, once the rows are in: see over_returned below)
    staging.check_returns_within_orders(returnable)


def _write(run: _Run, write: StoreWrite, *, stubs: pa.Array, new_customers: pa.Array,
           batch_rows: int) -> None:
    """The import's record, its rows, the customers it creates and the cards it merges."""
    staging, report, kind = run.staging, run.report, run.kind
    import_id = write.next_import_id()
    report.import_id = import_id
    write.add_import(
        {
            "id": import_id,
            "kind": kind.value,
            "source": str(run.path.resolve()),
            "sha256": _sha256(run.path),
            "started_at": datetime.now(UTC).replace(tzinfo=None),
            "rows_read": report.rows_read,
            "rows_added": report.rows_added,
            "rows_already_present": report.rows_already_present,
            "rows_duplicate_in_file": report.rows_duplicate_in_file,
            "rows_blacklisted": report.rows_blacklisted,
            "customers_created": report.customers_created,
            "customers_merged": len(report.merges),
        }
    )
    write.delete_stubs(stubs)

    def batches() -> Iterator[pa.RecordBatch]:
        written = 0
        for batch in staging.rows_for_store(run.spec, import_id, batch_rows,
                                            text_times=write.text_times):
            yield batch
            written += batch.num_rows
            run.step(_("writing"), written, report.rows_added)

    # all of them in one call: the store may build an empty table's indexes after the rows
    write.append(kind, batches())
    if kind is Kind.RETURNS:
        # a concurrent import or API request may have returned part of an order since
        # the check above: with the orders locked, the store says which orders the file
        # now takes past their amount, and the file's rows are checked against the
        # returns of the others again (rolled back on a problem)
        over = write.over_returned(import_id)
        if over.num_rows:
            staging.check_returns_within_orders(over)
            run.reject_if_problems()
    if len(new_customers):
        write.append(Kind.CUSTOMERS, stub_customers(new_customers, import_id).to_batches())
    if report.merges:
        now = datetime.now(UTC).replace(tzinfo=None)
        write.append_table(
            "customer_merges",
            pa.Table.from_pylist(
                [
                    {"alias_id": m.alias_id, "customer_id": m.customer_id,
                     "reason": m.reason, "matched_value": m.matched_value,
                     "merged_at": now, "import_id": import_id}
                    for m in report.merges
                ]
            ),
        )


@contextmanager
def _transaction(store: Store, within: StoreWrite | None) -> Iterator[StoreWrite]:
    """The import's transaction: its own, or the caller's (who commits it)."""
    if within is not None:
        yield within
        return
    with store.writing() as write:
        yield write


def _import_credit_notes(
    returns: pa.Table, *, store: Store, new_staging: Callable[[], AbstractContextManager[Staging]],
    options: Any, max_problems: int, batch_rows: int, within: StoreWrite,
    pending_orders: pa.Table | None,
) -> ImportReport | None:
    """The credit notes' returns, imported as a returns file is (every rule of returns holds),
    inside the transaction that writes the orders they return."""
    if returns.num_rows == 0:
        return None
    plain = dataclasses.replace(
        options, format="parquet", mapping={}, columns=(), header=None, delimiter=None,
        encoding=None, date_format=None, decimal_comma=None, credit_notes=None)
    with tempfile.TemporaryDirectory(prefix="regulars-") as tmp:
        file = Path(tmp) / "credit-notes.parquet"
        pq.write_table(returns, file)
        with new_staging() as staging:
            return import_file(store=store, staging=staging, kind=Kind.RETURNS, path=file,
                               options=plain, max_problems=max_problems,
                               batch_rows=batch_rows, within=within,
                               pending_orders=pending_orders)


def stub_customers(ids: pa.Array, import_id: int) -> pa.Table:
    """Cards for customers known only from their orders, completed by a later customer file."""
    n = len(ids)
    return pa.table(
        {
            "customer_id": ids,
            "stub": pa.array([True] * n),
            "row_hash": pa.array(["stub"] * n),
            "import_id": pa.array([import_id] * n, pa.int32()),
        }
    )


def rejection_message(path: Path, problems: list[Problem], total: int) -> str:
    head = ngettext(
        "{path}: rejected, {n} problem found; nothing was written",
        "{path}: rejected, {n} problems found; nothing was written",
        total,
    ).format(path=path, n=fmt_number(total))
    lines = [head]
    for p in problems:
        # row and line are positions to look up in the file: written as they are
        if p.line is not None and p.column:
            where = _("row {row} (line {line}), column {column}").format(
                row=p.row, line=p.line, column=p.column)
        elif p.column:
            where = _("row {row}, column {column}").format(row=p.row, column=p.column)
        elif p.line is not None:
            where = _("row {row} (line {line})").format(row=p.row, line=p.line)
        else:
            where = _("row {row}").format(row=p.row)
        value = "" if p.value is None else f" {p.value!r}"
        lines.append(f"  {where}:{value} {p.message}")
    if total > len(problems):
        lines.append(_("  … and {n} more").format(n=fmt_number(total - len(problems))))
    return "\n".join(lines)
