"""The composition root: reads Settings and builds the adapters and the services on them.

Constructors only; the Python facade that uses them (``regulars.import_file``,
``regulars.analyze``, ...) is :mod:`regulars.api`.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from regulars.adapters.db.store import SqlStore
from regulars.adapters.engines import DuckDBEngine, PostgresEngine, SparkEngine
from regulars.adapters.frames import as_arrow, is_frame
from regulars.adapters.staging import (
    ReadOptions,
    Staging,
    normalise_email,
    normalise_phone,
    typed_table,
)
from regulars.config import Settings, load_settings
from regulars.domain.errors import RegularsError
from regulars.domain.tables import Kind
from regulars.services import importing
from regulars.services.inputs import Inputs
from regulars.services.live_map import MapComputer, MapStore

if TYPE_CHECKING:
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.playbook_events import SqlPlaybookEvents
    from regulars.adapters.db.playbook_facts import SqlPlaybookFacts
    from regulars.adapters.db.worker_lock import WorkerLock
    from regulars.adapters.templates import JinjaEngine
    from regulars.domain.loyalty.programme import Programme
    from regulars.domain.playbooks.model import Goal
    from regulars.services.api import ApiServices
    from regulars.services.api.keys import KeyRing
    from regulars.services.api.loyalty import ExpiryNoticeWorker, LoyaltyApi, TierEventWorker
    from regulars.services.dashboard import Dashboard
    from regulars.services.events import Events
    from regulars.services.goals import Goals
    from regulars.services.loyalty import LoyaltyService
    from regulars.services.manager_day import ManagerDays
    from regulars.services.maturity import Maturity
    from regulars.services.playbooks.actions import PlaybookActions
    from regulars.services.playbooks.definitions import Library
    from regulars.services.playbooks.effect import EffectReports
    from regulars.services.playbooks.feed import Feed
    from regulars.services.playbooks.ports import (
        Actions,
        Channel,
        EntrySource,
        FactsSource,
        GoalSource,
        TemplateEngine,
        Templates,
    )
    from regulars.services.playbooks.runner import Runner
    from regulars.services.playbooks.sending import Sender
    from regulars.services.playbooks.unsubscribe import Unsubscriber
    from regulars.services.tasks import Tasks
    from regulars.services.users import PasswordHasher, Users
    from regulars.services.worklist import Worklist, WorklistRows

__all__ = [
    "ReadOptions",
    "Settings",
    "as_file",
    "dashboard",
    "expiry_notice_worker",
    "load_settings",
    "loyalty_programme",
    "manager_days",
    "open_api",
    "open_api_store",
    "open_duckdb",
    "open_events",
    "open_inputs",
    "open_keys",
    "open_loyalty",
    "open_map",
    "open_maturity",
    "open_playbook_facts",
    "open_playbook_feed",
    "open_playbook_goals",
    "open_spark",
    "open_staging",
    "open_store",
    "open_tasks",
    "open_users",
    "password_hasher",
    "phone_normaliser",
    "playbook_actions",
    "playbook_channels",
    "playbook_library",
    "playbook_reports",
    "playbook_sender",
    "read_blacklist",
    "store_exceptions",
    "store_failure",
    "template_engine",
    "tier_event_worker",
    "unsubscribe_key",
    "unsubscriber",
    "worker_lock",
]


def open_store(settings: Settings) -> SqlStore:
    return SqlStore(settings.database_url)


def open_duckdb(threads: int | None = None) -> DuckDBEngine:
    """A DuckDB engine in this process (``threads``: None for DuckDB's default)."""
    return DuckDBEngine(threads=threads)


# DuckDB's memory in an import's staging database (on disk beyond it): with the rest of an
# import (Arrow batches, the store's keys, SQLite's page cache) within about 2 GB
IMPORT_STAGING_MEMORY_MB = 1024


def open_staging(settings: Settings, *, for_import: bool = False) -> functools.partial[Staging]:
    """A factory of staging areas reading files as ``[import]`` and ``[input]`` say;
    ``for_import``: a temporary database file, DuckDB's memory bounded."""
    return functools.partial(Staging, default_phone_country=settings.import_.default_phone_country,
                             rules=settings.input.rules(),
                             memory_limit_mb=IMPORT_STAGING_MEMORY_MB if for_import else None)


def phone_normaliser(settings: Settings) -> functools.partial[str | None]:
    """Phone numbers normalised with the ``[import]`` default country."""
    return functools.partial(normalise_phone,
                             default_country=settings.import_.default_phone_country)


def read_blacklist(settings: Settings, path: Path | None = None) -> importing.Blacklist | None:
    """The blacklist file ``path`` (default ``[import] blacklist``), or None without one."""
    path = path or settings.import_.blacklist
    if path is None:
        return None
    return importing.read_blacklist(Path(path), normalise_email=normalise_email,
                                    normalise_phone=phone_normaliser(settings))


@contextmanager
def as_file(kind: Kind | str, source: Any) -> Iterator[Path]:
    """``source`` as a file: a path as itself, a pandas, polars or pyarrow table written as a
    temporary Parquet file (removed afterwards), so that it goes through a file's checks."""
    if not is_frame(source):
        yield Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="regulars-") as tmp:
        file = Path(tmp) / f"{Kind(kind).value}.parquet"
        pq.write_table(as_arrow(source), file)
        yield file


