"""Analyse a business: the customer map (DOMAIN §3–§6) and the portfolio (§5, §7), as of a date.

Input tables come validated (from files through the importer's checks, or from the store);
this use case cuts them at the as-of date, runs analytics on the chosen engine, and adds a
sentence a shop owner understands to every piece of structured evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

import ibis
import ibis.expr.operations as ops
import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics import ranking
from regulars.analytics.customer_map import CustomerMap, customer_map
from regulars.analytics.models import ModelError, Occasions
from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import MAP_COLUMNS as FLOW_COLUMNS
from regulars.analytics.portfolio import Period, Portfolio, portfolio
from regulars.domain.errors import AnalysisError
from regulars.domain.tables import SPECS, Kind
from regulars.i18n import _, current_language, fmt_date, fmt_number, ngettext, use_language
from regulars.services import predictions as models
from regulars.services.explain import reason, sentences_of

# the column that dates each table's events, for cutting history at the as-of date
TIME_COLUMN: dict[Kind, str] = {
    Kind.ORDERS: "ordered_at",
    Kind.RETURNS: "returned_at",
    Kind.INVOICES: "due_at",
    Kind.INTERACTIONS: "at",
    Kind.FEEDBACK: "at",
    Kind.REFERRALS: "at",
    Kind.CUSTOMERS: "created_at",
}


def end_of_day(d: date) -> datetime:
    """A date given as as-of means the whole of that day."""
    return datetime.combine(d, time.max)


class Frame:
    """A table that converts to whatever the caller works with.

    A frame may hold its rows before a last column that is costly to add to every row (the
    evidence in words: about 12 s for a million customers) and add it on first use; a caller
    that needs a few rows only takes them with :meth:`take`, which adds it to those alone.
    """

    def __init__(self, arrow: pa.Table,
                 finish: Callable[[pa.Table], pa.Table] | None = None) -> None:
        self._table = arrow
        self._finish = finish
        self._done: tuple[str, pa.Table] | None = None

    @property
    def arrow(self) -> pa.Table:
        """Every row, finished in the current language (the sentences are written again when
        the language has changed since the last read; the last reading is kept)."""
        if self._finish is None:
            return self._table
        lang = current_language()
        if self._done is None or self._done[0] != lang:
            self._done = None  # the other language's copy goes before the new one is made
            self._done = (lang, self._finish(self._table))
        return self._done[1]

    @property
    def unfinished(self) -> pa.Table:
        """Every row, without the column added on first use."""
        return self._table

    @property
    def finished_in(self) -> str | None:
        """The language the last column was last written in (None: not written yet)."""
        return None if self._done is None else self._done[0]

    def take(self, indices: Any) -> pa.Table:
        """The rows at these positions (of :attr:`unfinished`), finished."""
        rows = self._table.take(indices)
        return rows if self._finish is None else self._finish(rows)

    def to_arrow(self) -> pa.Table:
        return self.arrow

    def to_pandas(self) -> Any:
        return self.arrow.to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.arrow)

    def __len__(self) -> int:
        return int(self._table.num_rows)


@dataclass
class Analysis:
    """The result of :func:`analyze`."""

    as_of: datetime
    customers: Frame
    """One row per customer: rung, status, signals, traits, RFM and evidence; with a customers
    table, its name, manager, e-mail and phone right after the id (:func:`with_contacts`)."""
    portfolio: Portfolio
    """The base as a whole: ladder, statuses, revenue split, concentration, NPS, CRR, …"""
    not_evaluated: dict[str, str] = field(default_factory=dict)
    """Signals and traits that could not be computed, and why (a missing table, say)."""
    as_of_source: str = "given"
    baseline_table: Any = field(default=None, repr=False)
    """The unexecuted one-row baseline of the map (see :meth:`baseline`)."""
    predictions: models.Fitted | None = None
    """The fitted customer-base models behind ``p_alive`` and the other prediction columns
    (None when predictions are off or the data could not support a model: see
    ``not_evaluated["predictions"]``)."""

    calibration: ranking.Calibration | None = None
    """What the money at stake was learned from (:mod:`regulars.analytics.ranking`)."""

    set_aside: list[str] = field(default_factory=list)
    """Rows of the store left out because they break the input rules, in words
    (:mod:`regulars.services.screening`): the map covers everyone else."""

    currency: str | None = None
    """The currency of the amounts (ISO 4217: the orders' own, else the business's; None for
    several), as the evidence and the report write them."""

    _baseline_row: dict[str, Any] | None = field(default=None, init=False, repr=False)

    def baseline(self) -> dict[str, Any]:
        """The base-level figures this map compared every customer with, to recompute a few
        customers later as this map would place them (:func:`refresh_customers`). Runs the
        base's part of the map once more (about a map's time at scale), on the engine the
        analysis ran on, which must still be open; the result is kept."""
        if self._baseline_row is None:
            if self.baseline_table is None:
                raise AnalysisError(_("this analysis has no baseline to freeze"))
            rows: list[dict[str, Any]] = self.baseline_table.to_pyarrow().to_pylist()
            self._baseline_row = rows[0]
        return self._baseline_row

    def portfolio_frame(self) -> Frame:
        """The portfolio's figures as a long table (section, key, value)."""
        rows: list[dict[str, str]] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, Mapping):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            elif isinstance(value, list):
                rows.append({"key": prefix, "value": json.dumps(value, default=str)})
            else:
                rows.append({"key": prefix, "value": "" if value is None else str(value)})

        walk("", self.portfolio.to_dict())
        return Frame(pa.Table.from_pylist(rows, schema=pa.schema(
            [("key", pa.string()), ("value", pa.string())])))


