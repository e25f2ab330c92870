"""``regulars analyze --out-dir``: the customer map as a directory of Parquet files, for maps
too large for one file; the same rows as ``--out map.parquet``, and nothing half-written."""

from __future__ import annotations

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from regulars.demo import DemoSpec
from regulars.demo.files import write_demo
from regulars.entrypoints.cli import main as cli_main
from regulars.entrypoints.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, DemoSpec(customers=60, seed=3), fmt="csv", overwrite=True)
    return out / "orders.csv"


def test_the_directory_holds_the_rows_the_single_file_holds_in_parts(orders, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(cli_main, "PART_ROWS", 25)  # several parts from a small map
    single, parts = tmp_path / "map.parquet", tmp_path / "map"
    result = runner.invoke(app, ["analyze", str(orders), "--out", str(single),
                                 "--out-dir", str(parts)])
    assert result.exit_code == 0, result.output
    whole = pq.read_table(single)
    names = sorted(p.name for p in parts.iterdir())
    n = -(-whole.num_rows // 25)
    assert names == [f"part-{i:05d}.parquet" for i in range(n)] and n >= 2
    assert ds.dataset(parts, format="parquet").to_table().equals(whole)
    assert f"({n} files)" in result.output


def test_a_directory_with_files_in_it_is_refused_before_the_analysis(orders, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(orders), "--out-dir", str(taken)])
    assert result.exit_code == 2
    assert "not an empty directory" in " ".join(result.output.split())
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]
