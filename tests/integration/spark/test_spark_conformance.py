"""The map, its evidence, the models' predictions and the portfolio on Spark (local[2]) are
those DuckDB gives, from the same files: one Ibis definition, two engines.

Exact integers, labels and booleans; floats within 1e-9 relative (ENGINES.md). There is no
deliberate difference: RFM's quintiles, the revenue rank and the cumulative revenue shares are
exact global windows on Spark too (docs/spark.md says what they cost at scale).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import regulars
from regulars.demo import DemoSpec
from regulars.demo.files import write_demo
from regulars.services.analysis import Analysis

from ..test_engine_conformance import mismatches, same_tree

pytestmark = [
    pytest.mark.spark,
    pytest.mark.xdist_group("spark"),
    # py4j leaves its gateway's sockets to the garbage collector
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:unclosed <socket:ResourceWarning"),
]

AS_OF = date(2025, 6, 30)


# session-scoped, not module-scoped: a worker may run other modules' tests between these, and
# a module's fixture would then be made again (CI measured the two analyses twice, 105 s each)
@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, DemoSpec(customers=400, seed=7), fmt="csv", overwrite=True)
    return {k.value: out / f"{k.value}.csv" for k in regulars.Kind}


@pytest.fixture(scope="session")
def both(spark: Any, demo_files: dict[str, Path]) -> tuple[Analysis, Analysis]:
    """The demo with every table, analysed on DuckDB and on Spark."""
    on_duckdb = regulars.analyze(**demo_files, as_of=AS_OF)
    on_spark = regulars.analyze(**demo_files, as_of=AS_OF, engine="spark", spark_session=spark)
    return on_duckdb, on_spark


def test_every_table_is_used(both):
    """Every signal and trait is evaluated: the demo exercises every table on both engines."""
    on_duckdb, on_spark = both
    assert on_duckdb.not_evaluated == on_spark.not_evaluated == {}


def test_spark_gives_the_map_duckdb_gives_column_by_column_and_evidence_by_evidence(both):
    on_duckdb, on_spark = both
    a = on_duckdb.customers.to_arrow()
    b = on_spark.customers.to_arrow()
    assert a.schema.names == b.schema.names
    assert "p_alive" in a.schema.names  # the models' columns are compared too
    rows_a, rows_b = a.to_pylist(), b.to_pylist()
    assert [r["customer_id"] for r in rows_a] == [r["customer_id"] for r in rows_b]
    assert len(rows_a) > 300
    assert mismatches(rows_a, rows_b) == []
    # the evidence in words follows from the evidence: the same sentences
    assert a.column("evidence_text").to_pylist() == b.column("evidence_text").to_pylist()


def test_spark_gives_the_whole_portfolio_duckdb_gives(both):
    on_duckdb, on_spark = both
    assert same_tree(on_duckdb.portfolio.to_dict(), on_spark.portfolio.to_dict())



def test_the_models_fitted_on_sparks_orders_are_duckdbs_models(both):
    """The fit runs on the driver in both cases, from the orders each engine hands over: the
    same parameters and the same predictions for every customer."""
    a, b = (x.predictions for x in both)
    assert a is not None and b is not None
    assert same_tree(a.describe()["transactions"]["params"],
                     b.describe()["transactions"]["params"])
    assert same_tree(a.describe()["spend"]["params"], b.describe()["spend"]["params"])
    assert a.table.schema == b.table.schema
    key = "customer_id"
    assert same_tree(sorted(a.table.to_pylist(), key=lambda r: r[key]),
                     sorted(b.table.to_pylist(), key=lambda r: r[key]))


def test_a_session_passed_in_is_left_running(both, spark):
    assert spark.range(3).count() == 3
