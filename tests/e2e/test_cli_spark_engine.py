"""``--engine spark`` without pyspark says how to install it, before reading any file; the
Spark options are refused where they mean nothing."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from regulars.entrypoints.cli.app import app

runner = CliRunner()


def _orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2025-01-05,10.00\n",
                    encoding="utf-8")
    return path


def test_the_spark_engine_without_pyspark_says_how_to_install_it(tmp_path, monkeypatch):
    # a module set to None in sys.modules cannot be imported: as if pyspark were absent
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    result = runner.invoke(app, ["analyze", str(_orders(tmp_path)), "--engine", "spark"])
    assert result.exit_code != 0
    text = " ".join(result.output.split())  # the message may wrap
    assert "pip install 'regulars[spark]'" in text
    assert "Java" in text
    assert "Traceback" not in result.output


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_spark_master_is_refused_without_the_spark_engine(tmp_path, engine):
    result = runner.invoke(app, ["analyze", str(_orders(tmp_path)), "--engine", engine,
                                 "--spark-master", "local[2]"])
    assert result.exit_code == 2
    assert "--spark-master" in result.output


def test_an_unknown_engine_names_the_three(tmp_path):
    result = runner.invoke(app, ["analyze", str(_orders(tmp_path)), "--engine", "presto"])
    assert result.exit_code != 0
    assert "duckdb, postgres or spark" in " ".join(result.output.split())


@pytest.mark.parametrize("how", ["option", "environment"])
def test_spark_connect_that_cannot_be_reached_is_named_in_the_error(tmp_path, monkeypatch, how):
    """``sc://`` (from --spark-master or SPARK_REMOTE) means Spark Connect: its failure names
    the address (here pyspark's Connect client itself is missing: grpcio is an extra)."""
    pytest.importorskip("pyspark")
    if importlib.util.find_spec("grpc") is not None:
        pytest.skip("with Spark Connect's client installed the address is tried later, "
                    "when the first table is sent")
    url = "sc://127.0.0.1:1"
    args = ["analyze", str(_orders(tmp_path)), "--engine", "spark"]
    if how == "option":
        args += ["--spark-master", url]
    else:
        monkeypatch.setenv("SPARK_REMOTE", url)
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert f"Spark Connect at {url}" in text, text


def test_a_uri_without_the_spark_engine_says_to_add_it():
    """A URI is for Spark's executors to read: DuckDB on the driver does not try it."""
    result = runner.invoke(app, ["analyze", "s3a://shop/export/orders.parquet"])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "s3a://shop/export/orders.parquet: a URI is read by Spark: add --engine spark" in text
    assert "Traceback" not in result.output
