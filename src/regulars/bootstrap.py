"""The one place that wires adapters to services from Settings (the composition root)."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from regulars.adapters.engines import DuckDBEngine, PostgresEngine
from regulars.adapters.frames import as_arrow, is_frame
from regulars.adapters.staging import (
    ReadOptions,
    Staging,
    normalise_email,
    normalise_phone,
    typed_table,
)
from regulars.adapters.store import SqlStore
from regulars.analytics.portfolio import Period
from regulars.config import Settings, load_settings
from regulars.domain.errors import AnalysisError, InputError, RegularsError, RejectedFileError
from regulars.domain.tables import SPECS, Kind
from regulars.i18n import _
from regulars.services import analysis, importing, predictions, profiles
from regulars.services import backtest as backtesting
from regulars.services.screening import SetAside, screen, screen_in_place

if TYPE_CHECKING:
    from regulars.domain.loyalty.programme import Programme
    from regulars.services.api import ApiServices
    from regulars.services.api.keys import KeyRing
    from regulars.services.api.loyalty import ExpiryNoticeWorker, LoyaltyApi, TierEventWorker
    from regulars.services.loyalty import LoyaltyService
    from regulars.services.loyalty.sync import SyncReport

log = logging.getLogger(__name__)

__all__ = [
    "ReadOptions",
    "Settings",
    "analyze",
    "backtest",
    "delete_import_profile",
    "erase_customer",
    "import_file",
    "import_profile",
    "import_profiles",
    "load_settings",
    "load_table",
    "loyalty_programme",
    "notify_expiring",
    "open_api",
    "open_keys",
    "open_loyalty",
    "open_store",
    "save_import_profile",
    "store_exceptions",
    "store_failure",
    "sync_points",
]


def open_store(settings: Settings) -> SqlStore:
    return SqlStore(settings.database_url)


def screened(settings: Settings, tables: dict[Kind, pa.Table]
             ) -> tuple[dict[Kind, pa.Table], SetAside]:
    """The store's ``tables`` without the rows outside the input rules (``[input]``), which
    are logged and returned: one bad row left from before the rules must not fail the map
    or the points of every customer (:mod:`regulars.services.screening`)."""
    kept, aside = screen(tables, settings.input.rules(), datetime.now(UTC).date())
    for line in aside.lines():
        log.warning("%s", line)
    return kept, aside


def read_blacklist(settings: Settings, path: Path | None = None) -> importing.Blacklist | None:
    path = path or settings.import_.blacklist
    if path is None:
        return None
    country = settings.import_.default_phone_country
    return importing.read_blacklist(
        Path(path),
        normalise_email=normalise_email,
        normalise_phone=lambda v: normalise_phone(v, country),
    )


def import_file(
    kind: Kind | str,
    path: Path | str | Any,
    *,
    settings: Settings | None = None,
    options: ReadOptions | None = None,
    blacklist: Path | None = None,
    dry_run: bool = False,
    strict_customers: bool = False,
    progress: importing.Progress | None = None,
    store: Any = None,
    profile: str | None = None,
    save_profile: str | None = None,
    quarantine: Path | str | None = None,
) -> importing.ImportReport:
    """Import one file into the store of ``settings``; see :mod:`regulars.services.importing`.

    ``profile``: read the file as the saved import profile of that name says, for whatever
    ``options`` leave unset; ``save_profile``: after a successful import, save how this file
    was read under that name (:mod:`regulars.services.profiles`). ``quarantine``: import the
    good rows and write the rejected ones, with their reasons, to that CSV file.
    """
    settings = settings or load_settings()
    if is_frame(path):
        # an in-memory table goes through the same checks as a file: write it as Parquet
        with tempfile.TemporaryDirectory(prefix="regulars-") as tmp:
            file = Path(tmp) / f"{Kind(kind).value}.parquet"
            pq.write_table(as_arrow(path), file)
            return import_file(kind, file, settings=settings, options=options,
                               blacklist=blacklist, dry_run=dry_run,
                               strict_customers=strict_customers, progress=progress, store=store,
                               profile=profile, save_profile=save_profile,
                               quarantine=quarantine)
    kind = Kind(kind)
    options = options or ReadOptions()
    store = store or open_store(settings)
    if profile:
        options = profiles.apply(options, profiles.load(store, profile, kind.value))
    country = settings.import_.default_phone_country
    with Staging(default_phone_country=country, rules=settings.input.rules()) as staging:
        report = importing.import_file(
            store=store,
            staging=staging,
            kind=kind,
            path=Path(path),
            options=options,
            max_problems=settings.import_.max_errors,
            batch_rows=settings.import_.batch_rows,
            blacklist=read_blacklist(settings, blacklist),
            strict_customers=strict_customers,
            dry_run=dry_run,
            progress=progress,
            default_currency=settings.currency,
            quarantine=Path(quarantine) if quarantine else None,
            new_staging=lambda: Staging(default_phone_country=country,
                                        rules=settings.input.rules()),
        )
    if save_profile:
        store.save_profile(save_profile, kind.value, profiles.from_import(options, report))
    return report


def import_profiles(settings: Settings | None = None) -> list[dict[str, Any]]:
    """The saved import profiles of the store: ``name, kind, options, updated_at`` each."""
    return open_store(settings or load_settings()).profiles()


def import_profile(name: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The saved import profile ``name``, or None."""
    return open_store(settings or load_settings()).profile(name)