def open_spark(session: Any = None, master: str | None = None) -> Callable[[], SparkEngine]:
    """How to open the Spark engine: on ``session`` when given (a ``SparkSession``, local or
    Spark Connect), else on a session started at ``master`` (``local[*]`` by default; an
    ``sc://`` address, or ``SPARK_REMOTE`` in the environment, means Spark Connect)."""
    return functools.partial(SparkEngine, session, master=master)


def open_inputs(settings: Settings, *, spark: Callable[[], SparkEngine] | None = None
                ) -> Inputs:
    """The reading and checking of an analysis's input tables (files, frames or the store);
    ``spark`` opens the Spark engine (:func:`open_spark`) for ``engine="spark"``."""
    return Inputs(
        open_staging=open_staging(settings),
        typed_table=typed_table,
        as_file=as_file,
        default_options=ReadOptions,
        default_currency=settings.currency,
        open_store=functools.partial(open_store, settings),
        open_engine=open_duckdb,
        open_in_database=functools.partial(PostgresEngine, settings.database_url),
        open_spark=spark or open_spark(),
        rules=settings.input.rules(),
        max_problems=settings.import_.max_errors,
    )


def open_map(settings: Settings, store: MapStore | None = None) -> MapComputer:
    """The customer map's computation as the HTTP API serves it, reading ``store``."""
    return MapComputer(store, open_engine=open_duckdb, params=settings.analysis,
                       map_as_of=settings.api.map_as_of, rules=settings.input.rules())


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
    from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
    from regulars.adapters.webhook_http import HttpSender
    from regulars.services.api import ApiServices, RateLimiter
    from regulars.services.api.ingest import Ingest
    from regulars.services.api.keys import KeyRing
    from regulars.services.api.live import LiveMap
    from regulars.services.api.loyalty import LoyaltyApi
    from regulars.services.api.webhooks import Webhooks

    store = open_api_store(settings)
    api = settings.api
    webhooks = Webhooks(store, HttpSender(), max_attempts=api.webhook_max_attempts,
                        backoff=api.webhook_backoff_seconds)
    the_map = open_map(settings, store)
    live = LiveMap(store, the_map.compute_map, on_events=webhooks.publish)
    # the loyalty store is SQLAlchemy on pysqlite, as the API store's own engines: on SQLite
    # no second copy of SQLite (ADBC) has the file open while the server runs
    points = open_loyalty(settings, audit_store=store)
    # the tier_changed events are queued in the loyalty store's transaction that moves their
    # cursor: the outbox is in the same database
    loyalty_store = points.store if isinstance(points.store, SqlLoyaltyStore) else None
    # the ledger is in the API store's database: an order's points are written in the
    # ingest's own transaction (one BEGIN … COMMIT), not in a second one after it
    loyalty = LoyaltyApi(points, store, publish=webhooks.publish,
                         notice_days=api.points_expiring_notice_days, tier_events=loyalty_store,
                         on_queued=webhooks.wake,
                         join=loyalty_store.joining if loyalty_store is not None else None)
    tier_events = tier_event_worker(loyalty)
    ingest = Ingest(store, currency=settings.currency, normalise_email=normalise_email,
                    normalise_phone=phone_normaliser(settings),
                    on_change=live.touch if api.live_map else None,
                    accrue=loyalty.accrue_ingested, accrue_within=loyalty.accrue_within,
                    rules=settings.input.rules())
    services = ApiServices(
        store=store, keys=KeyRing(store), tasks=open_tasks(settings, store), ingest=ingest,
        events=open_events(settings, store),
        live=live, webhooks=webhooks,
        limiter=RateLimiter(api.rate_limit, api.rate_burst),
        full_compute=the_map.full_compute, compute_map=the_map.compute_map,
        max_batch=api.max_batch, max_body_bytes=api.max_body_bytes, live_enabled=api.live_map,
        loyalty=loyalty, expiry_notices=expiry_notice_worker(settings, loyalty),
        tier_events=tier_events, closers=[the_map.close])
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


