"""The input tables of an analysis, a backtest or a model fit: files or frames read and checked
exactly as an import would (without writing anything), or the store's tables without the rows
outside the input rules.

:class:`Inputs` receives its ports in the constructor (how to open a staging area, the store,
an engine, and how to hold a frame as a file); the composition root builds it from Settings.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

import pyarrow as pa
import pyarrow.compute as pc

from regulars.domain.errors import AnalysisError, Problem, RejectedFileError
from regulars.domain.rules import InputRules, today
from regulars.domain.tables import SPECS, Kind, TableSpec
from regulars.i18n import _
from regulars.services import analysis, importing
from regulars.services.screening import SetAside, screen, screen_in_place

log = logging.getLogger(__name__)

_NO_CONTACTS = pa.schema([("customer_id", pa.string()), ("email_norm", pa.string()),
                          ("phone_norm", pa.string()), ("stub", pa.bool_())]).empty_table()


class ReadingStaging(Protocol):
    """What reading a file as an import would, without writing it, needs of the staging."""

    def read(self, path: Path, opts: Any) -> list[str]: ...
    def resolve_columns(self, spec: TableSpec, file_columns: list[str], opts: Any
                        ) -> tuple[dict[str, str], list[str]]: ...
    def check(self, spec: TableSpec, opts: Any, *, max_problems: int) -> Any: ...
    def amount_currency(self, spec: TableSpec, opts: Any) -> str | None: ...
    def identify_for_reading(self, spec: TableSpec, id_given: bool) -> None: ...
    def problem_list(self, limit: int) -> tuple[list[Problem], int]: ...
    def normalise_contacts(self) -> None: ...
    def contact_matches(self, store_contacts: pa.Table) -> pa.Table: ...
    def drop_ids(self, spec: TableSpec, ids: pa.Array) -> int: ...


class StoredTables(Protocol):
    """The store as an analysis reads it."""

    @property
    def display_url(self) -> str: ...
    def ensure_schema(self) -> None: ...
    def read_table(self, kind: Kind) -> pa.Table: ...


class Engine(Protocol):
    """An engine the tables are computed on (DuckDB in process)."""

    def table(self, name: str, data: pa.Table) -> Any: ...
    def close(self) -> None: ...


class ReadsUris(Protocol):
    """An engine that reads a URI itself (Spark: ``s3a://``, ``hdfs://``, …), checked."""

    def read(self, kind: Kind, uri: str, *, max_problems: int) -> Any: ...


class InDatabase(Protocol):
    """The store's own database computing in place (PostgreSQL)."""

    def stored(self, kind: Kind) -> Any: ...
    def close(self) -> None: ...


@dataclass
class Inputs:
    """Reads and checks the inputs of an analysis.

    ``open_staging`` opens a staging area for one file; ``typed_table`` takes its checked rows
    as the table's types; ``as_file`` holds a file path or a frame as a file of that kind;
    ``default_options`` are the read options of a file given none; ``default_currency`` the
    currency of orders that name none and whose amounts carry no sign (₽, руб., €) of one
    (the business's ``currency``); ``open_store``,
    ``open_engine`` and ``open_in_database`` open the store, the DuckDB engine and the
    store's database as an engine. ``rules`` are the input rules (``[input]``) and
    ``max_problems`` how many problems a rejected file lists (``[import] max_errors``).
    """

    open_staging: Callable[[], AbstractContextManager[ReadingStaging]]
    typed_table: Callable[[Any, TableSpec], pa.Table]
    as_file: Callable[[Kind, Any], AbstractContextManager[Path]]
    default_options: Callable[[], Any]
    open_store: Callable[[], StoredTables]
    open_engine: Callable[[], Engine]
    open_in_database: Callable[[], InDatabase]
    rules: InputRules
    max_problems: int
    default_currency: str | None = None
    today: Callable[[], date] = field(default=today)
    open_spark: Callable[[], Engine] | None = None
    """Opens the Spark engine (``engine="spark"``); None where there is none."""

    def screened(self, tables: Mapping[Kind, pa.Table]) -> tuple[dict[Kind, pa.Table], SetAside]:
        """The store's ``tables`` without the rows outside the input rules (``[input]``),
        which are logged and returned: one bad row left from before the rules must not fail
        the map or the points of every customer (:mod:`regulars.services.screening`)."""
        kept, aside = screen(tables, self.rules, self.today())
        for line in aside.lines():
            log.warning("%s", line)
        return kept, aside

    def load(self, kind: Kind, source: Any, options: Any = None
             ) -> tuple[pa.Table, list[importing.Merge]]:
        """A file (or frame) of ``kind``, validated exactly as an import would, as an Arrow
        table, and the customer cards folded into others (sharing a normalised e-mail or
        phone). Raises :class:`RejectedFileError` with every problem found."""
        spec = SPECS[kind]
        options = options or self.default_options()
        merges: list[importing.Merge] = []
        with self.as_file(kind, source) as path, self.open_staging() as staging:
            columns = staging.read(path, options)
            found, _ignored = staging.resolve_columns(spec, columns, options)
            if kind is Kind.ORDERS and options.currency is None:
                # as an import reads it: a sign on the amounts (46 476,66 руб.) names the
                # currency of a file without the column, else the business's
                named = staging.amount_currency(spec, options) or self.default_currency
                options = dataclasses.replace(options, currency=named)
            staging.check(spec, options, max_problems=self.max_problems)
            staging.identify_for_reading(spec, spec.id_column in found)
            problems, total = staging.problem_list(self.max_problems)
            if total:
                raise RejectedFileError(path, problems, total,
                                        importing.rejection_message(path, problems, total))
            if kind is Kind.CUSTOMERS:
                staging.normalise_contacts()
                merges = importing.plan_merges(staging.contact_matches(_NO_CONTACTS))
                staging.drop_ids(spec, pa.array([m.alias_id for m in merges], pa.string()))
            return self.typed_table(staging, spec), merges

    @contextmanager
    def tables(self, given: Mapping[Kind, Any], options: Any, engine: str,
               progress: analysis.Progress | None,
               set_aside: list[SetAside] | None = None) -> Iterator[dict[Kind, Any]]:
        """The input tables as Ibis tables on one engine: the files or frames ``given``
        (checked as an import would; ``options`` read the orders), or, when none is, the
        store (on PostgreSQL in-database with ``engine="postgres"``, closed afterwards). With
        ``engine="spark"`` the checked tables are handed to Spark and computed there."""
        set_aside = [] if set_aside is None else set_aside  # the store's rows left out
        given = {k: v for k, v in given.items() if v is not None}
        if given and Kind.ORDERS not in given:
            raise AnalysisError(_("orders are needed for an analysis"))
        if engine == "postgres":
            if given:
                raise AnalysisError(_("the postgres engine analyses the store; give no files"))
            with self._in_database(set_aside) as stored:
                yield stored
            return
        if engine not in ("duckdb", "spark") or (engine == "spark" and self.open_spark is None):
            raise AnalysisError(_("unknown engine '{e}': use duckdb, postgres or spark").format(
                e=engine))
        remote = {k: v for k, v in given.items() if is_uri(v)}
        if remote and engine != "spark":
            raise AnalysisError(_("{path}: a URI is read by Spark: add --engine spark (or give "
                                  "a local path)").format(path=next(iter(remote.values()))))
        # Spark first: a missing pyspark is said before any file is read
        opened = self.open_spark() if engine == "spark" and self.open_spark else self.open_engine()
        say = progress or analysis.silent
        tables: dict[Kind, Any] = {}
        for k, uri in remote.items():
            say(_("reading and checking {what} on Spark…").format(what=uri))
            tables[k] = cast(ReadsUris, opened).read(k, uri, max_problems=self.max_problems)
        local = {k: v for k, v in given.items() if k not in remote}
        if local or not given:
            arrow = (self._given(local, options, say) if given
                     else self._stored(say, set_aside))
            # the engine stays open: the result's baseline may still be read from it
            tables.update({k: opened.table(f"input_{k.value}", t) for k, t in arrow.items()})
        yield {k: tables[k] for k in (given or tables)}

    @contextmanager
    def _in_database(self, set_aside: list[SetAside]) -> Iterator[dict[Kind, Any]]:
        pg = self.open_in_database()
        try:
            stored, aside = screen_in_place({k: pg.stored(k) for k in Kind}, self.rules,
                                            self.today())
            for line in aside.lines():
                log.warning("%s", line)
            set_aside.append(aside)
            yield stored
        finally:
            pg.close()

    def _given(self, given: Mapping[Kind, Any], options: Any, say: analysis.Progress
               ) -> dict[Kind, pa.Table]:
        loaded = {}
        for k, v in given.items():
            what = (Path(v).name if isinstance(v, str | Path)
                    else _("the {kind} table").format(kind=k.value))
            say(_("reading and checking {what}…").format(what=what))
            loaded[k] = self.load(k, v, options if k is Kind.ORDERS else None)
        merges = loaded[Kind.CUSTOMERS][1] if Kind.CUSTOMERS in loaded else []
        return {k: fold_merged(t, merges) for k, (t, _m) in loaded.items()}

    def _stored(self, say: analysis.Progress, set_aside: list[SetAside]
                ) -> dict[Kind, pa.Table]:
        store = self.open_store()
        store.ensure_schema()
        say(_("reading the store…"))
        arrow, aside = self.screened({k: store.read_table(k) for k in Kind})
        set_aside.append(aside)
        if arrow[Kind.ORDERS].num_rows == 0:
            raise AnalysisError(
                _("the store at {url} holds no orders: import some, or give files").format(
                    url=store.display_url))
        return arrow

    def orders(self, orders: Any, options: Any) -> pa.Table:
        """The orders of a file or frame (validated as on import), or of the store."""
        if orders is not None:
            return self.load(Kind.ORDERS, orders, options)[0]
        store = self.open_store()
        store.ensure_schema()
        table = self.screened({Kind.ORDERS: store.read_table(Kind.ORDERS)})[0][Kind.ORDERS]
        if table.num_rows == 0:
            raise AnalysisError(_("the store at {url} holds no orders: import some, or give "
                                  "files").format(url=store.display_url))
        return table


def is_uri(source: Any) -> bool:
    """Whether ``source`` is a URI with a scheme (``s3a://``, ``abfss://``, ``hdfs://``,
    ``file://``, …) rather than a local path or a frame: such a path is read by Spark's
    executors, not by the driver."""
    return isinstance(source, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source) is not None


def fold_merged(table: pa.Table, merges: list[importing.Merge]) -> pa.Table:
    """Point references to a merged card at the card it was merged into."""
    if not merges:
        return table
    aliases = pa.array([m.alias_id for m in merges], pa.string())
    targets = pa.array([m.customer_id for m in merges], pa.string())
    for name in ("customer_id", "referrer_id", "referee_id"):
        if name in table.column_names:
            col = table.column(name)
            mapped = pc.take(targets, pc.index_in(col, value_set=aliases))
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.coalesce(mapped, col))
    return table