def save_import_profile(name: str, kind: Kind | str, options: ReadOptions,
                        settings: Settings | None = None) -> None:
    """Save ``options`` as the import profile ``name`` for files of ``kind``."""
    saved = {f: getattr(options, f) for f in profiles.KEPT}
    saved["columns"] = list(options.columns)
    open_store(settings or load_settings()).save_profile(
        name, Kind(kind).value, {k: v for k, v in saved.items() if v not in (None, [], {})})


def delete_import_profile(name: str, settings: Settings | None = None) -> bool:
    """Forget the import profile ``name``; False if there was none."""
    return open_store(settings or load_settings()).delete_profile(name)


def load_table(
    kind: Kind | str,
    source: Path | str | Any,
    *,
    settings: Settings | None = None,
    options: ReadOptions | None = None,
) -> pa.Table:
    """A file (or frame) of ``kind``, validated exactly as an import would, as an Arrow table.

    Customers sharing a normalised e-mail or phone are folded into one card, as on import.
    Raises :class:`~regulars.domain.errors.RejectedFileError` with every problem found.
    """
    return _load(Kind(kind), source, settings or load_settings(), options)[0]


_NO_CONTACTS = pa.schema([("customer_id", pa.string()), ("email_norm", pa.string()),
                          ("phone_norm", pa.string()), ("stub", pa.bool_())]).empty_table()


def _load(
    kind: Kind, source: Any, settings: Settings, options: ReadOptions | None
) -> tuple[pa.Table, list[importing.Merge]]:
    spec = SPECS[kind]
    if is_frame(source):
        with tempfile.TemporaryDirectory(prefix="regulars-") as tmp:
            file = Path(tmp) / f"{kind.value}.parquet"
            pq.write_table(as_arrow(source), file)
            return _load(kind, file, settings, options)
    options = options or ReadOptions(currency=settings.currency)
    path = Path(source)
    merges: list[importing.Merge] = []
    with Staging(default_phone_country=settings.import_.default_phone_country,
                 rules=settings.input.rules()) as staging:
        columns = staging.read(path, options)
        found, _ignored = staging.resolve_columns(spec, columns, options)
        staging.check(spec, options, max_problems=settings.import_.max_errors)
        staging.identify_for_reading(spec, spec.id_column in found)
        problems, total = staging.problem_list(settings.import_.max_errors)
        if total:
            raise RejectedFileError(path, problems, total,
                                    importing.rejection_message(path, problems, total))
        if kind is Kind.CUSTOMERS:
            staging.normalise_contacts()
            merges = importing.plan_merges(staging.contact_matches(_NO_CONTACTS))
            staging.drop_ids(spec, pa.array([m.alias_id for m in merges], pa.string()))
        return typed_table(staging, spec), merges


def _fold_merged(table: pa.Table, merges: list[importing.Merge]) -> pa.Table:
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