def open_playbook_runner(settings: Settings, *, playbooks: Any = None,
                         feed: EntrySource | None = None, facts: FactsSource | None = None,
                         actions: Actions | None = None, goals: GoalSource | None = None,
                         clock: Callable[[], Any] | None = None,
                         owner: str | None = None,
                         channels: dict[str, Channel] | None = None,
                         ) -> tuple[Runner, EntrySource]:
    """The playbooks' runner on the store of ``settings`` (schema brought up to date) and the
    feed that enters customers; the caller closes ``runner.store``, which closes everything
    opened here. Each part not given is the configured one: the enabled playbooks of
    :func:`playbook_library`, the feed and facts of :func:`open_playbook_feed`, the goals of
    :func:`open_playbook_goals`, the actions of :func:`playbook_actions` (sending through
    ``[email]``/``[messages]``, or through ``channels`` when given, tasks, loyalty, tags,
    webhooks).

    Raises :class:`~regulars.domain.playbooks.parse.PlaybooksInvalid` when the playbooks do
    not load: a schedule never runs on definitions that were refused."""
    from regulars.adapters.db.playbook_jobs import SqlJobStore
    from regulars.services.playbooks.runner import Runner

    library = playbook_library(settings) if playbooks is None or actions is None else None
    if playbooks is None:
        assert library is not None
        playbooks = {p.name: p for p in library.enabled()}
    # leases on the real clock whatever moment a pass is at (--at)
    store = SqlJobStore(settings.database_url, lease_clock=lambda: datetime.now(UTC))
    store.ensure_schema()
    api = open_api_store(settings)
    closers: list[Callable[[], object]] = [api.close]
    source: EntrySource
    if feed is None:
        the_feed = open_playbook_feed(settings, api, clock=clock)
        closers.append(the_feed.close)
        source = the_feed
        facts = facts or the_feed.facts
    else:
        source = feed
    if facts is None:
        own_facts = open_playbook_facts(settings, api)
        closers.append(own_facts.close)
        facts = own_facts
    if goals is None:
        goals = open_playbook_goals(settings, api)
    if actions is None:
        assert library is not None
        loyalty = open_loyalty(settings, audit_store=api)
        closers.append(loyalty.close)
        actions = playbook_actions(settings, templates=library.templates,
                                   engine=template_engine(), store=api, loyalty=loyalty,
                                   channels=channels, business=dict(library.business))
    store.closers.extend(reversed(closers))
    section = settings.playbook_runner
    runner = Runner(store, playbooks, facts, actions,
                    goals=goals, control_share=settings.playbooks.control_share, owner=owner,
                    default_zone=settings.timezone,
                    max_attempts=section.max_attempts,
                    lease=timedelta(seconds=section.lease_seconds),
                    retry_after=timedelta(seconds=section.retry_seconds),
                    batch=section.batch, clock=clock)
    return runner, source


