"""The customer map is written once in Ibis: DuckDB and PostgreSQL (in-database) must agree.

Exact integers and labels, floats within 1e-9 relative (ENGINES.md: this kind of test caught
float literals turning into numerics, approximate medians and wrapping unsigned counts).
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest

import regulars
from regulars.analytics.synthetic import DemoSpec
from regulars.services.demo import write_demo

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


def test_duckdb_and_postgres_in_database_give_the_same_map(postgres_url, demo_dir):
    settings = regulars.load_settings(database_url=postgres_url)
    for kind in regulars.Kind:
        regulars.import_file(kind, demo_dir / f"{kind.value}.csv", settings=settings)
    as_of = date(2025, 6, 30)
    on_duckdb = regulars.analyze(config=settings, as_of=as_of)
    in_postgres = regulars.analyze(config=settings, as_of=as_of, engine="postgres")
    a = sorted(on_duckdb.customers.to_arrow().to_pylist(), key=lambda r: r["customer_id"])
    b = sorted(in_postgres.customers.to_arrow().to_pylist(), key=lambda r: r["customer_id"])
    assert len(a) == len(b) > 300
    mismatches = []
    for ra, rb in zip(a, b, strict=True):
        for key in ra:
            if key in ("evidence", "evidence_text"):
                continue
            if not close(ra[key], rb[key]):
                mismatches.append((ra["customer_id"], key, ra[key], rb[key]))
        if not same_evidence(evidence(ra), evidence(rb)):
            mismatches.append((ra["customer_id"], "evidence", ra["evidence"], rb["evidence"]))
    assert mismatches == []
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