def _cut(kind: Kind, table: Any, at: datetime) -> Any:
    col = TIME_COLUMN[kind]
    if col not in table.columns:
        return table
    return table.filter(table[col].isnull() | (table[col] <= at))


def without_empty(tables: Mapping[Kind, Any]) -> dict[Kind, Any]:
    """The tables less those without a row and less the optional columns without a value.

    Missing data is not evidence (DOMAIN §2, §3): a file or a store hands every column of the
    contract over, filled or not, and an empty discount column would otherwise make every
    customer one who "mostly buys without a discount". Dropped here, the map reports what
    needed them as not evaluated. One query per table (:func:`_filled`).
    """
    out: dict[Kind, Any] = {}
    for kind, table in tables.items():
        spec = SPECS.get(kind)
        keep = set(spec.required) if spec is not None else set(table.columns)
        keep.add("customer_id")
        optional = [c for c in table.columns if c not in keep]
        found = _filled(table, optional)
        if "__rows" not in found and kind != Kind.ORDERS:
            continue
        empty = [c for c in optional if c not in found]
        out[kind] = table.drop(*empty) if empty else table
    return out


def _filled(table: Any, columns: list[str]) -> set[str]:
    """Which of ``columns`` hold a value in some row (``"__rows"``: whether there is a row).

    One query: a branch per column that stops at the first row with a value. An aggregate
    counting the values of every column read all of them (8 CPU s over 10M orders), for
    an answer that is yes at the first row of every column in use."""
    branches = []
    for c in columns:
        col = table[c]
        filled = col.notnull()
        if col.type().is_string():
            filled = filled & (col.strip().length() > 0)
        branches.append(table.filter(filled).select(__column=ibis.literal(c)).limit(1))
    branches.append(table.select(__column=ibis.literal("__rows")).limit(1))
    rows = ibis.union(*branches).to_pyarrow()
    return {str(c) for c in rows.column("__column").to_pylist()}


def _count(table: Any) -> int:
    # scalars come back through Arrow: ibis' execute() goes through pandas
    return int(table.count().to_pyarrow().as_py())


def default_as_of(orders: Any) -> datetime:
    last = orders.ordered_at.max().to_pyarrow().as_py()
    if last is None:
        raise AnalysisError(_("there are no orders to analyse"))
    return end_of_day(last.date())


Progress = Callable[[str], None]
"""Told each step of a long piece of work as it starts, in words (already translated)."""


def silent(_step: str) -> None:
    """A :data:`Progress` that tells no one."""