def worker_lock(settings: Settings) -> WorkerLock:
    """The lock that keeps the background worker to one process per store (PostgreSQL: an
    advisory lock; SQLite: a lock file beside the database)."""
    from regulars.adapters.db.worker_lock import WorkerLock

    return WorkerLock(settings.database_url)


def open_keys(settings: Settings) -> KeyRing:
    """The API keys of the store of ``settings`` (for ``regulars keys``)."""
    from regulars.services.api.keys import KeyRing

    return KeyRing(open_api_store(settings), ttl=0.0)


def configured_managers(settings: Settings) -> list[str]:
    """The managers the settings name (``[worklist.managers."Name"]``)."""
    return list(settings.worklist.managers)


def open_tasks(settings: Settings, store: SqlApiStore | None = None) -> Tasks:
    """The managers' tasks on the store of ``settings`` (``store``: the API store to share
    engines with; by default one of its own, schema brought up to date); a task added by hand
    is checked against ``[contact_policy]`` and warned of what it would hold back."""
    from regulars.adapters.db.tasks_store import SqlTaskStore
    from regulars.services.task_policy import policy_check
    from regulars.services.task_report import StoreInputs
    from regulars.services.tasks import Tasks

    api = store if store is not None else open_api_store(settings)

    def report_inputs() -> StoreInputs:
        the_map = open_map(settings, api)
        return StoreInputs(the_map.tables(),
                           lambda tables, at: the_map.customer_map(tables, at)[0])

    tasks = Tasks(SqlTaskStore(api), configured_managers=configured_managers(settings),
                  zone=settings.timezone, policy=policy_check(settings.contact_rules()),
                  report_inputs=report_inputs)
    if store is None:  # its own store: closed with it
        tasks.closers.append(api.close)
    return tasks


def open_maturity(settings: Settings, store: SqlApiStore | None = None) -> Maturity:
    """The maturity questionnaire (issue 21) on the store of ``settings``: what its data
    suggests, the scoring and the kept assessments (``store``: the API store to share engines
    with, e.g. the server's ``services.store``; by default one of its own, closed by
    ``Maturity.close``)."""
    from regulars.adapters.db.maturity_store import SqlMaturity
    from regulars.services.maturity import Maturity

    api = store if store is not None else open_api_store(settings)
    rows = SqlMaturity(api, regular_min_orders=settings.analysis.regular_min_orders)
    return Maturity(rows, rows, closers=[api.close] if store is None else [])


