"""Fixtures shared by every test: a throwaway database on SQLite or PostgreSQL.

`sqlite_url` is always available. `postgres_url` needs a server named by
REGULARS_TEST_POSTGRES_URL (scripts/test starts a throwaway one when the
PostgreSQL binaries are installed) and is skipped without it. Each test gets a
database of its own, so tests and xdist workers never see each other's rows.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import statistics
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    import httpx

    from regulars.config import Settings
    from regulars.services.api import ApiServices

POSTGRES_URL_ENV = "REGULARS_TEST_POSTGRES_URL"

# No deadline per example: it is a timing assertion inside a unit test, and on a loaded
# two-core machine any example can take longer than 200 ms (speed belongs in benchmarks/).
settings.register_profile("regulars", deadline=None)
settings.load_profile("regulars")

# The tests read English unless they ask for a language (use_language, REGULARS_LANG or --lang):
# a developer's LANG=ru_RU.UTF-8 must not turn the suite's expected sentences into Russian.
# Subprocesses inherit it too.
os.environ["REGULARS_LANG"] = "en"


def _libpq_url(url: URL) -> str:
    """The same URL without SQLAlchemy's `+driver`, as psycopg wants it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL to an empty SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'regulars.sqlite3'}"


# databases made from the migrated template at once, for tests that ask for ``store_url``
_FROM_TEMPLATE: set[str] = set()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLAlchemy URL to an empty PostgreSQL database of this test's own.

    The database is created from the server named by REGULARS_TEST_POSTGRES_URL
    and dropped afterwards, even if the test left connections open. A test that asks for
    ``store_url`` gets it made from the migrated template straight away: making an empty
    one, dropping it and copying the template cost 0.3 s more a test, in a suite with
    hundreds of them.
    """
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        pytest.skip(
            f"{POSTGRES_URL_ENV} is not set: run scripts/test with PostgreSQL installed "
            f"(apt-get install postgresql) or set it to postgresql+psycopg://USER@HOST:PORT/DB"
        )
    base = make_url(server)
    name = f"regulars_t_{uuid.uuid4().hex[:16]}"
    template = _template("postgresql", base) if "store_url" in request.fixturenames else None
    # CREATE/DROP DATABASE cannot run inside a transaction.
    with psycopg.connect(_libpq_url(base), autocommit=True) as admin:
        if template is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)))
            _FROM_TEMPLATE.add(name)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        _FROM_TEMPLATE.discard(name)
        with psycopg.connect(_libpq_url(base), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once (marked `postgres`) on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that ask for postgres_url directly get the marker too, so that
    # `-m "not postgres"` leaves out everything that needs a server.
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        # pytest-xdist 3.8 (--dist loadgroup) names a grouped test "<id>@<group>" by setting
        # ``item._nodeid``, which pytest 9.2 no longer reads (the id lives in ``item._id``): the
        # group was silently ignored. Carry the name over (trylast: after xdist's own hook).
        grouped = getattr(item, "_nodeid", None)
        if isinstance(grouped, str) and grouped != item.nodeid:
            from _pytest.nodeid import coerce_node_id

            item._id = coerce_node_id(grouped)  # type: ignore[attr-defined]


# --- how the two workers share the suite (scripts/test: -n 2 --dist loadgroup) ---
#
# xdist's loadgroup hands out every ungrouped test on its own, so a module-scoped fixture
# (a demo business analysed once, a simulated year) is built again on each worker that draws
# one of the module's tests, and the costliest files may be handed out last, leaving one
# worker idle at the end. Here a unit of work is a test file (or an ``xdist_group``), and the
# units go out costliest first (longest-processing-time-first), the cost of each taken from
# tests/durations.json, which ``--store-durations`` rewrites from a run's own timings.

DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations", action="store_true", default=False,
        help="write each test file's (and xdist group's) seconds to tests/durations.json, "
             "which orders the files for the xdist workers (costliest first)")


def _scope_of(nodeid: str) -> str:
    """A grouped test's group ("<id>@<group>"), else its file."""
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return "@" + nodeid.rsplit("@", 1)[-1]
    return nodeid.split("::", 1)[0]