# over 60 lines, one piece: the map, the earlier map and the portfolio share one engine's
# tables and the models' occasions, read once; the engine's copies are dropped at the end
def analyze(
    tables: Mapping[Kind, Any],
    *,
    params: MapParams,
    as_of: datetime | None = None,
    period: Period | None = None,
    flow_from: datetime | None = None,
    progress: Progress | None = None,
    words: bool | str = True,
    currency: str | None = None,
) -> Analysis:
    """The customer map and the portfolio of the business in ``tables`` as of ``as_of``.

    ``tables`` are Ibis tables on one engine (DuckDB in process, or PostgreSQL over the
    store), with the contract's columns. ``as_of`` defaults to the end of the day of the last
    order, so that an export analysed later tells the same story; ``flow_from`` (default a
    year earlier) is the date the ladder flow compares with. ``progress`` is told, in words,
    each step as it starts (a large business takes a minute or more). ``words=False`` leaves
    the evidence sentences of every customer to their first use (see :class:`Frame`), for a
    caller that shows a few customers only; a language (``words="en"``) writes them now in
    that language (a file for machines is written in the English source text). ``currency`` (ISO
    4217, the business's) is what the evidence writes amounts in where the orders name no currency
    (:func:`data_currency`).
    """
    say = progress or silent
    if Kind.ORDERS not in tables:
        raise AnalysisError(_("orders are needed for an analysis"))
    source = "given"
    if as_of is None:
        as_of = default_as_of(tables[Kind.ORDERS])
        source = "last order"
    inputs = {k: _cut(k, t, as_of) for k, t in tables.items()}
    if _count(inputs[Kind.ORDERS]) == 0:
        raise AnalysisError(_("no orders on or before {d}").format(d=fmt_date(as_of)))
    inputs = without_empty(inputs)

    # the models' orders are read once and collapsed to (customer, day) occasions once, for
    # the fits now and at the earlier date
    # (and the ranking of whom to save reads the same occasions)
    orders = models.orders_arrow(inputs[Kind.ORDERS])
    occasions = models.orders_occasions(orders)
    if params.predictions:
        say(_("fitting the models of who is still a customer, as of {d}…").format(
            d=fmt_date(as_of)))
    current, fitted = _map_predicted(inputs, as_of, params,
                                     occasions if params.predictions else None)
    say(_("the customer map as of {d}…").format(d=fmt_date(as_of)))
    # every portfolio figure reads the map: compute it once, in the engine, not once per figure
    now_map = current.customers.cache()
    customers = with_contacts(_executed(now_map), tables.get(Kind.CUSTOMERS))
    flow_from = flow_from or as_of - timedelta(days=365)
    earlier = {k: _cut(k, t, flow_from) for k, t in inputs.items()}
    previous = None
    if _count(earlier[Kind.ORDERS]):
        say(_("the map as of {d}, for the ladder flow…").format(d=fmt_date(flow_from)))
        # the earlier map is judged the same way (a model as of then), so that the flow
        # compares like with like; the flow reads only its rungs and statuses, so neither its
        # evidence nor a spend model (which does not change P(alive)) is computed
        # occasions are whole days: a moment inside a day cuts the orders themselves
        at_day_end = flow_from == end_of_day(flow_from.date())
        earlier_orders = (occasions if at_day_end
                          else models.orders_until(orders, flow_from))
        del orders  # its Arrow copy of every order is not needed any more
        previous = _map_predicted(
            earlier, flow_from, params, earlier_orders, spend=False, flow_only=True,
        )[0].customers.select(*FLOW_COLUMNS).cache()
    say(_("the portfolio: retention, concentration, cohorts…"))
    result = portfolio(
        now_map,
        inputs[Kind.ORDERS],
        as_of=as_of,
        params=params,
        feedback=inputs.get(Kind.FEEDBACK),
        period=period,
        previous_map=previous,
    )
    # the engine's copies of the two maps are dropped now, while the engine is open: left to
    # the garbage collector, they were dropped whenever it ran, after a caller such as the
    # API's rebuild had closed its engine, and the drop failed there
    now_map.release()
    if previous is not None:
        previous.release()
    say(_("whom to save first: money at stake, from this business's history…"))
    stake, calibration = _ranked(occasions, customers, as_of, params)
    money = data_currency(inputs[Kind.ORDERS], currency)
    rows = _rows(customers, None if fitted is None else fitted.table, params, stake, money)
    n = customers.num_rows
    # the rows before the stake was appended hold a second copy of every evidence text
    del customers, stake, occasions
    if words:
        say(ngettext("the evidence in words, for {n} customer…",
                     "the evidence in words, for {n} customers…", n).format(n=fmt_number(n)))
        with use_language(words if isinstance(words, str) else None):
            rows.arrow  # noqa: B018  (added now, under its progress step)
    # the reasons in words now, in the language of this analysis (analytics wrote English)
    not_evaluated = {code: reason(why) for code, why in current.not_evaluated.items()}
    return Analysis(as_of, rows, result, not_evaluated, source,
                    current.baseline, fitted, calibration, currency=money)