def manager_days(settings: Settings, services: ApiServices,
                 suggestions: Callable[[], Worklist] | None = None) -> ManagerDays:
    """The worklist page's reads of a manager's day over the server's tasks and store;
    ``suggestions`` builds the worklist of the served map (kept per map, never per page)."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.day_rows import SqlDayRows
    from regulars.services.manager_day import ManagerDays

    store = services.store
    if services.tasks is None or not isinstance(store, SqlApiStore):
        raise RuntimeError("the worklist page needs the server's tasks and SQL store")

    def version() -> object | None:
        state = store.map_state()
        return None if state is None else (state["built_at"], state["as_of"])

    return ManagerDays(services.tasks, settings.worklist_rules(), SqlDayRows(store),
                       suggestions=suggestions, map_version=version)


def password_hasher(*, cheap: bool = False) -> PasswordHasher:
    """Argon2id (``cheap``: its smallest parameters, for tests only)."""
    from regulars.adapters.passwords import Argon2Hasher

    return Argon2Hasher(cheap=cheap)


def open_users(settings: Settings, *, services: ApiServices | None = None,
               hasher: PasswordHasher | None = None, ttl: float = 2.0) -> Users:
    """The web pages' users on the store of ``settings``: the server's own API store when
    ``services`` (the server's) has one, else one of its own (schema brought up to date)."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.services.users import Users

    store = services.store if services is not None else None
    return Users(store if isinstance(store, SqlApiStore) else open_api_store(settings),
                 hasher or password_hasher(), ttl=ttl)


def open_api_store(settings: Settings) -> SqlApiStore:
    """The HTTP API's store of ``settings`` (schema brought up to date)."""
    from regulars.adapters.db.api_store import SqlApiStore

    store = SqlApiStore(settings.database_url)
    store.ensure_schema()
    return store


def worklist_rows(store: SqlApiStore) -> WorklistRows:
    """The worklist's reads (the served map, the input tables, open tasks) through an API
    store, which stays the caller's to close."""
    from regulars.adapters.db.worklist_rows import SqlWorklistRows

    return SqlWorklistRows(store)


def dashboard(services: ApiServices, settings: Settings) -> Dashboard:
    """The owner's dashboard over the server's services: the served map through its API
    store, and the loyalty programme's figures through its ledger (none when the programme
    is not kept in this SQL store)."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.dashboard_rows import SqlDashboardRows
    from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
    from regulars.services.dashboard import Dashboard

    store = services.store
    assert isinstance(store, SqlApiStore), "the dashboard reads a SQL store"
    ledger = services.loyalty.service.store if services.loyalty is not None else None
    figures = ledger if isinstance(ledger, SqlLoyaltyStore) else None
    return Dashboard(SqlDashboardRows(store), figures,
                     services.loyalty.service.programme if services.loyalty is not None
                     else loyalty_programme(settings))


def open_goals(settings: Settings, store: SqlApiStore | None = None, *,
               services: ApiServices | None = None) -> Goals:
    """The business's goals in the store of ``settings`` (or ``services``' store), measured
    from the store's tables as the served map is (its thresholds and input rules), the loyalty
    programme's metric from its ledger when it is kept there. Their "today" is the day the
    served map describes; before a first map, the latest order's day (else the calendar's)."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
    from regulars.services.audit import AuditTrail
    from regulars.services.goals import Goals, PortfolioMeasure

    figures: SqlLoyaltyStore | None = None
    if services is not None:
        assert isinstance(services.store, SqlApiStore), "goals are kept in a SQL store"
        store = services.store
        ledger = services.loyalty.service.store if services.loyalty is not None else None
        figures = ledger if isinstance(ledger, SqlLoyaltyStore) else None
        programme = (services.loyalty.service.programme if services.loyalty is not None
                     else loyalty_programme(settings))
    else:
        store = store or open_api_store(settings)
        figures = SqlLoyaltyStore(settings.database_url,
                                  engine=store.writer if store.dialect == "postgresql" else None)
        figures.ensure_schema()
        programme = loyalty_programme(settings)
    the_map = open_map(settings, store)
    sql = store
    measure = PortfolioMeasure(the_map.tables, open_duckdb, settings.analysis,
                               figures=figures, programme=programme,
                               has_orders=lambda: sql.last_order_at() is not None)

    def today() -> date:
        state = sql.map_state()
        if state is not None and state.get("as_of") is not None:
            day: date = state["as_of"].date()
            return day
        moment = the_map.as_of(None)
        if moment is None:
            moment = sql.last_order_at()
        return moment.date() if moment is not None else datetime.now(UTC).date()

    return Goals(store, measure, today=today, audit=AuditTrail(store))


def loyalty_programme(settings: Settings) -> Programme:
    """The programme ``[loyalty]`` of ``settings`` defines, in the business's time zone unless
    the section names its own."""
    return settings.loyalty.programme(settings.timezone)


