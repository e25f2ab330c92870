"""What a driver's exception means for the person running regulars.

Every way to the store (SQLAlchemy on sqlite3 or psycopg, ADBC's bulk drivers, the file
system under a SQLite file) fails in its own words. :func:`store_failure` reads them, along the
whole chain of causes (ADBC's real error is often the context of a failed rollback), and
answers with a domain error carrying one sentence and a reason:
:class:`~regulars.domain.errors.StoreUnavailableError` (disk full, read-only, locked,
unreachable, login refused, missing) or
:class:`~regulars.domain.errors.StoreRefusedValueError` (the database refused a value).
Anything else is not the store's doing and gets ``None``: it stays a bug.

The sentences never quote the driver's text, which may hold a host's internals, and name the
store only by its URL without the password.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa

from regulars.domain.errors import (
    RegularsError,
    StoreRefusedValueError,
    StoreUnavailable,
    StoreUnavailableError,
)
from regulars.i18n import _

R = StoreUnavailable

# SQLSTATE classes and codes (PostgreSQL appendix A) that say the store, not the request, fails
_SQLSTATE: dict[str, StoreUnavailable] = {
    "08": R.UNREACHABLE,  # connection exception
    "28": R.AUTH,  # invalid authorization specification
    "3D000": R.MISSING,  # invalid catalog name: no such database
    "53100": R.DISK_FULL,
    "25006": R.READ_ONLY,  # read-only SQL transaction (a standby, default_transaction_read_only)
    "55P03": R.LOCKED,  # lock not available (lock_timeout)
    "57P01": R.UNREACHABLE,  # admin shutdown
    "57P02": R.UNREACHABLE,  # crash shutdown
    "57P03": R.UNREACHABLE,  # cannot connect now (starting up)
    "58030": R.IO,  # io error
}

# the drivers' own words, lower-cased, first match wins; SQLite's come from sqlite3_errstr
_WORDS: tuple[tuple[str, StoreUnavailable], ...] = (
    ("database or disk is full", R.DISK_FULL),
    ("no space left on device", R.DISK_FULL),
    ("could not extend file", R.DISK_FULL),
    ("disk quota exceeded", R.DISK_FULL),
    ("file too large", R.DISK_FULL),
    ("readonly database", R.READ_ONLY),
    ("read-only file system", R.READ_ONLY),
    ("read-only transaction", R.READ_ONLY),
    ("database is locked", R.LOCKED),
    ("database table is locked", R.LOCKED),
    ("database is busy", R.LOCKED),
    ("password authentication failed", R.AUTH),
    ("authentication failed", R.AUTH),
    ("no pg_hba.conf entry", R.AUTH),
    ('fatal:  role "', R.AUTH),  # at connect: FATAL:  role "x" does not exist
    ("does not exist", R.MISSING),  # at connect: FATAL: database "x" does not exist
    ("connection refused", R.UNREACHABLE),
    ("could not connect", R.UNREACHABLE),
    ("could not translate host name", R.UNREACHABLE),
    ("name or service not known", R.UNREACHABLE),
    ("timeout expired", R.UNREACHABLE),
    ("server closed the connection", R.UNREACHABLE),
    ("terminating connection", R.UNREACHABLE),
    ("connection is closed", R.UNREACHABLE),
    ("connection to server", R.UNREACHABLE),
    ("unable to open database file", R.MISSING),
    ("disk i/o error", R.IO),
)

_OS_ERRNO: dict[int, StoreUnavailable] = {
    errno.ENOSPC: R.DISK_FULL,
    errno.EDQUOT: R.DISK_FULL,
    errno.EFBIG: R.DISK_FULL,
    errno.EROFS: R.READ_ONLY,
    errno.EACCES: R.READ_ONLY,
    errno.EPERM: R.READ_ONLY,
}


def sqlite_busy_ms(url: str | sa.URL, default: int = 30_000) -> int:
    """How long a SQLite connection waits for another writer's lock before it says "locked":
    the URL's ``?timeout=`` (seconds, as sqlite3's own argument), else ``default`` ms."""
    given = sa.engine.make_url(url).query.get("timeout")
    try:
        return int(float(str(given)) * 1000) if given is not None else default
    except ValueError:
        return default


def sqlite_file(url: str | sa.URL) -> Path | None:
    """The file of a SQLite store (``None`` in memory or on another database); a ``file:`` URI
    names its file after the scheme."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
        if not database or database == ":memory:" or database.startswith("memory"):
            return None
    return Path(database)