def flow_map(tables: Mapping[Kind, Any], at: datetime, *, params: MapParams,
             emptied: bool = False) -> ibis.Table | None:
    """The rungs and statuses of everyone as of ``at`` (the portfolio's map columns), judged as
    :func:`analyze` judges its earlier map for the ladder flow (a model as of then when
    predictions are on); None when there is no order by then. For the portfolio's figures at
    past dates (the goals' readings): ``base_metrics`` and ``revenue_split`` read it.

    ``emptied``: ``tables`` went through :func:`without_empty` already (for many dates: a
    column is then judged by the whole history, not by the rows up to ``at``)."""
    inputs = {k: _cut(k, t, at) for k, t in tables.items()}
    if _count(inputs[Kind.ORDERS]) == 0:
        return None
    if not emptied:
        inputs = without_empty(inputs)
    found = _map_predicted(inputs, at, params, spend=False, flow_only=True)[0]
    customers: ibis.Table = found.customers.select(*FLOW_COLUMNS)
    return customers


def customer_rows(tables: Mapping[Kind, Any], *, params: MapParams,
                  as_of: datetime | None = None, currency: str | None = None
                  ) -> tuple[pa.Table, datetime]:
    """The customer map's rows as :func:`analyze` gives them (evidence sentences and
    predictions included), without the portfolio: for serving the map of a whole store."""
    as_of = as_of or default_as_of(tables[Kind.ORDERS])
    inputs = without_empty({k: _cut(k, t, as_of) for k, t in tables.items()})
    # the orders are read once, for the models and the ranking (as analyze does)
    occasions = models.orders_occasions(models.orders_arrow(inputs[Kind.ORDERS]))
    m, fitted = _map_predicted(inputs, as_of, params,
                               occasions if params.predictions else None)
    executed = with_contacts(_executed(m.customers), tables.get(Kind.CUSTOMERS))
    stake, _ = _ranked(occasions, executed, as_of, params)
    return _rows(executed, None if fitted is None else fitted.table, params, stake,
                 data_currency(inputs[Kind.ORDERS], currency)).arrow, as_of


def _ranked(occasions: Occasions, rows: pa.Table, as_of: datetime, params: MapParams,
            calibration: ranking.Calibration | None = None
            ) -> tuple[pa.Table, ranking.Calibration]:
    """Money at stake of the customers of ``occasions`` (:mod:`ranking`), the map's ``rows``
    giving the status for a business with too little history."""
    return ranking.money_at_stake(occasions, as_of=as_of, params=params,
                                  calibration=calibration,
                                  status=rows.select(["customer_id", "status"]))


CONTACT_COLUMNS = ("name", "manager", "email", "phone")
"""What the customers table says about whom to call, on every map row (after ``customer_id``)
when the customers table is given: every list a person reads shows it."""


def with_contacts(customers: pa.Table, profiles: Any | None) -> pa.Table:
    """The map's rows with :data:`CONTACT_COLUMNS` of the customers table (Ibis) right after
    ``customer_id``, null where it has no such card or column; the rows as they were without
    a customers table. The table is read whole, not cut at the as-of date: a name is a label
    of the customer today, and a card created after the as-of date still names its orders."""
    if profiles is None:
        return customers
    present = [c for c in CONTACT_COLUMNS if c in profiles.columns]
    cards = profiles.select("customer_id", *present).to_pyarrow()
    # one card per customer id (the contract's key): each map row takes its customer's card
    at = pc.index_in(customers.column("customer_id"), value_set=cards.column("customer_id"))
    for i, name in enumerate(CONTACT_COLUMNS, start=1):
        values = (cards.column(name).cast(pa.string()).take(at) if name in present
                  else pa.nulls(customers.num_rows, pa.string()))
        customers = customers.add_column(i, name, values)
    return customers