def open_loyalty(settings: Settings, *, clock: Any = None, chunk: int = 500,
                 audit_store: SqlApiStore | None = None) -> LoyaltyService:
    """The loyalty services over the store of ``settings`` (schema brought up to date):
    audited in the store's audit log (as the caller acting around each call, else Python's
    OS user), tier changes queued as ``tier_changed`` webhooks at once. ``audit_store``: the
    API store to audit in (the server's own); by default one of its own, closed with it."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
    from regulars.services.api.loyalty import TierEventPublisher
    from regulars.services.audit import AuditTrail
    from regulars.services.loyalty.audited import AuditedLoyaltyService

    # on PostgreSQL the server's ledger shares the API store's pool: one pool per database
    # (on SQLite the ledger keeps its own engine: its longer wait for the write lock)
    shared = audit_store.writer if audit_store is not None and \
        audit_store.dialect == "postgresql" else None
    store = SqlLoyaltyStore(settings.database_url, engine=shared)
    store.ensure_schema()
    own = audit_store is None
    # the audit log and webhook outbox, in the database whose schema is brought up just above
    audit = SqlApiStore(settings.database_url) if audit_store is None else audit_store
    return AuditedLoyaltyService(
        store, loyalty_programme(settings), clock=clock, chunk=chunk,
        normalise_email=normalise_email, normalise_phone=phone_normaliser(settings),
        currency=settings.currency, audit=AuditTrail(audit),
        on_tier_change=TierEventPublisher(audit, store).publish,
        on_close=[audit.close] if own else [])


def playbook_library(settings: Settings, extra_files: list[Path] | None = None) -> Library:
    """Every playbook of the business: the shipped sets, ``[playbooks] files`` (relative to
    the configuration file), ``extra_files`` (``regulars playbooks validate FILE``) and the
    ``[playbook.…]`` tables of ``regulars.toml``, checked with the template engine.

    Raises :class:`~regulars.domain.playbooks.parse.PlaybooksInvalid` naming every problem.
    """
    from regulars.adapters.playbook_files import config_document, read_files, shipped_documents
    from regulars.adapters.templates import JinjaEngine
    from regulars.services.playbooks.definitions import build_library

    section = settings.playbooks
    base = settings.config_file.parent if settings.config_file is not None else None
    own, unreadable = read_files(section.files, base)
    # the extra files are named on a command line: relative to the working directory
    extra, unreadable_extra = read_files(extra_files or [], None)
    documents = [*shipped_documents(), *own, *extra]
    if settings.config_file is not None:
        documents.append(config_document(settings.config_file))
    return build_library(documents, JinjaEngine(), unreadable=[*unreadable, *unreadable_extra],
                         enabled_sets=section.enabled,
                         disabled=section.disabled, control_share=section.control_share,
                         custom_events=section.custom_events,
                         default_language=section.default_language,
                         business={"name": section.business_name,
                                   "phone": section.business_phone,
                                   "email": section.business_email,
                                   "website": section.business_website})


def template_engine() -> JinjaEngine:
    """The playbooks' message templates: sandboxed Jinja2."""
    from regulars.adapters.templates import JinjaEngine

    return JinjaEngine()


# -- playbooks: sending and the other actions (issue 20) ----------------------------------------

def unsubscribe_key(settings: Settings, store: SqlApiStore) -> bytes:
    """The key unsubscribe links are signed with: ``[messages] unsubscribe_secret``, else one
    the server makes once and keeps in the store (every process and restart the same)."""
    import secrets

    configured = settings.messages.unsubscribe_secret
    if configured is not None:
        return configured.get_secret_value().encode()
    return store.secret("messages.unsubscribe_key", secrets.token_urlsafe(48)).encode()


