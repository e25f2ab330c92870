"""Credit notes (negative amounts) in a file of orders or invoices: split out, matched to the
order each one returns, and turned into returns; or, when not asked for, a hint that they are
credit notes."""

from __future__ import annotations

import pyarrow as pa

from regulars.adapters.staging.detect import ReadOptions
from regulars.adapters.staging.text import _lit, _q
from regulars.adapters.staging.typed import Typing
from regulars.domain.tables import ColumnType, Kind, TableSpec
from regulars.i18n import _


class CreditNotes(Typing):
    """What the import does with a file's negative amounts."""

    def amount_currency(self, spec: TableSpec, opts: ReadOptions) -> str | None:
        """The one currency the amount column's signs or codes name (₽, руб., €, EUR), if any."""
        src = self.source_names.get("amount")
        if src is None or "currency" not in spec.names or self._source_types()[src] != "VARCHAR":
            return None
        return self._money_format("amount", f"nullif(trim({_q(src)}), '')", opts)[1]

    def split_credit_notes(self, spec: TableSpec, opts: ReadOptions) -> int:
        """Move the rows with a negative amount (credit notes) out of ``raw`` into
        ``_credit_raw``: they are not orders or invoices, but returns of earlier orders."""
        types = self._source_types()
        # the formats of dates and amounts are found on the whole file, credit notes included
        for col in spec.columns:
            if col.name in self.source_names and col.type in (
                    ColumnType.MONEY, ColumnType.DATE, ColumnType.TIMESTAMP):
                self._typed_expr(spec, col.name, types[self.source_names[col.name]], opts)
        amount = self._typed_expr(spec, "amount", types[self.source_names["amount"]], opts)
        self.con.execute(f"CREATE OR REPLACE TABLE _credit_raw AS SELECT * FROM raw "
                         f"WHERE ({amount}) < 0")
        self.materialise_raw()
        self.con.execute("DELETE FROM raw WHERE _row IN (SELECT _row FROM _credit_raw)")
        return self._count("_credit_raw")

    def credit_note_returns(self, spec: TableSpec, opts: ReadOptions, *, orders: pa.Table,
                            returns: pa.Table, aliases: pa.Table) -> dict[str, int]:
        """Find the order each credit note returns; unresolved ones become problems.

        The rule, per credit note: the order its base-document column names (``Основание``)
        if the file has one and the row fills it (for an invoice, else its own ``order_id``);
        else its customer's latest order on or
        before its date with at least its amount left (the order's amount less what was
        already returned). A credit note larger than what is left of its order is a problem,
        never a return that overdraws it. ``orders`` and ``returns`` are the store's; the
        file's own orders count too. Returns how many credit notes each rule resolved.
        """
        types = self._source_types("_credit_raw")

        def typed(name: str) -> str:
            if name not in self.source_names:
                return "NULL"
            return self._typed_expr(spec, name, types[self.source_names[name]], opts)

        at = "ordered_at" if spec.kind is Kind.ORDERS else "due_at"
        base = (f"nullif(trim(CAST({_q(self.base_column)} AS VARCHAR)), '')"
                if self.base_column else "NULL")
        if spec.kind is Kind.INVOICES and "order_id" in self.source_names:
            # a credit invoice naming its order says what it returns
            base = f"coalesce({base}, {typed('order_id')})"
        self.con.execute(
            f"CREATE OR REPLACE TABLE _credit AS SELECT _row, _line, "
            f"{typed(spec.id_column)} AS doc_id, {typed('customer_id')} AS customer_id, "
            f"{typed(at)} AS doc_at, -({typed('amount')}) AS amount, {base} AS base "
            f"FROM _credit_raw")
        self.register("_cn_aliases", aliases)
        self.con.execute("UPDATE _credit SET customer_id = a.customer_id FROM _cn_aliases a "
                         "WHERE _credit.customer_id = a.alias_id")
        self.register("_cn_orders", orders)
        self.register("_cn_returns", returns)
        own = ("UNION ALL SELECT order_id, customer_id, CAST(ordered_at AS TIMESTAMP), "
               "CAST(amount AS DOUBLE) FROM typed" if spec.kind is Kind.ORDERS else "")
        self.con.execute(
            f"CREATE OR REPLACE TABLE _cn_left AS SELECT o.order_id, o.customer_id, "
            f"o.ordered_at, o.amount - coalesce(r.returned, 0) AS left_amount FROM ("
            f"SELECT order_id, customer_id, CAST(ordered_at AS TIMESTAMP) AS ordered_at, "
            f"CAST(amount AS DOUBLE) AS amount FROM _cn_orders {own}) o LEFT JOIN ("
            f"SELECT order_id, sum(CAST(amount AS DOUBLE)) AS returned FROM _cn_returns "
            f"GROUP BY ALL) r USING (order_id)")
        self.con.execute(
            "CREATE OR REPLACE TABLE _credit_out AS "
            "SELECT c._row, c.doc_id, l.order_id, c.doc_at, c.amount, 'base' AS rule, "
            "l.left_amount FROM _credit c JOIN _cn_left l ON l.order_id = c.base "
            "UNION ALL "
            "SELECT c._row, c.doc_id, l.order_id, c.doc_at, c.amount, 'latest', l.left_amount "
            "FROM _credit c JOIN _cn_left l ON l.customer_id = c.customer_id "
            "AND l.ordered_at <= c.doc_at AND l.left_amount + 0.005 >= c.amount "
            "WHERE c.base IS NULL QUALIFY row_number() OVER (PARTITION BY c._row "
            "ORDER BY l.ordered_at DESC, l.order_id DESC) = 1")
        self._credit_problems(date=self.source_names.get(at, at))
        rules = dict(self.con.execute(
            "SELECT rule, count(*) FROM _credit_out GROUP BY ALL").fetchall())
        return {str(k): int(v) for k, v in rules.items()}

    def _credit_problems(self, *, date: str) -> None:
        """The credit notes that return no order: without a readable date (the file's column
        ``date``), naming an order that is not there or has too little left, or with no
        earlier order of their customer that has enough left."""
        amount = _lit(self.source_names["amount"])
        date = _lit(date)
        base_label = _lit(self.base_column or "")
        bad_date = _("credit note without a readable date")
        unknown = _("credit note for {base}, which is not an order in the store or this file")
        over = _("credit note larger than what is left of order {order} ({left})")
        nothing = _("credit note (negative amount): no earlier order of this customer has "
                    "that much left to return")
        self.add_problems(
            f"SELECT _row, _line, {date}, NULL, {_lit(bad_date)} FROM _credit WHERE doc_at IS NULL")
        unknown_fmt = _lit(unknown.replace("{base}", "{}"))
        over_fmt = _lit(over.replace("{order}", "{}").replace("{left}", "{}"))
        self.add_problems(
            f"SELECT c._row, c._line, {base_label}, c.base, format({unknown_fmt}, c.base) "
            f"FROM _credit c WHERE c.base IS NOT NULL AND "
            f"c.base NOT IN (SELECT order_id FROM _cn_left)")
        self.add_problems(
            f"SELECT c._row, c._line, {base_label}, c.base, format({over_fmt}, o.order_id, "
            f"round(o.left_amount, 2)) FROM _credit c JOIN _credit_out o USING (_row) "
            f"WHERE o.rule = 'base' AND o.left_amount + 0.005 < c.amount")
        self.add_problems(
            f"SELECT c._row, c._line, {amount}, CAST(r.{_q(self.source_names['amount'])} AS "
            f"VARCHAR), {_lit(nothing)} FROM _credit c JOIN _credit_raw r USING (_row) "
            f"WHERE c.base IS NULL AND c.doc_at IS NOT NULL "
            f"AND c._row NOT IN (SELECT _row FROM _credit_out)")

    def credit_returns(self) -> pa.Table:
        """The returns the credit notes make (after :meth:`credit_note_returns`), without
        those set aside. A credit note without its own number gets a stable derived one."""
        derived = ("'R-' || substr(md5(concat_ws('|', order_id, CAST(doc_at AS VARCHAR), "
                   "CAST(amount AS VARCHAR))), 1, 20)")
        aside = "AND _row NOT IN (SELECT _row FROM _aside)" if self._has_table("_aside") else ""
        # the reason is data, kept the same in every language so a re-import matches it
        return self.query(
            f"SELECT coalesce(doc_id, {derived}) AS return_id, order_id, doc_at AS returned_at, "
            f"amount, 'credit note' AS reason FROM _credit_out WHERE (rule = 'latest' OR "
            f"left_amount + 0.005 >= amount) {aside} ORDER BY _row")

    def hint_credit_notes(self) -> None:
        """The problem of a negative amount on an order or invoice says it looks like a credit
        note, and how to import it as one."""
        label = self.source_names.get("amount", "amount")
        label = label if label == "amount" else f"{label} (amount)"
        msg = _("negative amount: this looks like a credit note (a return); import it as a "
                "return of its order with --credit-notes returns")
        self.con.execute(
            f"UPDATE problems SET message = {_lit(msg)} WHERE col = {_lit(label)} AND _row IN "
            f"(SELECT _row FROM typed WHERE amount < 0)")