def _executed(customers: ibis.Table) -> pa.Table:
    """The map's rows, run, in customer_id order: the engine's own order varies from run to
    run (parallel joins), and two exports of the same data should compare line by line.

    The order is byte order on every engine. DuckDB sorts so (and faster than Arrow, in
    parallel, as it reads). Another engine's rows are sorted here: PostgreSQL sorts a cached
    table by the database's collation, which may be linguistic ("a10" before "B2")."""
    if ibis.get_backend(customers).name == "duckdb":
        return customers.order_by("customer_id").to_pyarrow()
    table = customers.to_pyarrow()
    return table.take(pc.sort_indices(table.column("customer_id")))


def data_currency(orders: Any, default: str | None = None) -> str | None:
    """The currency the orders' amounts are in (ISO 4217): the one their ``currency`` column
    names, ``default`` (the business's) where it names none, None where it names several
    (sums of several currencies are written as plain numbers). Reads at most two values."""
    if "currency" not in orders.columns:
        return default
    found = (orders.filter(orders.currency.notnull() & (orders.currency.strip() != ""))
             .select(c=orders.currency.strip().upper()).distinct().limit(2).to_pyarrow())
    names = [str(v) for v in found.column("c").to_pylist()]
    if not names:
        return default
    return names[0] if len(names) == 1 else None


def _rows(customers: pa.Table, predictions: pa.Table | None, params: MapParams,
          stake: pa.Table | None = None, currency: str | None = None) -> Frame:
    """The executed map as users get it: day counts rounded (:data:`DAY_DECIMALS`), the
    predictions' columns when there are any, the money at stake (:mod:`ranking`) with its
    evidence appended to the row's, and beside the structured evidence (JSON) the same facts as
    sentences, added on first use (:class:`Frame`)."""
    customers = round_days(customers)
    if predictions is not None:
        customers = models.join_predictions(customers, models.map_columns(predictions, params))
    if stake is not None:
        customers = join_stake(customers, stake)
    return Frame(customers, partial(add_sentences, currency=currency))


def join_stake(customers: pa.Table, stake: pa.Table) -> pa.Table:
    """The ranking's columns (:data:`ranking.COLUMNS`, null for prospects) after the map's
    columns, and its evidence object appended to each row's evidence array."""
    at = pc.index_in(customers.column("customer_id"), stake.column("customer_id"))
    for name in ranking.COLUMNS:
        customers = customers.append_column(name, pc.take(stake.column(name), at))
    item = pc.take(stake.column("stake"), at)
    evidence = customers.column("evidence")
    i = customers.schema.get_field_index("evidence")
    # the pieces as a whole-column step makes them (where either input's chunks end): a
    # file written from the rows is laid out by its columns' chunks
    ends = sorted({0, *_ends(evidence), *_ends(item)})
    return customers.set_column(i, "evidence", pa.chunked_array(
        [_in_steps(lambda k, n: _appended(evidence.slice(k, n), item.slice(k, n)), a, b)
         for a, b in pairwise(ends)], evidence.type))


CHUNK_ROWS = 65_536
"""Rows a step over every customer's evidence text takes at a time: a whole column of a
million customers' evidence is about 0.6 GB, and each intermediate copy of it would be as
large again (the peak memory of an analysis at 10M orders)."""


def _ends(column: pa.ChunkedArray) -> list[int]:
    """Where each chunk of ``column`` ends (row positions)."""
    out, at = [], 0
    for chunk in column.chunks:
        at += len(chunk)
        out.append(at)
    return out


def _in_steps(step: Callable[[int, int], pa.Array], start: int, end: int) -> pa.Array:
    """``step(offset, length)`` over rows ``start``..``end`` :data:`CHUNK_ROWS` at a time, the
    pieces as one array."""
    pieces = [step(k, min(CHUNK_ROWS, end - k)) for k in range(start, end, CHUNK_ROWS)]
    return pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)