def analyze(
    orders: Any = None,
    customers: Any = None,
    returns: Any = None,
    invoices: Any = None,
    interactions: Any = None,
    feedback: Any = None,
    referrals: Any = None,
    *,
    as_of: date | datetime | str | None = None,
    config: Settings | None = None,
    options: ReadOptions | None = None,
    period: tuple[date | str, date | str] | None = None,
    flow_from: date | datetime | str | None = None,
    engine: str = "duckdb",
    progress: analysis.Progress | None = None,
    words: bool = True,
) -> analysis.Analysis:
    """The customer map and portfolio: from files or frames, or, with no ``orders``, the store.

    Parameters
    ----------
    orders, customers, returns, invoices, interactions, feedback, referrals
        Each a file path or a pandas, polars or pyarrow table with the columns of DOMAIN §2
        (``regulars tables`` lists them). Only ``orders`` is required; each other table makes
        more signals possible, and the result says which were not evaluated and why.
    as_of
        The date to analyse as of (a date means the end of that day; ISO text such as
        ``"2024-12-31"`` is accepted). Default: the day of the last order.
    period
        ``(start, end)`` dates of the CRR, churn and NPS period (default the last 365 days).
    flow_from
        The date the ladder flow compares with (default a year before ``as_of``).
    config
        Settings (thresholds in ``config.analysis``); default: :func:`load_settings`.
    engine
        ``"duckdb"`` (default) or ``"postgres"``, which computes in-database on the store's
        tables (needs a PostgreSQL store and no file arguments).
    progress
        Called with each step, in words, as it starts (reading a file, fitting the models,
        the map, …): a business with millions of orders takes a minute or more.
    words
        ``False``: the evidence sentences (``evidence_text``) are written when the customers
        are first read (``result.customers.arrow``), and only for the rows taken when a caller
        takes a few (``result.customers.take``). They take about 12 s for a million customers.
    """
    settings = config or load_settings()
    # checked before any file is read: reading millions of orders takes a while
    moments = (_moment(as_of), _span(period), _moment(flow_from, "flow_from"))
    given = {
        Kind.ORDERS: orders, Kind.CUSTOMERS: customers, Kind.RETURNS: returns,
        Kind.INVOICES: invoices, Kind.INTERACTIONS: interactions, Kind.FEEDBACK: feedback,
        Kind.REFERRALS: referrals,
    }
    aside: list[SetAside] = []
    with _input_tables(given, settings, options, engine, progress, aside) as tables:
        result = _run(tables, settings, *moments, progress, words)
    result.set_aside = [line for a in aside for line in a.lines()]
    return result


@contextmanager
def _input_tables(given: dict[Kind, Any], settings: Settings, options: ReadOptions | None,
                  engine: str, progress: analysis.Progress | None,
                  set_aside: list[SetAside] | None = None) -> Iterator[dict[Kind, Any]]:
    """The input tables as Ibis tables on one engine: the files or frames ``given`` (checked
    as an import would; ``options`` read the orders), or, when none is, the store (on
    PostgreSQL in-database with ``engine="postgres"``, closed afterwards)."""
    say = progress or analysis.silent
    set_aside = [] if set_aside is None else set_aside  # the store's rows left out, if any
    given = {k: v for k, v in given.items() if v is not None}
    if given and Kind.ORDERS not in given:
        raise AnalysisError(_("orders are needed for an analysis"))
    if engine == "postgres":
        if given:
            raise AnalysisError(_("the postgres engine analyses the store; give no files"))
        pg = PostgresEngine(settings.database_url)
        try:
            stored, aside = screen_in_place({k: pg.stored(k) for k in Kind},
                                            settings.input.rules(), datetime.now(UTC).date())
            for line in aside.lines():
                log.warning("%s", line)
            set_aside.append(aside)
            yield stored
        finally:
            pg.close()
        return
    if engine != "duckdb":
        raise AnalysisError(_("unknown engine '{e}': use duckdb or postgres").format(e=engine))
    if given:
        loaded = {}
        for k, v in given.items():
            what = (Path(v).name if isinstance(v, str | Path)
                    else _("the {kind} table").format(kind=k.value))
            say(_("reading and checking {what}…").format(what=what))
            loaded[k] = _load(k, v, settings, options if k is Kind.ORDERS else None)
        merges = loaded[Kind.CUSTOMERS][1] if Kind.CUSTOMERS in loaded else []
        arrow = {k: _fold_merged(t, merges) for k, (t, _m) in loaded.items()}
    else:
        store = open_store(settings)
        store.ensure_schema()
        say(_("reading the store…"))
        arrow, aside = screened(settings, {k: store.read_table(k) for k in Kind})
        set_aside.append(aside)
        if arrow[Kind.ORDERS].num_rows == 0:
            raise AnalysisError(
                _("the store at {url} holds no orders: import some, or give files").format(
                    url=store.display_url))
    # the DuckDB engine stays open: the result's baseline may still be read from it
    duck = DuckDBEngine()
    yield {k: duck.table(f"input_{k.value}", t) for k, t in arrow.items()}