def playbook_channels(settings: Settings, *, tls_context: Any = None,
                      sleep: Callable[[float], None] | None = None) -> dict[str, Channel]:
    """The channels ``[email]`` and ``[messages]`` configure (a channel not configured is
    absent: its messages are skipped ``no_channel``). ``tls_context``: the SSL context SMTP
    verifies the server with (tests trust their own authority)."""
    from regulars.adapters.channels import GatewayChannel, SignedPoster, SmtpChannel

    channels: dict[str, Channel] = {}
    e = settings.email
    if e.host:
        channels["email"] = SmtpChannel(
            host=e.host, port=e.port, sender=e.sender, sender_name=e.sender_name,
            reply_to=e.reply_to, username=e.username,
            password=e.password.get_secret_value() if e.password else None,
            starttls=e.starttls, use_ssl=e.ssl, timeout=e.timeout, tls_context=tls_context)
    m = settings.messages
    if m.secret is not None:
        import time

        poster = SignedPoster(secret=m.secret.get_secret_value(), max_attempts=m.max_attempts,
                              backoff=m.backoff, timeout=m.timeout, sleep=sleep or time.sleep)
        for name, url in (("sms", m.sms_url), ("messenger", m.messenger_url)):
            if url:
                channels[name] = GatewayChannel(channel=name, url=url, poster=poster)
    return channels


def playbook_sender(settings: Settings, *, templates: Templates, engine: TemplateEngine,
                    store: SqlApiStore, channels: dict[str, Channel] | None = None,
                    business: dict[str, object] | None = None) -> Sender:
    """The :class:`~regulars.services.playbooks.sending.Sender` of ``settings``: its
    messages in ``store`` (the caller's to close), the contact policy of
    ``[contact_policy]``, the channels of ``[email]`` and ``[messages]``."""
    from regulars.adapters.db.playbook_messages import SqlMessageStore
    from regulars.services.playbooks.sending import Sender

    e = settings.email
    return Sender(
        store=SqlMessageStore(store), policy=settings.contact_rules(), templates=templates,
        engine=engine,
        channels=channels if channels is not None else playbook_channels(settings),
        unsubscribe_key=unsubscribe_key(settings, store),
        public_url=settings.messages.public_url,
        unsubscribe_mailto=e.unsubscribe_mailto or e.sender,
        business=business or {"name": e.sender_name, "email": e.reply_to or e.sender},
        zone=settings.timezone)


def playbook_actions(settings: Settings, *, templates: Templates, engine: TemplateEngine,
                     store: SqlApiStore | None = None, tasks: Tasks | None = None,
                     loyalty: LoyaltyService | None = None,
                     channels: dict[str, Channel] | None = None,
                     business: dict[str, object] | None = None) -> PlaybookActions:
    """The playbooks' actions (:class:`~regulars.services.playbooks.ports.Actions`) for the
    runner: sending, tasks (``tasks``, else the store's own), loyalty (``loyalty``, else
    none: points and coupon steps are skipped ``no_loyalty``), tags and webhooks (signed
    with ``[messages] secret``)."""
    from regulars.adapters.channels import SignedPoster
    from regulars.adapters.db.playbook_messages import SqlMessageStore
    from regulars.services.playbooks.actions import LoyaltySteps, PlaybookActions

    api = store if store is not None else open_api_store(settings)
    m = settings.messages
    poster = (SignedPoster(secret=m.secret.get_secret_value(), max_attempts=m.max_attempts,
                           backoff=m.backoff, timeout=m.timeout)
              if m.secret is not None else None)
    return PlaybookActions(
        sender=playbook_sender(settings, templates=templates, engine=engine, store=api,
                               channels=channels, business=business),
        tasks=tasks if tasks is not None else open_tasks(settings, api),
        loyalty=LoyaltySteps(loyalty) if loyalty is not None else None,
        tags=SqlMessageStore(api), webhook=poster, zone=settings.timezone)