def _appended(evidence: pa.ChunkedArray, item: pa.ChunkedArray) -> pa.Array:
    """``item`` appended to each evidence array (text) of ``evidence``, the array as it was
    where ``item`` is null."""
    # "[...]" + "," + item + "]": the array's closing bracket moves behind the new item
    head = pc.utf8_slice_codeunits(evidence, 0, -1)
    sep = pc.if_else(pc.equal(evidence, "[]"), "", ",")
    joined = pc.binary_join_element_wise(head, sep, item, "]", "")
    out: pa.ChunkedArray = pc.coalesce(joined, evidence)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _map_predicted(tables: Mapping[Kind, Any], at: datetime, params: MapParams,
                   orders: pa.Table | Occasions | None = None, *, spend: bool = True,
                   flow_only: bool = False) -> tuple[CustomerMap, models.Fitted | None]:
    """The map as of ``at`` with the models fitted as of then (or why there are none).

    ``orders``: the orders cut at ``at`` as :func:`models.orders_arrow` gives them, or
    :func:`models.orders_occasions` of orders up to the end of ``at``'s day, when the caller
    has them already; ``spend``: whether to fit a spend model (see
    :func:`models.fit_and_predict`); ``flow_only``: the map of the ladder flow's columns
    only (see :func:`customer_map`)."""
    fitted, why = _predict(tables[Kind.ORDERS] if orders is None else orders, at, params,
                           spend=spend)
    m = _map_of(tables, at, params,
                None if fitted is None else models.p_alive_table(fitted.table),
                flow_only=flow_only)
    if why is not None:
        m.not_evaluated["predictions"] = why
        if "churn_risk" in m.not_evaluated:
            m.not_evaluated["churn_risk"] = _("no model of who is still a customer: "
                                              "{why}").format(why=why)
    return m, fitted


def _map_of(tables: Mapping[Kind, Any], at: datetime, params: MapParams,
            p_alive: pa.Table | ibis.Table | None = None,
            baseline: Mapping[str, Any] | None = None, *,
            flow_only: bool = False) -> CustomerMap:
    """The customer map of the given tables (Ibis, one engine), as of ``at``."""
    return customer_map(
        tables[Kind.ORDERS],
        as_of=at,
        params=params,
        customers=tables.get(Kind.CUSTOMERS),
        returns=tables.get(Kind.RETURNS),
        invoices=tables.get(Kind.INVOICES),
        interactions=tables.get(Kind.INTERACTIONS),
        feedback=tables.get(Kind.FEEDBACK),
        referrals=tables.get(Kind.REFERRALS),
        p_alive=ibis.memtable(p_alive) if isinstance(p_alive, pa.Table) else p_alive,
        baseline=baseline,
        flow_only=flow_only,
    )


def _predict(orders: Any, at: datetime, params: MapParams, *, spend: bool = True
             ) -> tuple[models.Fitted | None, str | None]:
    """The fitted models as of ``at``, or why there are none."""
    if not params.predictions:
        return None, _("predictions are switched off (analysis.predictions)")
    try:
        return models.fit_and_predict(orders, as_of=at, params=params, spend=spend), None
    except ModelError as exc:
        return None, str(exc)


@dataclass
class CompiledRefresh:
    """The live refresh's map query, compiled once and run again for every batch of touched
    customers: building and compiling the Ibis expression of the whole map costs several
    times what running it on a few customers' rows does.

    The caller's engine keeps the input tables under fixed names; ``register(name, table)``
    puts another Arrow table there and returns it as an Ibis table, ``run(sql)`` executes SQL
    on it. The compiled query is reused while the as-of moment, the frozen baseline, the
    parameters and the input schemas stay the same; any change compiles it again.
    """

    register: Callable[[str, pa.Table], Any]
    run: Callable[[str], pa.Table]
    # (name, SQL) -> the SQL that reads a view of it, where the engine has views
    define_view: Callable[[str, str], str] | None = None
    compiles: int = 0
    _key: str | None = None
    _sql: str = ""
    _schema: pa.Schema | None = None

    def execute(self, key: Any, build: Callable[[Any], Any], p_alive: pa.Table | None
                ) -> pa.Table:
        """The rows of ``build(p_alive as an Ibis table on the engine)``, compiled only when
        ``key`` changed."""
        p_table = None if p_alive is None else self.register("live_p_alive", p_alive)
        text = json.dumps([key, p_alive is None], sort_keys=True, default=str)
        if text != self._key or self._schema is None:
            expr = build(p_table)
            # constants the expression carries as in-memory tables (the baseline's row, the
            # rank edges): executing an Ibis expression puts them on the engine, running its
            # SQL does not, so they are put there once under the names the SQL uses
            for op in expr.op().find(ops.InMemoryTable):
                self.register(op.name, op.data.to_pyarrow(op.schema))
            self._sql = str(expr.compile())
            if self.define_view is not None:
                self._sql = self.define_view("live_refresh", self._sql)
            self._schema = expr.schema().to_pyarrow()
            self._key = text
            self.compiles += 1
        return self.run(self._sql).cast(self._schema)