def _moment(d: date | datetime | str | None, name: str = "as_of") -> datetime | None:
    """A date means the end of that day; ISO text (``"2024-12-31"``, ``"2024-12-31T18:00"``)
    is read as the date or moment it spells."""
    if isinstance(d, str):
        try:
            d = datetime.fromisoformat(d) if "T" in d or " " in d.strip() else date.fromisoformat(d)
        except ValueError as e:
            raise InputError(_("{name}: '{value}' is not a date (expected YYYY-MM-DD)").format(
                name=name, value=d)) from e
    if d is None or isinstance(d, datetime):
        return d
    return analysis.end_of_day(d)


def _span(period: tuple[date | str, date | str] | None) -> Period | None:
    """The whole days from ``period``'s start to its end."""
    if period is None:
        return None
    start, end = (_moment(d, "period") for d in period)
    assert start is not None and end is not None
    if end.date() < start.date():
        raise InputError(_("period: it ends ({end}) before it starts ({start})").format(
            end=end.date(), start=start.date()))
    return Period(datetime.combine(start.date(), datetime.min.time()),
                  analysis.end_of_day(end.date()))


def _run(
    tables: dict[Kind, Any],
    settings: Settings,
    as_of: datetime | None,
    period: Period | None,
    flow_from: datetime | None,
    progress: analysis.Progress | None = None,
    words: bool = True,
) -> analysis.Analysis:
    return analysis.analyze(tables, params=settings.analysis, as_of=as_of, period=period,
                            flow_from=flow_from, progress=progress, words=words)



def backtest(
    orders: Any = None,
    customers: Any = None,
    returns: Any = None,
    invoices: Any = None,
    interactions: Any = None,
    feedback: Any = None,
    referrals: Any = None,
    *,
    as_of: date | str,
    horizon: str | int | None = None,
    until: date | str | None = None,
    config: Settings | None = None,
    options: ReadOptions | None = None,
    engine: str = "duckdb",
    progress: analysis.Progress | None = None,
) -> backtesting.Backtest:
    """Rewind to ``as_of``, build the map and the ranking as :func:`analyze` would then, and
    compare them with what customers did in the horizon after it (``docs/backtest.md``).

    Parameters
    ----------
    orders, customers, returns, invoices, interactions, feedback, referrals, config, options, \
engine, progress
        As for :func:`analyze` (no ``orders``: the store).
    as_of
        The date to rewind to (its whole day is before the horizon).
    horizon
        Days (an int) or text: ``"180d"``, ``"26w"``, ``"6m"`` (default ``"180d"``).
    until
        The horizon's last day instead of a length.

    Raises
    ------
    AnalysisError
        The data ends before the horizon does (the message says until when it reaches).
    """
    settings = config or load_settings()
    start = _moment(as_of)
    assert start is not None
    end_moment = _moment(until, "until")
    end = backtesting.horizon_end(start.date(), horizon,
                                  None if end_moment is None else end_moment.date())
    given = {
        Kind.ORDERS: orders, Kind.CUSTOMERS: customers, Kind.RETURNS: returns,
        Kind.INVOICES: invoices, Kind.INTERACTIONS: interactions, Kind.FEEDBACK: feedback,
        Kind.REFERRALS: referrals,
    }
    with _input_tables(given, settings, options, engine, progress) as tables:
        return backtesting.backtest(tables, params=settings.analysis, as_of=start.date(),
                                    until=end, progress=progress)

# -- the HTTP API (issue 6) -------------------------------------------------------------------


def _api_as_of(settings: Settings, as_of: datetime | None) -> datetime | None:
    """The moment the served map describes: given, now, or (None) the last order's day."""
    if as_of is not None:
        return as_of
    if settings.api.map_as_of == "now":
        from datetime import UTC

        return datetime.now(UTC).replace(tzinfo=None)
    return None


def api_as_of_source(settings: Settings, as_of: datetime | None) -> str:
    """How :func:`_api_as_of` chooses the moment (one of ``live.AS_OF_SOURCES``)."""
    if as_of is not None:
        return "given"
    return "clock" if settings.api.map_as_of == "now" else "last order"


