"""Planning what an import adds to the store: row fingerprints and derived ids, duplicates in
the file, the business's blacklist, merged customer cards, references to rows the store or the
file has, returns within their orders, and the rows to write."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from regulars.adapters.staging.base import StagingBase
from regulars.adapters.staging.text import (
    _DUCK_TYPES,
    _SEP,
    _email_sql,
    _lit,
    _phone_sql,
    _q,
    fingerprint_sql,
)
from regulars.domain.privacy import ERASED
from regulars.domain.rules import RETURN_TOO_LARGE
from regulars.domain.tables import SPECS, Kind, TableSpec
from regulars.i18n import _
from regulars.services.ports import Blacklist


class Merging(StagingBase):
    """Identity, content, and the staged file resolved against the store."""

    # -- identity and content ----------------------------------------------------------------

    def add_identity(self, spec: TableSpec, id_given: bool) -> None:
        """Add ``row_hash`` (content fingerprint) and, when the file has no ids, derive them.

        A derived id hashes the row's content and its occurrence among identical rows, so the
        same file, or a newer export repeating the same rows, yields the same ids.
        """
        if not self._has_column("typed", "row_hash"):
            # ``check(fingerprint=True)`` computes it while typing, saving a second rewrite
            self.con.execute(
                f"CREATE OR REPLACE TABLE typed AS SELECT *, {fingerprint_sql(spec)} AS row_hash "
                f"FROM typed"
            )
        prefix = spec.kind.value[0].upper()
        derived = (
            f"{_lit(prefix)} || '-' || substr(md5(row_hash || {_lit(_SEP)} || CAST("
            f"row_number() OVER (PARTITION BY row_hash ORDER BY _row) AS VARCHAR)), 1, 20)"
        )
        idc = _q(spec.id_column)
        if id_given:
            # a file with an id column may still leave some ids empty: those rows get a
            # derived id, as rows of a file without the column do
            if not self._has_empty_ids(idc):
                return
            derived = (f"CASE WHEN {idc} IS NULL OR trim(CAST({idc} AS VARCHAR)) = '' "
                       f"THEN {derived} ELSE {idc} END")
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT * REPLACE ({derived} AS {idc}) FROM typed"
        )

    def dedupe_in_file(self, spec: TableSpec, *, ids_derived: bool = False) -> int:
        """Keep the first of identical rows; report an id reused with other content.

        Derived ids are unique by construction, and most exports repeat no id: then there is
        nothing to sort, and the cost is one aggregate.
        """
        idc = _q(spec.id_column)
        if ids_derived or not self._has_repeated_ids(idc):
            return 0
        label = self.source_names.get(spec.id_column, spec.id_column)
        self.add_problems(
            f"SELECT t._row, t._line, {_lit(label)}, t.{idc}, "
            f"format({_lit(_('id appears again with different content (first at row {}))'))}, "
            f"f.first_row) FROM typed t JOIN (SELECT {idc}, min(_row) AS first_row, "
            f"arg_min(row_hash, _row) AS first_hash FROM typed GROUP BY {idc}) f USING ({idc}) "
            f"WHERE t.row_hash <> f.first_hash"
        )
        before = self._count("typed")
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT * FROM typed "
            f"QUALIFY row_number() OVER (PARTITION BY {idc} ORDER BY _row) = 1"
        )
        return before - self._count("typed")

    def identify_for_reading(self, spec: TableSpec, id_given: bool) -> None:
        """:meth:`add_identity` and :meth:`dedupe_in_file`, for a file that is read and not
        imported: nothing keeps the content fingerprint then, which is needed only to derive
        missing ids and to tell apart the rows of a repeated id; a file whose ids are all
        given and distinct (an export, as a rule) is not fingerprinted at all."""
        idc = _q(spec.id_column)
        if id_given and not self._has_empty_ids(idc) and not self._has_repeated_ids(idc):
            return
        self.add_identity(spec, id_given)
        self.dedupe_in_file(spec, ids_derived=not id_given)

    def _has_empty_ids(self, idc: str) -> bool:
        return self._exists("typed", f"{idc} IS NULL OR trim(CAST({idc} AS VARCHAR)) = ''")

    def _has_repeated_ids(self, idc: str) -> bool:
        return self._exists(f"(SELECT {idc} FROM typed GROUP BY {idc} HAVING count(*) > 1)",
                            "true")

    def normalise_contacts(self) -> None:
        """Customers: add the normalised e-mail and phone that find one person twice."""
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT *, {_email_sql('email')} AS email_norm, "
            f"{_phone_sql('phone', self.default_phone_country)} AS phone_norm FROM typed"
        )

    # -- resolving against the store ---------------------------------------------------------

    def apply_blacklist(self, kind: Kind, entries: Blacklist) -> int:
        """Drop rows of known junk leads: by e-mail or phone (customers) and by customer id."""
        self.register("_bl_ids", pa.table({"v": pa.array(sorted(entries.ids), pa.string())}))
        conds = []
        if kind is Kind.CUSTOMERS:
            self.register("_bl_em", pa.table({"v": pa.array(sorted(entries.emails), pa.string())}))
            self.register("_bl_ph", pa.table({"v": pa.array(sorted(entries.phones), pa.string())}))
            conds += [
                "email_norm IN (SELECT v FROM _bl_em)",
                "phone_norm IN (SELECT v FROM _bl_ph)",
            ]
        for col in ("customer_id", "referrer_id", "referee_id"):
            if col in SPECS[kind].names:
                conds.append(f"{col} IN (SELECT v FROM _bl_ids)")
        return self.drop_where(" OR ".join(conds)) if conds else 0

    def resolve_aliases(self, column: str, aliases: pa.Table) -> None:
        """Point references to merged duplicate cards at the card they were merged into."""
        if aliases.num_rows == 0:
            return
        self.register("_aliases", aliases)
        self.con.execute(
            f"UPDATE typed SET {_q(column)} = a.customer_id FROM _aliases a "
            f"WHERE typed.{_q(column)} = a.alias_id"
        )

    def against_store(self, spec: TableSpec, existing: pa.Table) -> tuple[int, pa.Array]:
        """Compare with what the store holds.

        Rows already present with the same content are dropped (a re-import adds nothing);
        an id present with other content is a problem. Customers created from orders (stubs)
        are completed by a customer file, not in conflict with it: their ids are returned.
        """
        idc = _q(spec.id_column)
        self.register("_existing", existing)
        label = self.source_names.get(spec.id_column, spec.id_column)
        stub = "AND NOT e.stub" if "stub" in existing.column_names else ""
        msg = _("id is already in the store with different content")
        self.add_problems(
            f"SELECT t._row, t._line, {_lit(label)}, t.{idc}, {_lit(msg)} FROM typed t "
            f"JOIN _existing e ON e.id = t.{idc} WHERE e.row_hash <> t.row_hash {stub} "
            f"AND e.row_hash <> {_lit(ERASED)}"
        )
        stubs = pa.array([], pa.string())
        if stub:
            stubs = self.query(
                f"SELECT t.{idc} AS id FROM typed t JOIN _existing e ON e.id = t.{idc} "
                f"WHERE e.stub AND e.row_hash <> t.row_hash"
            ).column("id").combine_chunks()
        present = self.drop_where(
            f"{idc} IN (SELECT e.id FROM _existing e JOIN typed t ON e.id = t.{idc} "
            # an erased row stays erased: its old file brings nothing back (domain.privacy)
            f"WHERE e.row_hash = t.row_hash OR e.row_hash = {_lit(ERASED)})"
        )
        return present, stubs

    def check_references(self, column: str, known: pa.Table, message: str) -> None:
        """A problem for every row whose ``column`` names nothing in ``known.id``."""
        self.register("_known", known)
        label = self.source_names.get(column, column)
        self.add_problems(
            f"SELECT _row, _line, {_lit(label)}, {_q(column)}, {_lit(message)} FROM typed "
            f"WHERE {_q(column)} IS NOT NULL AND {_q(column)} NOT IN (SELECT id FROM _known)"
        )

    def missing_references(self, column: str, known: pa.Table) -> pa.Array:
        self.register("_known", known)
        return (
            self.query(
                f"SELECT DISTINCT {_q(column)} AS id FROM typed WHERE {_q(column)} NOT IN "
                f"(SELECT id FROM _known) ORDER BY 1"
            )
            .column("id")
            .combine_chunks()
        )

    def check_self_referrals(self) -> None:
        label = self.source_names.get("referee_id", "referee_id")
        msg = _("a customer cannot refer themselves")
        self.add_problems(
            f"SELECT _row, _line, {_lit(label)}, referee_id, {_lit(msg)} FROM typed "
            f"WHERE referrer_id = referee_id"
        )

    def added_orders(self) -> pa.Table:
        """``id, amount`` of the orders about to be written (a file of orders)."""
        return self.query("SELECT order_id AS id, CAST(amount AS DOUBLE) AS amount FROM typed")

    def returned_orders(self) -> pa.Array:
        """The distinct orders the file's returns name."""
        return self.query("SELECT DISTINCT order_id AS id FROM typed WHERE order_id IS NOT NULL"
                          ).column("id").combine_chunks()

    def check_returns_within_orders(self, returnable: pa.Table) -> None:
        """A problem for every return that takes its order past its amount, counting the
        returns the store holds and the file's before it (``rules.returns_beyond`` in SQL:
        every row counts towards the ones after it, in file order)."""
        self.register("_returnable", returnable)
        label = self.source_names.get("amount", "amount")
        money = "DECIMAL(18,4)"

        def text(v: str) -> str:  # rules.money_text: at least two places, at most four
            return (f"regexp_replace(CAST(CAST({v} AS {money}) AS VARCHAR), "
                    r"'(\.[0-9][0-9][0-9]*?)0*$', '\1')")

        message = _lit(_(RETURN_TOO_LARGE))
        self.add_problems(
            f"""
            WITH r AS (
                SELECT t._row, t._line, t.order_id, CAST(t.amount AS {money}) AS amount,
                       CAST(h.amount AS {money}) AS order_amount,
                       CAST(coalesce(h.returned, 0) AS {money}) + coalesce(sum(
                           CAST(t.amount AS {money})) OVER (PARTITION BY t.order_id
                           ORDER BY t._row ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                           0) AS used
                FROM typed t JOIN _returnable h ON h.id = t.order_id
                WHERE t.amount IS NOT NULL
            )
            SELECT _row, _line, {_lit(label)}, {text("amount")},
                   replace(replace(replace({message}, '{{order}}', order_id),
                           '{{amount}}', {text('order_amount')}),
                           '{{left}}', {text('greatest(order_amount - used, 0)')})
            FROM r WHERE used + amount > order_amount
            """
        )

    def contact_matches(self, store_contacts: pa.Table) -> pa.Table:
        """Cards (in this file or the store) sharing a normalised e-mail or phone with another.

        Returns ``customer_id, key_type, key, in_store, stub, created_at, _row``: the input of
        the merge rule, which is small however large the file is.
        """
        self.register("_contacts", store_contacts)
        return self.query(
            """
            WITH cards AS (
                SELECT customer_id, email_norm, phone_norm, false AS in_store, false AS stub,
                       created_at, _row FROM typed
                UNION ALL
                SELECT customer_id, email_norm, phone_norm, true, stub, NULL::TIMESTAMP, NULL
                FROM _contacts WHERE customer_id NOT IN (SELECT customer_id FROM typed)
            ),
            keys AS (
                SELECT customer_id, 'email' AS key_type, email_norm AS key, in_store, stub,
                       created_at, _row FROM cards WHERE email_norm IS NOT NULL
                UNION ALL
                SELECT customer_id, 'phone', phone_norm, in_store, stub, created_at, _row
                FROM cards WHERE phone_norm IS NOT NULL
            )
            SELECT * FROM keys WHERE (key_type, key) IN (
                SELECT key_type, key FROM keys GROUP BY ALL
                HAVING count(DISTINCT customer_id) > 1)
            ORDER BY key_type, key, customer_id
            """
        )

    def drop_ids(self, spec: TableSpec, ids: pa.Array) -> int:
        if len(ids) == 0:
            return 0
        self.register("_drop", pa.table({"id": ids}))
        return self.drop_where(f"{_q(spec.id_column)} IN (SELECT id FROM _drop)")

    def rows_for_store(
        self, spec: TableSpec, import_id: int, batch_rows: int, *, text_times: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """The rows to add, with the store's extra columns, in file order.

        ``text_times``: timestamps and dates as the text SQLAlchemy keeps in SQLite, formatted
        here in parallel rather than row by row on the way out.
        """
        cols = [_q(n) for n in spec.names]
        if spec.kind is Kind.CUSTOMERS:
            cols += ["email_norm", "phone_norm", "false AS stub"]
        cols += ["row_hash", f"{int(import_id)} AS import_id"]
        # typed columns that were absent from the file are NULL of no type: give them theirs
        casts = {n: _DUCK_TYPES[spec.column(n).type] for n in spec.names}

        def out(c: str) -> str:
            name = c.strip('"')
            if name not in casts:
                return c
            typed = f"CAST({c} AS {casts[name]})"
            if text_times and casts[name] == "TIMESTAMP":
                return f"strftime({typed}, '%Y-%m-%d %H:%M:%S.%f') AS {c}"
            if text_times and casts[name] == "DATE":
                return f"strftime({typed}, '%Y-%m-%d') AS {c}"
            return f"{typed} AS {c}"

        select = ", ".join(out(c) for c in cols)
        yield from self.batches(f"SELECT {select} FROM typed ORDER BY _row", batch_rows)

