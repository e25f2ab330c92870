"""The public Python facade (what ``regulars.__all__`` re-exports, and what the CLI calls).

A thin layer: each function resolves the settings (``load_settings()`` when none are given),
builds what it needs with the constructors of :mod:`regulars.bootstrap` and calls the
services. It sits between the entry points and the composition root: the entry points may
call it or bootstrap; bootstrap never calls it.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from regulars.analytics.portfolio import Period
from regulars.bootstrap import (
    ReadOptions,
    Settings,
    as_file,
    load_settings,
    loyalty_programme,
    open_api,
    open_api_store,
    open_duckdb,
    open_inputs,
    open_keys,
    open_loyalty,
    open_map,
    open_playbook_runner,
    open_spark,
    open_staging,
    open_store,
    open_tasks,
    playbook_reports,
    read_blacklist,
    store_exceptions,
    store_failure,
    worklist_rows,
)
from regulars.domain.errors import AnalysisError, InputError
from regulars.domain.tables import Kind
from regulars.i18n import _
from regulars.services import analysis, importing, predictions, profiles
from regulars.services import backtest as backtesting
from regulars.services import worklist as worklists
from regulars.services.audit import Caller
from regulars.services.live_map import LiveEngine
from regulars.services.screening import SetAside

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from regulars.services.api.loyalty import LoyaltyApi
    from regulars.services.goals import Goals
    from regulars.services.loyalty import LoyaltyService
    from regulars.services.loyalty.sync import SyncReport
    from regulars.services.playbooks.effect import EffectReport
    from regulars.services.playbooks.runner import PassResult
    from regulars.services.task_report import TaskReport
    from regulars.services.tasks import PlanResult, SuggestionLike, TaskAnswer, Tasks

__all__ = [
    "ReadOptions",
    "Settings",
    "add_task",
    "analyze",
    "backtest",
    "cancel_task",
    "complete_task",
    "compute_customer_map",
    "delete_import_profile",
    "erase_customer",
    "evaluate_models",
    "fit_models",
    "full_analysis",
    "goals",
    "import_file",
    "import_profile",
    "import_profiles",
    "list_tasks",
    "live_engine",
    "load_settings",
    "load_table",
    "loyalty_programme",
    "notify_expiring",
    "open_api",
    "open_keys",
    "open_loyalty",
    "open_store",
    "open_tasks",
    "plan_tasks",
    "playbook",
    "playbook_report",
    "playbooks",
    "preview_playbook",
    "reassign_task",
    "refresh_map",
    "run_playbooks",
    "save_import_profile",
    "snooze_task",
    "store_exceptions",
    "store_failure",
    "sync_points",
    "task_report",
    "worklist",
    "worklist_suggestions",
]


# --- files in: import, profiles, reading -------------------------------------------------


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
    sample_rows: int = 0,
) -> importing.ImportReport:
    """Import one file into the store of ``settings``; see :mod:`regulars.services.importing`.

    ``profile``: read the file as the saved import profile of that name says, for whatever
    ``options`` leave unset; ``save_profile``: after a successful import, save how this file
    was read under that name (:mod:`regulars.services.profiles`). ``quarantine``: import the
    good rows and write the rejected ones, with their reasons, to that CSV file.
    ``sample_rows``: keep the file's first rows as read in ``report.sample`` (a preview).
    """
    settings = settings or load_settings()
    # an in-memory table goes through the same checks as a file: written as Parquet
    with as_file(kind, path) as file:
        kind = Kind(kind)
        options = options or ReadOptions()
        store = store or open_store(settings)
        if profile:
            options = profiles.apply(options, profiles.load(store, profile, kind.value))
        # not yet for_import=True (a bounded staging file): it cost 10 s at 10M orders, and a
        # full disk under the staging file is then told as a file that cannot be read
        new_staging = open_staging(settings)
        with new_staging() as staging:
            report = importing.import_file(
                store=store,
                staging=staging,
                kind=kind,
                path=file,
                options=options,
                max_problems=settings.import_.max_errors,
                batch_rows=settings.import_.batch_rows,
                blacklist=read_blacklist(settings, blacklist),
                strict_customers=strict_customers,
                dry_run=dry_run,
                progress=progress,
                default_currency=settings.currency,
                quarantine=Path(quarantine) if quarantine else None,
                new_staging=new_staging,
                sample_rows=sample_rows,
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
    return open_inputs(settings or load_settings()).load(Kind(kind), source, options)[0]


# --- the map and the portfolio ------------------------------------------------------------


def _given(orders: Any, customers: Any, returns: Any, invoices: Any, interactions: Any,
           feedback: Any, referrals: Any) -> dict[Kind, Any]:
    return {
        Kind.ORDERS: orders, Kind.CUSTOMERS: customers, Kind.RETURNS: returns,
        Kind.INVOICES: invoices, Kind.INTERACTIONS: interactions, Kind.FEEDBACK: feedback,
        Kind.REFERRALS: referrals,
    }


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
    words: bool | str = False,
    spark_session: Any = None,
    spark_master: str | None = None,
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
        ``"duckdb"`` (default); ``"postgres"``, which computes in-database on the store's
        tables (needs a PostgreSQL store and no file arguments); or ``"spark"``, which computes
        on Apache Spark through Ibis' PySpark backend (``pip install 'regulars[spark]'`` and a
        Java runtime; ``docs/spark.md``).
    spark_session, spark_master
        With ``engine="spark"``: a ``SparkSession`` of the caller's (local, on a cluster or
        Spark Connect; it is left running), else the master of the session to start
        (default ``local[*]``; ``sc://host:15002`` or ``SPARK_REMOTE`` for Spark Connect).
    progress
        Called with each step, in words, as it starts (reading a file, fitting the models,
        the map, …): a business with millions of orders takes a minute or more.
    words
        ``True``: write every customer's evidence sentences (``evidence_text``) now, as a
        step of the analysis (a language code such as ``"en"``: now, in that language). By default
        they are written when they are read: when the customers are first read
        (``result.customers.arrow``, ``to_pandas()``, …), and only for the rows taken when a caller
        takes a few (``result.customers.take``). The rows are the same either way; the sentences
        take about 15 s for a million customers, which an analysis read only for its portfolio or a
        few customers does not pay.
    """
    settings = config or load_settings()
    # checked before any file is read: reading millions of orders takes a while
    at, span, since = _moment(as_of), _span(period), _moment(flow_from, "flow_from")
    given = _given(orders, customers, returns, invoices, interactions, feedback, referrals)
    aside: list[SetAside] = []
    inputs = open_inputs(settings, spark=open_spark(spark_session, spark_master))
    with inputs.tables(given, options, engine, progress, aside) as tables:
        result = analysis.analyze(tables, params=settings.analysis, as_of=at, period=span,
                                  flow_from=since, progress=progress, words=words,
                                  currency=settings.currency)
    result.set_aside = [line for a in aside for line in a.lines()]
    return result


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
    compare them with what customers did in the horizon after it (``docs/backtest.md``),
    and the share of the revenue later lost that the managers' worklists (``[worklist]``,
    ``[contact_policy]``) would have reached within their daily capacity.

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
    given = _given(orders, customers, returns, invoices, interactions, feedback, referrals)
    with open_inputs(settings).tables(given, options, engine, progress) as tables:
        return backtesting.backtest(tables, params=settings.analysis, as_of=start.date(),
                                    until=end, progress=progress,
                                    rules=settings.worklist_rules(),
                                    policy=settings.contact_rules())