def compute_customer_map(settings: Settings, as_of: datetime | None = None, *,
                         tables: dict[Kind, pa.Table] | None = None,
                         threads: int | None = None) -> tuple[pa.Table, datetime]:
    """The customer map of everyone in the store (no portfolio), as ``analyze`` computes it.

    ``tables``: the store's input tables when the caller has read them already.
    """
    arrow = tables if tables is not None else _stored_tables(settings)
    at = _api_as_of(settings, as_of)
    if arrow[Kind.ORDERS].num_rows == 0:
        return pa.table({"customer_id": pa.array([], pa.string())}), at or datetime.min
    duck = DuckDBEngine(threads=threads)
    try:
        ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in arrow.items()}
        return analysis.customer_rows(ibis_tables, params=settings.analysis, as_of=at)
    finally:
        duck.close()


def _stored_tables(settings: Settings) -> dict[Kind, pa.Table]:
    store = open_store(settings)
    store.ensure_schema()
    return screened(settings, {k: store.read_table(k) for k in Kind})[0]


def full_analysis(settings: Settings, as_of: datetime | None = None, *,
                  tables: dict[Kind, pa.Table] | None = None,
                  with_baseline: bool = False) -> analysis.Analysis:
    """:func:`analyze` of the store, on tables the caller may have read already; with
    ``with_baseline`` the map's baseline is frozen (computed) before the engine closes."""
    arrow = tables if tables is not None else _stored_tables(settings)
    if arrow[Kind.ORDERS].num_rows == 0:
        raise AnalysisError(_("the store holds no orders yet"))
    duck = DuckDBEngine()
    try:
        ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in arrow.items()}
        result = _run(ibis_tables, settings, _api_as_of(settings, as_of), None, None)
        # the clock's moment reaches the analysis as a given one: say how it was chosen
        result.as_of_source = api_as_of_source(settings, as_of)
        if with_baseline:
            result.baseline()
        return result
    finally:
        duck.close()


