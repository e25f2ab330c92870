"""How the drivers' own words become one sentence and a reason (no I/O: the exceptions are
built as the drivers raise them)."""

from __future__ import annotations

import errno
import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from regulars import bootstrap
from regulars.domain.errors import (
    StoreRefusedValueError,
    StoreUnavailable,
    StoreUnavailableError,
)

URL = "postgresql+psycopg://shop:s3cret@db.example:5432/shop"
R = StoreUnavailable


def wrapped(orig: BaseException) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("SELECT 1", {}, orig)  # type: ignore[arg-type]


@pytest.mark.parametrize(("exc", "reason"), [
    (wrapped(sqlite3.OperationalError("database or disk is full")), R.DISK_FULL),
    (wrapped(sqlite3.OperationalError("attempt to write a readonly database")), R.READ_ONLY),
    (wrapped(sqlite3.OperationalError("database is locked")), R.LOCKED),
    (wrapped(psycopg.OperationalError(
        'connection failed: connection to server at "10.0.0.1", port 5432 failed: '
        "Connection refused")), R.UNREACHABLE),
    (wrapped(psycopg.OperationalError(
        'connection failed: FATAL:  password authentication failed for user "shop"')), R.AUTH),
    (wrapped(psycopg.OperationalError(
        'connection failed: FATAL:  database "shop" does not exist')), R.MISSING),
    (OSError(errno.ENOSPC, "No space left on device"), R.DISK_FULL),
])
def test_a_driver_error_becomes_one_sentence_with_its_reason(exc, reason):
    settings = bootstrap.load_settings(database_url=URL)
    failure = bootstrap.store_failure(exc, settings)
    assert isinstance(failure, StoreUnavailableError) and failure.reason is reason
    text = str(failure)
    assert "s3cret" not in text and "shop:***@db.example" in text
    assert "\n" not in text and "sqlalchemy" not in text.lower()


def test_the_real_cause_is_found_behind_a_failed_rollback():
    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except sqlite3.OperationalError as e:
        failure = bootstrap.store_failure(e)
    assert isinstance(failure, StoreUnavailableError) and failure.reason is R.DISK_FULL


def test_a_refused_value_is_an_input_error_not_an_outage():
    nul = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    failure = bootstrap.store_failure(sa.exc.DataError("INSERT", {}, nul))  # type: ignore[arg-type]
    assert isinstance(failure, StoreRefusedValueError) and "NUL" in str(failure)


@pytest.mark.parametrize("exc", [
    wrapped(sqlite3.OperationalError("no such table: orders")),  # a bug, not an outage
    ValueError("database is locked"),  # not a driver's
    OSError(errno.EACCES, "Permission denied", "/elsewhere/input.csv"),  # the input's problem
    FileNotFoundError(errno.ENOENT, "No such file", "orders.csv"),
])
def test_what_is_not_the_store_stays_what_it_is(exc):
    settings = bootstrap.load_settings(database_url="sqlite:////srv/shop/regulars.db")
    assert bootstrap.store_failure(exc, settings) is None


def test_a_refused_file_beside_the_store_is_the_store_read_only():
    settings = bootstrap.load_settings(database_url="sqlite:////srv/shop/regulars.db")
    exc = PermissionError(errno.EACCES, "Permission denied", "/srv/shop/regulars.db-wal")
    failure = bootstrap.store_failure(exc, settings)
    assert isinstance(failure, StoreUnavailableError) and failure.reason is R.READ_ONLY