# --- the served map (the HTTP API's computation, for tests and benchmarks) ------------------


def _stored_tables(settings: Settings) -> dict[Kind, pa.Table]:
    store = open_store(settings)
    store.ensure_schema()
    return open_inputs(settings).screened({k: store.read_table(k) for k in Kind})[0]


def compute_customer_map(settings: Settings, as_of: datetime | None = None, *,
                         tables: dict[Kind, pa.Table] | None = None,
                         threads: int | None = None) -> tuple[pa.Table, datetime]:
    """The customer map of everyone in the store (no portfolio), as ``analyze`` computes it.

    ``tables``: the store's input tables when the caller has read them already.
    """
    arrow = tables if tables is not None else _stored_tables(settings)
    return open_map(settings).customer_map(arrow, as_of, threads=threads)


def full_analysis(settings: Settings, as_of: datetime | None = None, *,
                  tables: dict[Kind, pa.Table] | None = None,
                  with_baseline: bool = False) -> analysis.Analysis:
    """:func:`analyze` of the store as the HTTP API serves it, on tables the caller may have
    read already; with ``with_baseline`` the map's baseline is frozen before the engine
    closes."""
    arrow = tables if tables is not None else _stored_tables(settings)
    return open_map(settings).full_analysis(arrow, as_of, with_baseline=with_baseline)