def unsubscriber(settings: Settings, store: Any) -> Unsubscriber:
    """The one-click unsubscribe on ``store`` (the server's SQL API store)."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.playbook_messages import SqlMessageStore
    from regulars.services.playbooks.unsubscribe import Unsubscriber

    if not isinstance(store, SqlApiStore):
        raise RuntimeError("unsubscribe needs the server's SQL store")
    return Unsubscriber(SqlMessageStore(store), unsubscribe_key(settings, store),
                        zone=settings.timezone)
def playbook_reports(settings: Settings, store: object,
                     goals: Callable[[], Mapping[str, Goal | None]] | None = None,
                     ) -> EffectReports:
    """The playbooks' proof-of-effect report over ``store``, an API store (which stays the
    caller's to close: the server's, or one of :func:`open_api_store`), its days in the
    business's time zone. ``goals``: each playbook's goal by name (read at each report, so an
    edited definition counts), by default those of :func:`playbook_library`; a playbook it
    does not name (one since removed) is compared over the default goal window, an order
    within 30 days."""
    from regulars.adapters.db.api_store import SqlApiStore
    from regulars.adapters.db.playbook_report import SqlPlaybookReport
    from regulars.services.playbooks.effect import EffectReports, windows_of

    if not isinstance(store, SqlApiStore):
        raise RuntimeError("the playbooks' report needs an SQL store")
    if goals is None:
        def goals() -> Mapping[str, Goal | None]:
            from regulars.domain.playbooks.parse import PlaybooksInvalid

            try:
                library = playbook_library(settings)
            except PlaybooksInvalid:
                # the figures are in the store whatever the files say now: a business
                # mending its playbooks still reads its report, over the default window
                return {}
            return {p.name: p.goal for p in library.playbooks.values()}
    return EffectReports(SqlPlaybookReport(store), zone=settings.timezone,
                         windows=lambda: windows_of(goals()))
# -- playbooks' feed, facts, goals and events (issue 20) --------------------------------------
# Each takes the caller's API store (``store``: the caller closes it) or opens one of its own
# (schema brought up to date), which its ``close()`` closes.


def _business_language(settings: Settings) -> str:
    """The language of a customer whose card names none: ``[playbooks] default_language``."""
    return settings.playbooks.default_language


def open_playbook_facts(settings: Settings, store: SqlApiStore | None = None) -> SqlPlaybookFacts:
    """Customers' facts for playbooks' conditions (a ``FactsSource``); a customer's country
    defaults to the business's phones' (``[import] default_phone_country``), the time zone
    to ``timezone``."""
    from regulars.adapters.db.playbook_facts import SqlPlaybookFacts

    return SqlPlaybookFacts(store or open_api_store(settings),
                            language=_business_language(settings),
                            country=settings.playbooks.default_country,
                            time_zone=settings.timezone, owned=store is None)


def open_playbook_feed(settings: Settings, store: SqlApiStore | None = None, *,
                       clock: Callable[[], Any] | None = None,
                       steady_dates: bool = False) -> Feed:
    """The playbooks' feed (``Feed.entries(now, playbooks)``), its facts as ``feed.facts``;
    ``steady_dates`` for a simulation stepping through time in one process (see Feed)."""
    from regulars.adapters.db.playbook_feed import SqlFeedSource
    from regulars.adapters.holiday_calendar import LibraryHolidays
    from regulars.services.playbooks.feed import Feed

    facts = open_playbook_facts(settings, store)
    feed = Feed(SqlFeedSource(facts), facts, clock=clock, zone=settings.timezone,
                holidays=LibraryHolidays(), steady_dates=steady_dates)
    feed.closers.append(facts.close)
    return feed


def open_playbook_goals(settings: Settings,
                        store: SqlApiStore | None = None) -> SqlPlaybookEvents:
    """When journeys' goals were met (a ``GoalSource``: orders, playbooks' events)."""
    from regulars.adapters.db.playbook_events import SqlPlaybookEvents

    return SqlPlaybookEvents(store or open_api_store(settings), owned=store is None)


def open_events(settings: Settings, store: SqlApiStore | None = None) -> Events:
    """Playbooks' events sent by the business (``POST /v1/events`` with a ``name``)."""
    from regulars.adapters.db.playbook_events import SqlPlaybookEvents
    from regulars.services.events import Events

    custom = frozenset(settings.playbooks.custom_events)
    return Events(SqlPlaybookEvents(store or open_api_store(settings), owned=store is None),
                  rules=settings.input.rules(), known=custom.__contains__)
