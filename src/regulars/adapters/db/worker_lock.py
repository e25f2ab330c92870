"""One background worker per store: the lock ``regulars worker`` (and ``regulars serve``'s
background process) holds while it runs.

* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection of its own,
  held until the worker stops or its connection ends. Advisory locks are per database, so
  two stores on one server do not exclude each other.
* SQLite: an exclusive ``flock`` on a file beside the database (``<file>.worker.lock``). The
  operating system drops it when the process ends, however it ends, so a crashed worker never
  leaves a stale lock behind. (The database file itself is not locked: SQLite's own locks on
  it must not be disturbed, sqlite.org/howtocorrupt.)
* An in-memory SQLite store lives in one process: nothing to exclude.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.engine import Purpose, create_engine, is_sqlite

# pg_try_advisory_lock's one bigint key: the first 8 bytes of a hash of a fixed name, so that
# it does not collide with another application's key by accident
LOCK_NAME = "regulars.background-worker"
ADVISORY_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big",
                              signed=True)


def lock_file(url: str) -> Path | None:
    """The lock file of a SQLite store (None in memory or on another database)."""
    database = failures.sqlite_file(url)
    return None if database is None else database.with_name(database.name + ".worker.lock")


class WorkerLock:
    """Try :meth:`acquire` (False: another worker holds it); :meth:`release` when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.held = False
        self._file: IO[str] | None = None
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None

    @property
    def where(self) -> str:
        """Where the lock is, in words for the log."""
        path = lock_file(self.url) if is_sqlite(self.url) else None
        if path is not None:
            return str(path)
        return f"pg_advisory_lock({ADVISORY_KEY})" if not is_sqlite(self.url) else "memory"

    def acquire(self) -> bool:
        if self.held:
            return True
        if is_sqlite(self.url):
            self.held = self._acquire_file()
        else:
            self.held = self._acquire_advisory()
        return self.held

    def _acquire_file(self) -> bool:
        path = lock_file(self.url)
        if path is None:
            return True
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        # who holds it, for a person who looks (the lock itself is the flock, not the text)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return True

    def _acquire_advisory(self) -> bool:
        if self._engine is None:
            self._engine = create_engine(self.url, Purpose.BRIEF)
        with failures.translated(self.url):
            # autocommit: the session lock outlives transactions; an open one would sit
            # "idle in transaction" for the worker's whole life
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = bool(conn.exec_driver_sql(
                    "SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).scalar())
            except BaseException:
                conn.close()
                raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
            except sa.exc.DBAPIError:
                pass  # the connection is gone, and the lock with it
            finally:
                self._conn.close()
                self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.held = False