def live_engine() -> LiveEngine:
    """A live step's engine, kept between refreshes (see :func:`refresh_map`)."""
    return LiveEngine(open_duckdb)


def refresh_map(settings: Settings, tables: dict[Kind, pa.Table], frozen: dict[str, Any],
                as_of: datetime | None, snapshot_as_of: datetime,
                live: LiveEngine | None = None) -> tuple[pa.Table, datetime]:
    """The live map's step (:meth:`regulars.services.live_map.MapComputer.refresh`) with the
    parameters of ``settings``."""
    return open_map(settings).refresh(tables, frozen, as_of, snapshot_as_of, live)


# --- customers, points and the HTTP API's jobs from Python and the CLI -------------------


def erase_customer(settings: Settings, customer_id: str, *,
                   actor: str) -> dict[str, Any] | None:
    """Erase one customer's personal data (the right to erasure) without the HTTP API, audited
    under ``cli:ACTOR``; ``None`` when the store has no such customer."""
    from regulars.services.api import customers

    store = open_api_store(settings)
    try:
        return customers.erase(store, customer_id, key_id=f"cli:{actor}"[:32],
                               action="regulars customers erase")
    finally:
        store.close()


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


def sync_points(settings: Settings, *, enrol: bool = False,
                service: LoyaltyService | None = None) -> SyncReport:
    """Accrue the store's imported orders and returns in the programme (idempotent); with
    ``enrol``, enrol the store's customers first."""
    from regulars.services.loyalty.sync import sync

    kinds = (Kind.ORDERS, Kind.RETURNS) + ((Kind.CUSTOMERS,) if enrol else ())
    if service is None:
        # the store is read (through ADBC, fast) before the ledger's connections open: two
        # copies of SQLite in one process must not have one file open at once, as closing
        # one drops the other's locks and it may checkpoint and remove the WAL under the
        # other (sqlite.org/howtocorrupt.html §2.2.1)
        store = open_store(settings)
        store.ensure_schema()
        read = {k: store.read_table(k) for k in kinds}
    else:
        # the caller's service holds connections already: read through the same SQLite
        reader = open_api_store(settings)
        try:
            read = {k: reader.read_table(k) for k in kinds}
        finally:
            reader.close()
    tables, aside = open_inputs(settings).screened(read)
    own = service is None
    service = service or open_loyalty(settings)
    try:
        return sync(service, orders=tables[Kind.ORDERS], returns=tables[Kind.RETURNS],
                    customers=tables.get(Kind.CUSTOMERS), enrol=enrol,
                    set_aside=aside.to_dict())
    finally:
        if own:
            service.close()


# --- predictions (issue 4) -----------------------------------------------------------------


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
    settings = config or load_settings()
    table = open_inputs(settings).orders(orders, options)
    if observation_end is None:
        observation_end = predictions.last_order_day(table)
    return predictions.evaluate_with_retry(table, calibration_end=calibration_end,
                                           observation_end=observation_end, models=models)


