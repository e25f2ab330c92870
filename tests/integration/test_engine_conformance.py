"""The customer map is written once in Ibis: DuckDB and PostgreSQL (in-database) must agree.

Exact integers and labels, floats within 1e-9 relative (ENGINES.md: this kind of test caught
float literals turning into numerics, approximate medians and wrapping unsigned counts).
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

import regulars
from regulars.demo import DemoSpec
from regulars.demo.files import write_demo
from regulars.services.analysis import Analysis

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, DemoSpec(customers=400, seed=7), fmt="csv", overwrite=True)
    return out


def close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def evidence(row: dict[str, object]) -> list[dict[str, object]]:
    items = json.loads(str(row["evidence"]))
    return sorted(items, key=lambda e: (e["about"], e["code"]))


def same_evidence(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    if [(e["about"], e["code"], sorted(e)) for e in a] != [
        (e["about"], e["code"], sorted(e)) for e in b
    ]:
        return False
    return all(close(x[k], y[k]) for x, y in zip(a, b, strict=True) for k in x)


def mismatches(a: list[dict[str, object]], b: list[dict[str, object]]) -> list[tuple]:
    """(customer, column, one, other) wherever two maps in the same row order differ."""
    out: list[tuple] = []
    for ra, rb in zip(a, b, strict=True):
        out += [(ra["customer_id"], key, ra[key], rb[key]) for key in ra
                if key not in ("evidence", "evidence_text") and not close(ra[key], rb[key])]
        if not same_evidence(evidence(ra), evidence(rb)):
            out.append((ra["customer_id"], "evidence", ra["evidence"], rb["evidence"]))
    return out


def both_engines(database_url: str, files: Path) -> tuple[Analysis, Analysis]:
    """The files imported into the database, analysed on DuckDB and in PostgreSQL."""
    settings = regulars.load_settings(database_url=database_url)
    for kind in regulars.Kind:
        regulars.import_file(kind, files / f"{kind.value}.csv", settings=settings)
    as_of = date(2025, 6, 30)
    return (regulars.analyze(config=settings, as_of=as_of),
            regulars.analyze(config=settings, as_of=as_of, engine="postgres"))


def test_duckdb_and_postgres_in_database_give_the_same_map(postgres_url, demo_dir):
    on_duckdb, in_postgres = both_engines(postgres_url, demo_dir)
    a = sorted(on_duckdb.customers.to_arrow().to_pylist(), key=lambda r: r["customer_id"])
    b = sorted(in_postgres.customers.to_arrow().to_pylist(), key=lambda r: r["customer_id"])
    assert len(a) == len(b) > 300
    assert mismatches(a, b) == []
    assert on_duckdb.not_evaluated == in_postgres.not_evaluated
    assert same_tree(on_duckdb.portfolio.to_dict(), in_postgres.portfolio.to_dict())


def same_tree(a: object, b: object) -> bool:
    """Equal, with floats within 1e-9 relative, all the way down."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float) and isinstance(b, int | float) and close(float(a), float(b))
        )
    return a == b


@pytest.fixture
def icu_postgres_url() -> Iterator[str]:
    """A database whose default collation is ICU's en-US, as `initdb` gives on most machines
    with a locale (CI's throwaway server is initialised with --no-locale): "a10" sorts before
    "B2" there, after it byte by byte."""
    server = os.environ.get("REGULARS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("REGULARS_TEST_POSTGRES_URL is not set")
    base = make_url(server)
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"regulars_icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL(
            "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
            "LOCALE 'C'").format(sql.Identifier(name)))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


ID_COLUMNS = ("customer_id", "referrer_id", "referee_id", "feedback_id", "interaction_id",
              "invoice_id")


def mixed_case_ids(src: Path, dst: Path) -> None:
    """The demo files with every other id in lower case (C000124 → c000124): byte order puts
    all upper-case ids first, a linguistic collation interleaves them."""
    dst.mkdir()
    for path in src.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in ID_COLUMNS:
            if col in frame.columns:
                frame[col] = [v.lower() if v[-1:].isdigit() and int(v[-1]) % 2 == 0 else v
                              for v in frame[col]]
        frame.to_csv(dst / path.name, index=False)


def test_the_same_map_where_postgres_sorts_text_by_a_linguistic_collation(
        icu_postgres_url, demo_dir, tmp_path):
    """Ties (equal order counts in RFM's F, equal dates of feedback) are broken by ids, and
    the rows come out in id order: byte order on every engine, whatever the database's
    collation."""
    files = tmp_path / "mixed"
    mixed_case_ids(demo_dir, files)
    on_duckdb, in_postgres = both_engines(icu_postgres_url, files)
    a = on_duckdb.customers.to_arrow().to_pylist()
    b = in_postgres.customers.to_arrow().to_pylist()
    ids = [r["customer_id"] for r in a]
    assert ids == sorted(ids) and any(i.islower() for i in ids)  # byte order, mixed case
    assert [r["customer_id"] for r in b] == ids
    assert mismatches(a, b) == []
    assert same_tree(on_duckdb.portfolio.to_dict(), in_postgres.portfolio.to_dict())