def sentence(reason: StoreUnavailable, url: str | None = None) -> str:
    """The one sentence that says what is wrong with the store and what to do."""
    where = _("the store at {url}").format(url=redacted(url)) if url else _("the store")
    text = {
        R.DISK_FULL: _("{where} cannot be written: the disk is full; free some space and try "
                       "again"),
        R.READ_ONLY: _("{where} is read-only; regulars needs to write to it (check the "
                       "permissions of the file and its folder, or the database's read-only "
                       "setting)"),
        R.LOCKED: _("{where} is locked by another process writing to it (an import or the "
                    "server); try again when it has finished"),
        R.UNREACHABLE: _("{where} cannot be reached: is the database server running, and are "
                         "the host and port right?"),
        R.AUTH: _("{where} refused the user name or password (check them in the URL)"),
        R.MISSING: _("{where} does not exist or cannot be opened; check the URL (a PostgreSQL "
                     "database must be created first)"),
        R.IO: _("{where} cannot be read or written: the disk reported an input/output error"),
    }[reason]
    return text.format(where=where)


def redacted(url: str) -> str:
    """``url`` without its password (the text as given when it is not a URL)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "?"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]


def _sqlstate(e: BaseException) -> str | None:
    code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def _is_data_error(e: BaseException) -> bool:
    state = _sqlstate(e)
    if state is not None and state.startswith("22"):  # data exception
        return True
    return type(e).__name__ == "DataError" and not isinstance(e, sa.exc.StatementError)


def _is_driver_error(e: BaseException) -> bool:
    module = type(e).__module__ or ""
    return (isinstance(e, sa.exc.DBAPIError | sqlite3.Error)
            or module.startswith(("psycopg", "adbc_driver")))


def _is_staging_error(e: BaseException) -> bool:
    # DuckDB stages imports, it is not the store: only its full disk is the store's concern
    return (type(e).__module__ or "").startswith(("duckdb", "_duckdb"))


def _under(path: str | None, database: Path | None) -> bool:
    if path is None:
        return database is not None  # an OSError of the store's own open
    if database is None:
        return False
    p = Path(path).resolve()
    folder = database.resolve().parent
    return p == folder or folder in p.parents


def store_failure(exc: BaseException, url: str | None = None) -> RegularsError | None:
    """The domain error that ``exc`` (or a cause of it) means for the store at ``url``, or
    ``None`` when it is not the store's doing."""
    database: Path | None = None
    if url:
        with suppress(sa.exc.ArgumentError):
            database = sqlite_file(url)
    for e in _chain(exc):
        if isinstance(e, StoreUnavailableError | StoreRefusedValueError):
            return e
        if isinstance(e, OSError) and not _is_driver_error(e):
            reason = _OS_ERRNO.get(e.errno or 0)
            # a full disk is full for the store too; a refused file is the store's only when
            # it lies beside the store (an unreadable input file is the input's problem)
            if reason is R.DISK_FULL or (reason is not None and _under(e.filename, database)):
                return StoreUnavailableError(reason, sentence(reason, url))
            continue
        if _is_staging_error(e) and any(w in str(e).lower() for w in (
                "no space left on device", "disk is full")):
            return StoreUnavailableError(R.DISK_FULL, sentence(R.DISK_FULL, url))
        if not _is_driver_error(e):
            continue
        state = _sqlstate(e)
        if state is not None:
            reason = _SQLSTATE.get(state) or _SQLSTATE.get(state[:2])
            if reason is not None:
                return StoreUnavailableError(reason, sentence(reason, url))
        if _is_data_error(e):
            return StoreRefusedValueError(_refused(e))
        if state is not None:  # the server said what it was, and it is not the store's state
            continue
        text = str(e).lower()
        if "unable to open database file" in text and database is not None:
            reason = _cannot_open(database)
            return StoreUnavailableError(reason, sentence(reason, url))
        for words, reason in _WORDS:
            if words in text:
                return StoreUnavailableError(reason, sentence(reason, url))
    return None