def fit_models(
    orders: Any = None,
    *,
    as_of: date | datetime | None = None,
    config: Settings | None = None,
    options: ReadOptions | None = None,
) -> predictions.Fitted:
    """The customer-base models the map would use (``[analysis] prediction_model``), fitted
    on the orders up to ``as_of`` (default: the end of the day of the last order)."""
    settings = config or load_settings()
    table = open_inputs(settings).orders(orders, options)
    duck = open_duckdb()
    try:
        return predictions.fit_orders(table, as_of=_moment(as_of), params=settings.analysis,
                                      engine=duck)
    finally:
        duck.close()


# --- today's worklist (issue 18) -------------------------------------------------------------


def worklist(settings: Settings | None = None, *, manager: str | None = None,
             on: date | datetime | str | None = None, limit: int | None = None,
             store: Any = None, words: str | None = None) -> worklists.Worklist:
    """Today's list of whom each manager contacts and why (``docs/worklist.md``).

    Parameters
    ----------
    settings
        ``[worklist]`` and ``[contact_policy]`` (default :func:`load_settings`).
    manager
        Only this manager's list (:class:`~regulars.services.worklist.UnknownManagerError`,
        naming the known managers, when there is no such manager).
    on
        The day of the list (a date, ISO text, or an aware moment, which the contact policy
        checks the quiet hours at). Default: the day the customer map describes.
    limit
        At most this many customers per manager (default each one's daily capacity).
    store
        An open API store to read through (the HTTP API's own); by default one is opened and
        closed here.
    words
        The language of the sentences (reasons, actions, why a contact is held back): ``"en"``
        for a file for machines, which is the same in every language; by default the current
        language (``regulars.i18n.use_language``). Errors are in the current language.

    The map is the served snapshot (``regulars serve``, ``POST /v1/map/rebuild``) when the
    store has one, else an analysis of the store.
    """
    settings = settings or load_settings()
    day = _list_day(on)
    own = store is None
    api_store = open_api_store(settings) if own else store
    try:
        rows = worklist_rows(api_store)
        snapshot = rows.map_snapshot()
        tables = {k: rows.read_table(k) for k in (Kind.CUSTOMERS, Kind.INTERACTIONS,
                                                  Kind.FEEDBACK)}
        tasks = rows.tasks()
    finally:
        if own:
            api_store.close()
    if snapshot is None:
        if not own:
            raise AnalysisError(_("no customer map yet: build it first"))
        result = analyze(config=settings)
        map_rows, as_of = result.customers.unfinished, result.as_of
    else:
        map_rows, as_of = snapshot
    return worklists.build(
        map_rows, rules=settings.worklist_rules(), policy=settings.contact_rules(),
        on=day if day is not None else as_of.date(), profiles=tables[Kind.CUSTOMERS],
        interactions=tables[Kind.INTERACTIONS], feedback=tables[Kind.FEEDBACK], tasks=tasks,
        manager=manager, limit=limit, as_of=as_of, words=words)


def _list_day(on: date | datetime | str | None) -> date | datetime | None:
    if on is None or isinstance(on, date):
        return on
    try:
        if "T" in on or " " in on.strip():
            moment = datetime.fromisoformat(on)
            return moment if moment.tzinfo is not None else moment.date()
        return date.fromisoformat(on)
    except ValueError as e:
        raise InputError(_("date: '{value}' is not a date (expected YYYY-MM-DD)").format(
            value=on)) from e
# --- the managers' tasks (issue 18) ------------------------------------------------------------


@contextmanager
def _tasks(settings: Settings | None) -> Iterator[Tasks]:
    tasks = open_tasks(settings or load_settings())
    try:
        yield tasks
    finally:
        tasks.close()