class LiveEngine:
    """The live worker's DuckDB connection, kept between refreshes with the refresh query
    compiled once (:class:`analysis.CompiledRefresh`); one refresh at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._open: tuple[DuckDBEngine, analysis.CompiledRefresh] | None = None

    def session(self) -> tuple[DuckDBEngine, analysis.CompiledRefresh]:
        """The connection and its compiled query (opened on first use; hold ``lock``)."""
        if self._open is None:
            duck = DuckDBEngine(threads=1)  # the live map runs beside the requests it follows
            self._open = duck, analysis.CompiledRefresh(register=duck.table, run=duck.run_sql,
                                                        define_view=duck.define_view)
        return self._open

    def close(self) -> None:
        with self.lock:
            if self._open is not None:
                self._open[0].close()
                self._open = None


def refresh_map(settings: Settings, tables: dict[Kind, pa.Table], frozen: dict[str, Any],
                as_of: datetime | None, snapshot_as_of: datetime,
                live: LiveEngine | None = None) -> tuple[pa.Table, datetime]:
    """The map rows of the customers in ``tables`` (the store's rows about them only),
    recomputed against the ``frozen`` baseline of the last full map (``{"base": ...,
    "models": ..., "stake": ...}``): the live map's step, whose cost follows the customers
    touched.

    With ``live`` the query compiled for the previous refresh is reused; the moment of a
    ``now`` map is then the current minute, so that refreshes within a minute share it."""
    at = _api_as_of(settings, as_of)
    if at is None:  # "last_order": the snapshot's day, or a later order's
        last = pc.max(tables[Kind.ORDERS].column("ordered_at")).as_py()
        at = max(snapshot_as_of, analysis.end_of_day(last.date())) if last else (
            snapshot_as_of)
    elif live is not None and as_of is None:
        at = at.replace(second=0, microsecond=0)
    if live is None:
        duck = DuckDBEngine(threads=1)
        try:
            return _refresh_on(duck, settings, tables, frozen, at, None), at
        finally:
            duck.close()
    with live.lock:
        duck, compiled = live.session()
        return _refresh_on(duck, settings, tables, frozen, at, compiled), at


def _refresh_on(duck: DuckDBEngine, settings: Settings, tables: dict[Kind, pa.Table],
                frozen: dict[str, Any], at: datetime,
                compiled: analysis.CompiledRefresh | None) -> pa.Table:
    ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in tables.items()}
    frame = analysis.refresh_customers(ibis_tables, baseline=frozen["base"],
                                       params=settings.analysis, as_of=at,
                                       saved_models=frozen.get("models"), compiled=compiled,
                                       stake=frozen.get("stake"))
    result: pa.Table = frame.to_arrow()
    return result


def erase_customer(settings: Settings, customer_id: str, *,
                   actor: str) -> dict[str, Any] | None:
    """Erase one customer's personal data (the right to erasure) without the HTTP API, audited
    under ``cli:ACTOR``; ``None`` when the store has no such customer."""
    from regulars.adapters.api_store import SqlApiStore
    from regulars.services.api import customers

    store = SqlApiStore(settings.database_url)
    try:
        store.ensure_schema()
        return customers.erase(store, customer_id, key_id=f"cli:{actor}"[:32],
                               action="regulars customers erase")
    finally:
        store.close()


def store_failure(exc: BaseException,
                  settings: Settings | str | None = None) -> RegularsError | None:
    """What ``exc`` means when it is a store failure: ``StoreUnavailableError`` (disk full,
    read-only, locked, unreachable, login refused, missing) or ``StoreRefusedValueError``;
    ``None`` when it is not the store's doing. Entry points call this in their last-resort
    handlers, so that they need not know the drivers; ``settings`` (or the store's URL)
    lets the sentence name the store."""
    from regulars.adapters import failures

    url = settings.database_url if isinstance(settings, Settings) else settings
    return failures.store_failure(exc, url)


def store_exceptions() -> tuple[type[Exception], ...]:
    """The exception classes a store failure arrives as (for handlers keyed by class)."""
    from regulars.adapters import failures

    return failures.driver_exceptions()


def open_api(settings: Settings, *, start_workers: bool = False) -> ApiServices:
    """The HTTP API's services on the store of ``settings`` (schema brought up to date)."""
    from regulars.adapters.api_store import SqlApiStore
    from regulars.adapters.loyalty_store import SqlLoyaltyStore
    from regulars.adapters.webhook_http import HttpSender
    from regulars.services.api import ApiServices, RateLimiter
    from regulars.services.api.ingest import Ingest
    from regulars.services.api.keys import KeyRing
    from regulars.services.api.live import LiveMap
    from regulars.services.api.loyalty import LoyaltyApi
    from regulars.services.api.webhooks import Webhooks

    store = SqlApiStore(settings.database_url)
    store.ensure_schema()
    api = settings.api
    webhooks = Webhooks(store, HttpSender(), max_attempts=api.webhook_max_attempts,
                        backoff=api.webhook_backoff_seconds)

    def tables() -> dict[Kind, pa.Table]:
        kept, aside = screened(settings, {k: store.read_table(k) for k in Kind})
        set_aside[:] = aside.lines()
        return kept

    set_aside: list[str] = []  # what the last full read left out, for the map's answer

    live_engine = LiveEngine()

    def compute_map(ids: set[str] | None, as_of: datetime | None
                    ) -> tuple[pa.Table, datetime, str]:
        # one DuckDB thread: the live map runs beside the requests it follows
        source = api_as_of_source(settings, as_of)
        state = store.map_state()
        if ids and state is not None and state.get("baseline"):
            frozen = json.loads(state["baseline"])
            touched = sorted(ids)
            rows = screened(settings, {k: store.read_rows(k, touched) for k in Kind})[0]
            table, moment = refresh_map(settings, rows, frozen, as_of, state["as_of"],
                                        live_engine)
            # a touched customer still as of the snapshot's moment: chosen as it was
            if moment == state["as_of"] and state.get("as_of_source"):
                source = state["as_of_source"]
            return table, moment, source
        return (*compute_customer_map(settings, as_of, tables=tables(), threads=1), source)

    def full_compute(as_of: datetime | None) -> tuple[
            pa.Table, datetime, str, dict[str, Any], dict[str, str], dict[str, Any] | None]:
        result = full_analysis(settings, as_of, tables=tables(), with_baseline=True)
        not_evaluated = dict(result.not_evaluated)
        if set_aside:
            not_evaluated["set_aside"] = "; ".join(set_aside)
        models = None if result.predictions is None else result.predictions.describe()
        frozen = {"base": result.baseline(), "models": models,
                  "stake": None if result.calibration is None
                  else result.calibration.to_dict()}
        return (result.customers.to_arrow(), result.as_of, result.as_of_source,
                result.portfolio.to_dict(), not_evaluated, frozen)

    live = LiveMap(store, compute_map, on_events=webhooks.publish)
    # the loyalty store is SQLAlchemy on pysqlite, as the API store's own engines: on SQLite
    # no second copy of SQLite (ADBC) has the file open while the server runs
    points = open_loyalty(settings)
    # the tier_changed events are queued in the loyalty store's transaction that moves their
    # cursor: the outbox is in the same database
    loyalty_store = points.store if isinstance(points.store, SqlLoyaltyStore) else None
    loyalty = LoyaltyApi(points, store, publish=webhooks.publish,
                         notice_days=api.points_expiring_notice_days, tier_events=loyalty_store,
                         on_queued=webhooks.wake)
    tier_events = tier_event_worker(loyalty)
    country = settings.import_.default_phone_country
    ingest = Ingest(store, currency=settings.currency, normalise_email=normalise_email,
                    normalise_phone=lambda v: normalise_phone(v, country),
                    on_change=live.touch if api.live_map else None,
                    accrue=loyalty.accrue_ingested, rules=settings.input.rules())
    services = ApiServices(
        store=store, keys=KeyRing(store), ingest=ingest, live=live, webhooks=webhooks,
        limiter=RateLimiter(api.rate_limit, api.rate_burst),
        full_compute=full_compute, compute_map=compute_map,
        max_batch=api.max_batch, max_body_bytes=api.max_body_bytes, live_enabled=api.live_map,
        loyalty=loyalty, expiry_notices=expiry_notice_worker(settings, loyalty),
        tier_events=tier_events, closers=[live_engine.close])
    if start_workers:
        services.start()
    return services


def expiry_notice_worker(settings: Settings, loyalty: LoyaltyApi) -> ExpiryNoticeWorker | None:
    """The server's periodic ``points_expiring`` run (an ``ExpiryNoticeWorker``), or None
    when ``[api] points_expiring_check_minutes`` is 0."""
    from regulars.services.api.loyalty import ExpiryNoticeWorker

    minutes = settings.api.points_expiring_check_minutes
    if not minutes:
        return None
    return ExpiryNoticeWorker(loyalty.notify_expiring, interval=minutes * 60.0)


def tier_event_worker(loyalty: LoyaltyApi) -> TierEventWorker:
    """The server's ``tier_changed`` publisher: every few seconds, and woken by a request that
    changed a tier (see ``LoyaltyApi.publish_tier_changes``)."""
    from regulars.services.api.loyalty import TIER_EVENTS_POLL_SECONDS, TierEventWorker

    worker = TierEventWorker(loyalty.publish_tier_changes, interval=TIER_EVENTS_POLL_SECONDS)
    loyalty.on_tier_change = worker.wake
    return worker


def notify_expiring(settings: Settings, *, at: datetime | None = None,
                    within_days: int | None = None) -> dict[str, Any]:
    """Queue the ``points_expiring`` webhooks due now (``regulars points notify-expiring``):
    the server's delivery worker sends them. See ``LoyaltyApi.notify_expiring``."""
    services = open_api(settings)
    try:
        loyalty: LoyaltyApi = services.loyalty  # type: ignore[assignment]  # open_api sets it
        return loyalty.notify_expiring(at=at, within_days=within_days)
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]


def open_keys(settings: Settings) -> KeyRing:
    """The API keys of the store of ``settings`` (for ``regulars keys``)."""
    from regulars.adapters.api_store import SqlApiStore
    from regulars.services.api.keys import KeyRing

    store = SqlApiStore(settings.database_url)
    store.ensure_schema()
    return KeyRing(store, ttl=0.0)


# --- the loyalty programme (DOMAIN §8) ---------------------------------------------------------


def loyalty_programme(settings: Settings) -> Programme:
    """The programme ``[loyalty]`` of ``settings`` defines, in the business's time zone unless
    the section names its own."""
    return settings.loyalty.programme(settings.timezone)


def open_loyalty(settings: Settings, *, clock: Any = None, chunk: int = 500) -> LoyaltyService:
    """The loyalty services over the store of ``settings`` (schema brought up to date):
    audited in the store's audit log (as the caller acting around each call, else Python's
    OS user), tier changes queued as ``tier_changed`` webhooks at once."""
    from regulars.adapters.api_store import SqlApiStore
    from regulars.adapters.loyalty_store import SqlLoyaltyStore
    from regulars.services.api.loyalty import TierEventPublisher
    from regulars.services.audit import AuditTrail
    from regulars.services.loyalty.audited import AuditedLoyaltyService

    store = SqlLoyaltyStore(settings.database_url)
    store.ensure_schema()
    audit_store = SqlApiStore(settings.database_url)  # the audit log and webhook outbox
    country = settings.import_.default_phone_country
    return AuditedLoyaltyService(
        store, loyalty_programme(settings), clock=clock, chunk=chunk,
        normalise_email=normalise_email, normalise_phone=lambda v: normalise_phone(v, country),
        audit=AuditTrail(audit_store),
        on_tier_change=TierEventPublisher(audit_store, store).publish,
        on_close=[audit_store.close])


def sync_points(settings: Settings, *, enrol: bool = False,
                service: LoyaltyService | None = None) -> SyncReport:
    """Accrue the store's imported orders and returns in the programme (idempotent); with
    ``enrol``, enrol the store's customers first."""
    from regulars.services.loyalty.sync import sync

    own = service is None
    service = service or open_loyalty(settings)
    store = open_store(settings)
    try:
        store.ensure_schema()
        kinds = (Kind.ORDERS, Kind.RETURNS) + ((Kind.CUSTOMERS,) if enrol else ())
        tables, aside = screened(settings, {k: store.read_table(k) for k in kinds})
        return sync(service, orders=tables[Kind.ORDERS], returns=tables[Kind.RETURNS],
                    customers=tables.get(Kind.CUSTOMERS), enrol=enrol,
                    set_aside=aside.to_dict())
    finally:
        if own:
            service.close()


# --- predictions (issue 4) -----------------------------------------------------------------


def _orders_for_models(orders: Any, settings: Settings, options: ReadOptions | None
                       ) -> pa.Table:
    """The orders of a file or frame (validated as on import), or of the store."""
    if orders is not None:
        return _load(Kind.ORDERS, orders, settings, options)[0]
    store = open_store(settings)
    store.ensure_schema()
    table = screened(settings, {Kind.ORDERS: store.read_table(Kind.ORDERS)})[0][Kind.ORDERS]
    if table.num_rows == 0:
        raise AnalysisError(_("the store at {url} holds no orders: import some, or give files")
                            .format(url=store.display_url))
    return table


def evaluate_models(
    orders: Any = None,
    *,
    calibration_end: date,
    observation_end: date | None = None,
    models: tuple[str, ...] = ("pareto_nbd", "mbg_nbd", "bg_nbd"),
    config: Settings | None = None,
    options: ReadOptions | None = None,
) -> Any:
    """Fit each model on the orders up to ``calibration_end`` and compare its predictions with
    what the customers did up to ``observation_end`` (default: the day of the last order).

    Returns a :class:`regulars.analytics.models.ModelsEvaluation`.
    """
    import dataclasses as dc

    from regulars.analytics.models import ModelError, compare_models
    from regulars.analytics.models import evaluate_models as evaluate

    settings = config or load_settings()
    table = _orders_for_models(orders, settings, options)
    if observation_end is None:
        last = pc.max(table.column("ordered_at")).as_py()
        observation_end = last.date()

    def run(names: tuple[str, ...], penalty: float) -> Any:
        return evaluate(table.column("customer_id"), table.column("ordered_at"),
                        calibration_end=calibration_end, observation_end=observation_end,
                        models=names, penalty=penalty)

    try:
        result = run(models, 0.0)
    except ModelError:
        result = None
    failed = models if result is None else tuple(result.failures)
    if failed:
        # as for the map: a model that does not converge gets a second try with a small
        # L2 penalty (predictions.RETRY_PENALTY), and says so in its row
        try:
            retried = run(failed, predictions.RETRY_PENALTY)
        except ModelError as exc:
            if result is None:
                raise AnalysisError(str(exc)) from exc
        else:
            kept = [] if result is None else result.evaluations
            evaluations = kept + retried.evaluations
            result = dc.replace(retried, evaluations=evaluations,
                                comparison=compare_models([e.model for e in evaluations]),
                                failures=retried.failures)
    return result


def fit_models(
    orders: Any = None,
    *,
    as_of: date | datetime | None = None,
    config: Settings | None = None,
    options: ReadOptions | None = None,
) -> predictions.Fitted:
    """The customer-base models the map would use (``[analysis] prediction_model``), fitted
    on the orders up to ``as_of`` (default: the end of the day of the last order)."""
    from regulars.analytics.models import ModelError

    settings = config or load_settings()
    table = _orders_for_models(orders, settings, options)
    duck = DuckDBEngine()
    try:
        t = duck.table("input_orders", table)
        moment = _moment(as_of) or analysis.default_as_of(t)
        cut = t.filter(t.ordered_at <= moment)
        return predictions.fit_and_predict(cut, as_of=moment, params=settings.analysis)
    except ModelError as exc:
        raise AnalysisError(str(exc)) from exc
    finally:
        duck.close()