def refresh_customers(
    tables: Mapping[Kind, Any],
    *,
    baseline: Mapping[str, Any],
    params: MapParams,
    as_of: datetime,
    saved_models: Mapping[str, Any] | None = None,
    compiled: CompiledRefresh | None = None,
    stake: Mapping[str, Any] | None = None,
    currency: str | None = None,
) -> Frame:
    """The map rows of the customers in ``tables`` (every table already narrowed to them, on
    one engine), each placed against a frozen ``baseline`` (:meth:`Analysis.baseline`) as the
    full map placed them: the live map's step after an order, a return or an event arrives.
    The revenue rank and cumulative revenue shares are not known this way (null).

    ``saved_models`` (``Fitted.describe()`` of the full map) predicts these customers with
    the models fitted on the whole base, so that P(alive) still decides lost and churn risk.
    ``compiled`` reuses the query of the previous call (see :class:`CompiledRefresh`).
    ``stake`` (``Analysis.calibration.to_dict()`` of the full map) ranks these customers by
    money at stake as the full map did; without it the rows have no ranking columns.
    ``currency``: as for :func:`analyze`.
    """
    if Kind.ORDERS not in tables:
        raise AnalysisError(_("orders are needed for an analysis"))
    inputs = {k: _cut(k, t, as_of) for k, t in tables.items()}
    predicted = None
    if saved_models is not None and params.predictions:
        predicted = models.predict_with(saved_models, inputs[Kind.ORDERS], as_of=as_of,
                                        params=params)
    p_alive = None if predicted is None else models.p_alive_table(predicted)
    if compiled is None:
        executed = _executed(_map_of(inputs, as_of, params, p_alive, baseline).customers)
    else:
        key = [as_of.isoformat(), baseline, repr(params),
               {k.value: str(t.schema()) for k, t in inputs.items()}]
        executed = compiled.execute(
            key, lambda p: _map_of(inputs, as_of, params, p, baseline).customers, p_alive)
    executed = with_contacts(executed, tables.get(Kind.CUSTOMERS))
    return _rows(executed, predicted, params,
                 None if stake is None else _stake_of(inputs, executed, stake, as_of, params),
                 data_currency(inputs[Kind.ORDERS], currency))


def _stake_of(inputs: Mapping[Kind, Any], executed: pa.Table, stake: Mapping[str, Any],
              as_of: datetime, params: MapParams) -> pa.Table | None:
    """Money at stake of a few customers, as the full map's ranking (``stake``:
    ``Calibration.to_dict()``) would put them; None when they have no order."""
    orders = models.orders_arrow(inputs[Kind.ORDERS])
    if orders.num_rows == 0:
        return None
    return _ranked(models.orders_occasions(orders), executed, as_of, params,
                   ranking.Calibration.from_dict(stake))[0]


DAY_COLUMNS = ("typical_gap_days", "days_since_last_order")
DAY_DECIMALS = 6
"""Day counts are handed out to a millionth of a day (0.09 s): times are compared as epoch
seconds in float64, so the days from an order to the end of the as-of day (23:59:59.999999)
would otherwise read 31.99999999998896 instead of 32 in a spreadsheet."""


def round_days(customers: pa.Table) -> pa.Table:
    """The day counts rounded to :data:`DAY_DECIMALS`."""
    for name in DAY_COLUMNS:
        i = customers.schema.get_field_index(name)
        if i >= 0:
            customers = customers.set_column(
                i, name, pc.round(customers.column(i), DAY_DECIMALS))
    return customers


def add_sentences(customers: pa.Table, currency: str | None = None) -> pa.Table:
    """``evidence_text`` (the evidence as sentences, in the current language, amounts in
    ``currency``) right after ``evidence``.

    Rendered :data:`CHUNK_ROWS` rows at a time: the Python objects of a million customers'
    evidence and sentences at once took gigabytes, for text that ends up in one Arrow column."""
    evidence = customers.column("evidence")
    kind = pa.list_(pa.string())
    texts = _in_steps(lambda k, n: pa.array(sentences_of(evidence.slice(k, n).to_pylist(),
                                                         currency), kind),
                      0, len(evidence)) if len(evidence) else \
        pa.array([], kind)
    at = customers.schema.get_field_index("evidence") + 1
    return customers.add_column(at, "evidence_text", texts)