def _cannot_open(database: Path) -> StoreUnavailable:
    """SQLite says only "unable to open database file": a WAL store on a read-only disk or
    under read-only permissions cannot make its shared-memory file, a missing folder cannot
    hold a new one."""
    if not database.exists():
        return R.MISSING
    writable = all(os.access(p, os.W_OK) for p in (database, database.parent))
    return R.IO if writable else R.READ_ONLY


def translated(url: str | None) -> _Translating:
    """``with translated(url): ...`` raises the domain error a store failure inside means."""
    return _Translating(url)


class _Translating:
    def __init__(self, url: str | None) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        if exc is None or isinstance(exc, RegularsError) or not isinstance(exc, Exception):
            return
        failure = store_failure(exc, self.url)
        if failure is not None:
            raise failure from exc


def driver_exceptions() -> tuple[type[Exception], ...]:
    """The exception classes a store failure can arrive as (for handlers keyed by class)."""
    found: list[type[Exception]] = [sa.exc.DBAPIError, sqlite3.Error, OSError]
    try:
        import adbc_driver_manager

        found.append(adbc_driver_manager.Error)
    except ModuleNotFoundError:  # pragma: no cover - a dependency
        pass
    try:
        import psycopg

        found.append(psycopg.Error)
    except ModuleNotFoundError:  # pragma: no cover - the [postgres] extra
        pass
    return tuple(found)


def _refused(e: BaseException) -> str:
    text = str(e).lower()
    if "nul" in text or "0x00" in text:
        return _("the store refused a text holding a NUL (0x00) character; remove it from the "
                 "input")
    return _("the store refused a value as out of range or malformed for its column; check "
             "the input's values")


# below this much free space beside a SQLite store, writes are about to fail: say so early
MIN_FREE_BYTES = 64 * 1024


def probe(url: str, engine: sa.Engine) -> None:
    """Raise :class:`StoreUnavailableError` when the store at ``url`` cannot be reached or
    written now. Cheap, and it writes nothing and takes no write lock: a health check must not
    queue behind an import or slow the writers down.

    SQLite: the file must exist, open and read, and it, its folder and its WAL files must be
    writable with room left on the disk. PostgreSQL: a pooled connection answers and its
    transactions are not read-only (a standby, ``default_transaction_read_only``).
    """
    with translated(url):
        parsed = sa.engine.make_url(url)
        if engine.dialect.name != "sqlite":
            with engine.connect() as conn:
                read_only = conn.exec_driver_sql("SHOW transaction_read_only").scalar()
            if str(read_only).lower() == "on":
                raise StoreUnavailableError(R.READ_ONLY, sentence(R.READ_ONLY, url))
            return
        if parsed.query.get("mode") == "ro":
            raise StoreUnavailableError(R.READ_ONLY, sentence(R.READ_ONLY, url))
        database = sqlite_file(parsed)
        if database is None:
            return
        if not database.exists():
            raise StoreUnavailableError(R.MISSING, sentence(R.MISSING, url))
        beside = [database, database.parent] + [
            p for p in (Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]
        if not all(os.access(p, os.W_OK) for p in beside):
            raise StoreUnavailableError(R.READ_ONLY, sentence(R.READ_ONLY, url))
        import shutil

        if shutil.disk_usage(database.parent).free < MIN_FREE_BYTES:
            raise StoreUnavailableError(R.DISK_FULL, sentence(R.DISK_FULL, url))
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