class _CostliestFirst(OrderedDict[str, Any]):
    """A work queue whose next unit is the costliest left (xdist pops ``last=False``)."""

    def __init__(self, cost: Callable[[str], float]) -> None:
        super().__init__()
        self._cost = cost

    def popitem(self, last: bool = True) -> tuple[str, Any]:
        scope = max(self, key=self._cost)
        return scope, self.pop(scope)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    try:
        known: dict[str, float] = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    typical = statistics.median(known.values()) if known else 1.0

    class FilesCostliestFirst(LoadScopeScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self.workqueue = _CostliestFirst(lambda scope: known.get(scope, typical))

        def _split_scope(self, nodeid: str) -> str:
            return _scope_of(nodeid)

    return FilesCostliestFirst(config, log)


_SPENT: dict[str, float] = {}
_ON_WORKER: list[bool] = []


def pytest_configure(config: pytest.Config) -> None:
    _ON_WORKER.append(hasattr(config, "workerinput"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not any(_ON_WORKER):  # the controller sees every worker's reports
        scope = _scope_of(report.nodeid)
        _SPENT[scope] = _SPENT.get(scope, 0.0) + report.duration


# --- a real API server on loopback (uvicorn in a thread) over a throwaway store, and keys ---

ROLES = ("admin", "manager", "integration", "readonly")


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    """Override in a test module to change the [api] settings."""
    return {}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change other sections of the API's settings."""
    return {}


_TEMPLATES: dict[str, str] = {}


def _template(kind: str, base: URL | Path) -> str:
    """This worker's store with the schema at head and no rows, made once per kind (``sqlite``:
    a file's path, ``postgresql``: a database's name), dropped when the worker ends."""
    if kind not in _TEMPLATES:
        from regulars.adapters.db.engine import create_engine
        from regulars.adapters.db.migrate import ensure_schema

        if kind == "sqlite":
            assert isinstance(base, Path)
            name = str(base / "migrated-template.sqlite3")
            url = f"sqlite:///{name}"
        else:
            assert isinstance(base, URL)
            name = f"regulars_tpl_{uuid.uuid4().hex[:16]}"
            with psycopg.connect(_libpq_url(base), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            url = base.set(database=name).render_as_string(hide_password=False)
        engine = create_engine(url)
        try:
            ensure_schema(engine, url)
        finally:
            engine.dispose()  # CREATE DATABASE ... TEMPLATE wants no session on it
        _TEMPLATES[kind] = name
    return _TEMPLATES[kind]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("store_durations") and _SPENT:
        DURATIONS.write_text(json.dumps(
            {scope: round(seconds, 2) for scope, seconds in sorted(_SPENT.items())},
            indent=0) + "\n", encoding="utf-8")
    server = os.environ.get(POSTGRES_URL_ENV)
    name = _TEMPLATES.pop("postgresql", None)
    if server and name:
        with psycopg.connect(_libpq_url(make_url(server)), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def _migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fill the empty store at ``database_url`` with a copy of the migrated template: every
    store the API opens would otherwise run all the migrations again (0.4 s a test)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database and not Path(url.database).exists()
        shutil.copyfile(_template("sqlite", tmp_path_factory.getbasetemp()), url.database)
        return
    if url.database in _FROM_TEMPLATE:
        return  # made from the template already (postgres_url)
    server = make_url(os.environ[POSTGRES_URL_ENV])
    template = _template("postgresql", server)
    with psycopg.connect(_libpq_url(server), autocommit=True) as admin:
        name = sql.Identifier(url.database)
        admin.execute(sql.SQL("DROP DATABASE {}").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            name, sql.Identifier(template)))


@pytest.fixture
def store_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``database_url`` with the schema already at head (for tests of what a store holds, not
    of how it is created)."""
    _migrated(database_url, tmp_path_factory)
    return database_url


@pytest.fixture
def api_settings(store_url: str, api_overrides: dict[str, Any],
                 settings_overrides: dict[str, Any]) -> Settings:
    from regulars import bootstrap

    # the map's moment is the default one (the last order's day, as `regulars analyze`)
    api = {"live_map": False, "rate_limit": 100_000, "rate_burst": 100_000, **api_overrides}
    return bootstrap.load_settings(database_url=store_url, api=api, **settings_overrides)


@pytest.fixture
def services(api_settings: Settings) -> Iterator[ApiServices]:
    from regulars import bootstrap

    api = bootstrap.open_api(api_settings)
    yield api
    api.stop()
    api.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def keys(services: ApiServices) -> dict[str, str]:
    return {role: services.keys.create(role, f"test {role}")[0] for role in ROLES}


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    """One client TLS context for a run's httpx clients (``verify=tls``): each new client would
    otherwise load the system's certificate store again, 40 ms a test."""
    return ssl.create_default_context()


@pytest.fixture
def client(services: ApiServices, api_settings: Settings,
           tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    import httpx

    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    app = create_app(api_settings, services=services, rebuild_on_start=False)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60, verify=tls) as http:
        yield http


Call = Callable[..., "httpx.Response"]


@pytest.fixture
def call(client: httpx.Client, keys: dict[str, str]) -> Call:
    """``call(role, method, path, **httpx kwargs)``; role None sends no key."""

    def do(role: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {keys.get(role, role)}"
        return client.request(method, path, headers=headers, **kw)

    return do
