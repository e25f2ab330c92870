"""The same orders give the same analysis, byte for byte, run after run.

A parallel engine adds rows and returns groups in an order that varies between runs; a float
sum then varies in its last bits and the rows come out in another order. Small tables do not
show it (one thread reads them): these orders are enough for DuckDB to split the work.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import regulars
from regulars.demo import SCHEMAS, DemoSpec, iter_business


@pytest.fixture(scope="module")
def orders_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    spec = DemoSpec(customers=20_000, seed=7, orders_per_customer=10.0)  # > 150k orders
    path = tmp_path_factory.mktemp("repro") / "orders.parquet"
    with pq.ParquetWriter(str(path), SCHEMAS["orders"]) as writer:
        for chunk in iter_business(spec):
            writer.write_table(chunk["orders"])
    return path, spec.end.isoformat()


def _analyze(path: Path, end: str, config: Path) -> tuple[pa.Table, str]:
    settings = regulars.load_settings(config, database_url="sqlite:///:memory:")
    result = regulars.analyze(orders=path, as_of=end, config=settings)
    return result.customers.to_arrow(), repr(result.portfolio)


def test_two_runs_on_the_same_orders_are_identical(orders_file, tmp_path):
    path, end = orders_file
    config = tmp_path / "regulars.toml"
    config.write_text("")
    first, first_portfolio = _analyze(path, end, config)
    assert pq.read_metadata(path).num_rows > 150_000  # several of DuckDB's row groups
    for _ in range(2):
        again, portfolio = _analyze(path, end, config)
        assert again.equals(first)  # the rows, their order and every value
        assert portfolio == first_portfolio
    ids = first.column("customer_id").to_pylist()
    assert ids == sorted(ids)