def list_tasks(settings: Settings | None = None, *, owner: str | None = None,
               state: str | None = None, due_from: date | None = None,
               due_to: date | None = None, customer_id: str | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
    """The tasks by due day, each with the customer's name, e-mail and phone
    (:meth:`regulars.services.tasks.Tasks.list`); ``state`` as of today (a snoozed task whose
    day has come is ``open``)."""
    from regulars.domain.tasks import parse_state
    from regulars.services.tasks import TaskFilter

    with _tasks(settings) as tasks:
        return tasks.list(TaskFilter(owner=owner, state=parse_state(state) if state else None,
                                     due_from=due_from, due_to=due_to,
                                     customer_id=customer_id, limit=limit))


def add_task(customer_id: str, *, action: str, due_on: date | None = None,
             settings: Settings | None = None,
             owner: str | None = None, reason: str = "manual", channel: str | None = None,
             note: str | None = None, evidence: Mapping[str, Any] | None = None,
             money_at_stake: float | None = None, caller: Caller | None = None) -> TaskAnswer:
    """Add a task by hand (owner: the customer's manager unless given); its ``warnings`` say
    what would have held the contact back."""
    with _tasks(settings) as tasks:
        return tasks.add(customer_id=customer_id, due_on=due_on, action=action, owner=owner,
                         reason=reason, channel=channel, note=note, evidence=evidence,
                         money_at_stake=money_at_stake, caller=caller)


def worklist_suggestions(settings: Settings, on: date | None = None
                         ) -> Iterable[SuggestionLike]:
    """Today's worklist (:func:`worklist` of ``on``), every manager's list in rank order: the
    suggestions :func:`plan_tasks` turns into tasks (those held back are not among them)."""
    return worklist(settings, on=on).items()


def plan_tasks(settings: Settings | None = None, *,
               suggestions: Iterable[SuggestionLike] | None = None, on: date | None = None,
               per_manager: int | None = None, caller: Caller | None = None) -> PlanResult:
    """The morning plan: the top of each manager's worklist (``suggestions``, default the
    lists of :func:`worklist` of ``on``, whose day the tasks are then planned for, like the
    list's own) becomes tasks; running it twice on a day creates nothing new, and a customer
    with an open task gets none."""
    settings = settings or load_settings()
    if suggestions is None:
        listed = worklist(settings, on=on)
        suggestions = listed.items()
        on = on or listed.on
    with _tasks(settings) as tasks:
        return tasks.plan(suggestions, on=on, per_manager=per_manager, caller=caller)


def complete_task(task_id: str, outcome: str, *, settings: Settings | None = None,
                  note: str | None = None, by: str | None = None,
                  caller: Caller | None = None) -> TaskAnswer:
    """Close a task as done with ``outcome`` (reached, ordered, promised, no_answer,
    not_interested, wrong_contact, do_not_contact): the contact is written as an outbound
    interaction in the same transaction, and ``do_not_contact`` sets the customer's flag."""
    with _tasks(settings) as tasks:
        return tasks.done(task_id, outcome, note, by, caller=caller)


def snooze_task(task_id: str, until: date, *, settings: Settings | None = None,
                caller: Caller | None = None) -> TaskAnswer:
    """Put a task off to ``until`` (a day after today)."""
    with _tasks(settings) as tasks:
        return tasks.snooze(task_id, until, caller=caller)


def reassign_task(task_id: str, owner: str, *, settings: Settings | None = None,
                  caller: Caller | None = None) -> TaskAnswer:
    """Hand a task to another known manager."""
    with _tasks(settings) as tasks:
        return tasks.reassign(task_id, owner, caller=caller)


def cancel_task(task_id: str, *, settings: Settings | None = None, note: str | None = None,
                caller: Caller | None = None) -> TaskAnswer:
    with _tasks(settings) as tasks:
        return tasks.cancel(task_id, note, caller=caller)


def task_report(settings: Settings | None = None, *, since: date | None = None,
                until: date | None = None, window_days: int = 90) -> TaskReport:
    """Per manager: tasks done on time and late, open overdue, outcomes, and the revenue of
    the contacted customers in the following ``window_days`` against similar customers not
    contacted: an observation, not a causal claim (:mod:`regulars.services.task_report`)."""
    with _tasks(settings) as tasks:
        return tasks.report(since=since, until=until, window_days=window_days)


# --- playbooks (issue 20) ---------------------------------------------------------------------


def playbooks(settings: Settings | None = None, *,
              files: Iterable[Path] = ()) -> list[dict[str, Any]]:
    """Every playbook the business has (the shipped sets, ``[playbooks] files``, ``files``
    and ``regulars.toml``'s own), as plain data with its steps and whether it runs.

    Raises :class:`~regulars.domain.playbooks.parse.PlaybooksInvalid` naming every problem.
    """
    from regulars.bootstrap import playbook_library
    from regulars.services.playbooks.describe import playbook_data

    library = playbook_library(settings or load_settings(), list(files))
    return [playbook_data(library, p) for p in library.playbooks.values()]


def playbook(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """One playbook as plain data (:class:`~regulars.services.playbooks.definitions.
    UnknownPlaybookError` when there is none of that name)."""
    from regulars.bootstrap import playbook_library
    from regulars.services.playbooks.describe import playbook_data

    library = playbook_library(settings or load_settings())
    return playbook_data(library, library.get(name))


def preview_playbook(name: str, customer_id: str, *, language: str | None = None,
                     settings: Settings | None = None) -> list[dict[str, Any]]:
    """The messages playbook ``name`` would send the customer, rendered from the store's
    facts in ``language`` (default the customer's): nothing is sent or written."""
    from regulars.bootstrap import open_playbook_facts, playbook_library, template_engine
    from regulars.services.playbooks.describe import preview

    settings = settings or load_settings()
    library = playbook_library(settings)
    library.get(name)
    source = open_playbook_facts(settings)
    try:
        facts = source.facts_of([customer_id]).get(customer_id)
    finally:
        source.close()
    if facts is None:
        raise InputError(_("unknown customer {id!r}").format(id=customer_id))
    return [m.as_dict() for m in preview(library, template_engine(), name, facts,
                                         language=language)]
# --- playbooks: the proof of effect ------------------------------------------------------


def playbook_report(settings: Settings | None = None, *, playbook: str | None = None,
                    since: date | None = None, until: date | None = None,
                    as_of: datetime | None = None, confidence: float = 0.95) -> EffectReport:
    """Per playbook, treated against its random control group: entrants, goal rate and
    revenue per entrant in the goal window, the uplift of each with its confidence interval,
    and per step runs, sends and skips by reason (:mod:`regulars.services.playbooks.effect`).
    ``since``/``until``: the days the journeys entered on, in the business's time zone;
    ``as_of`` (naive UTC, default now): journeys whose goal window is still open then are
    counted as open, not compared."""
    settings = settings or load_settings()
    store = open_api_store(settings)
    try:
        return playbook_reports(settings, store).report(
            playbook=playbook, since=since, until=until, as_of=as_of, confidence=confidence)
    finally:
        store.close()
def run_playbooks(settings: Settings | None = None, *, at: datetime | None = None,
                  dry_run: bool = False, limit: int | None = None) -> PassResult:
    """One pass of the playbooks' schedule, as ``regulars playbooks run``: enter the customers
    the triggers found up to ``at`` (default now), then run every step due by then. With
    ``dry_run`` nothing is written or sent; ``result.ran.rows`` says what would go out."""
    from regulars.services.playbooks.runner import one_pass

    runner, feed = open_playbook_runner(settings or load_settings())
    try:
        return one_pass(runner, feed, at=at, dry_run=dry_run, limit=limit)
    finally:
        runner.store.close()  # type: ignore[attr-defined]


@contextmanager
def goals(settings: Settings | None = None) -> Iterator[Goals]:
    """The business's goals in the store of ``settings`` (:class:`regulars.services.goals.
    Goals`: ``set``, ``list``, ``get``, ``retire``, ``track``), the store closed after."""
    from regulars.bootstrap import open_api_store, open_goals

    settings = settings or load_settings()
    store = open_api_store(settings)
    try:
        yield open_goals(settings, store)
    finally:
        store.close()
