"""Which paths Spark reads itself (a URI), in which format, and that no other engine takes
one (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regulars.adapters.spark_files import file_format
from regulars.entrypoints.cli.main import files_by_kind
from regulars.services.inputs import is_uri


@pytest.mark.parametrize(("path", "fmt"), [
    ("s3a://b/orders.csv", "csv"), ("hdfs://n/x/orders.CSV.gz", "csv"),
    ("abfss://c@a.dfs.core.windows.net/orders.parquet", "parquet"),
    ("s3a://b/orders/", "parquet"), ("file:///t/orders.tsv", "csv"),
])
def test_the_format_follows_the_paths_ending(path, fmt):
    assert file_format(path) == fmt


@pytest.mark.parametrize(("source", "expected"), [
    ("s3a://bucket/orders.parquet", True), ("hdfs://nn:8020/x", True),
    ("abfss://c@a.dfs.core.windows.net/o", True), ("file:///tmp/o.csv", True),
    ("orders.csv", False), ("/data/orders.csv", False), ("C:\\data\\orders.csv", False),
    (Path("/data/orders.csv"), False),
])
def test_a_uri_has_a_scheme(source, expected):
    assert is_uri(source) is expected


def test_the_cli_keeps_a_uri_as_text_and_names_its_table_by_its_name():
    found = files_by_kind(["s3a://b/x/orders.parquet", "customers=hdfs://n/c/",
                           "file:///t/returns.csv"])
    assert found == {"orders": "s3a://b/x/orders.parquet", "customers": "hdfs://n/c/",
                     "returns": "file:///t/returns.csv"}
    assert files_by_kind(["s3a://b/x/part-0.parquet"]) == {
        "orders": "s3a://b/x/part-0.parquet"}


def test_a_uri_on_duckdb_says_to_use_spark(tmp_path):
    import regulars
    from regulars.domain.errors import AnalysisError

    with pytest.raises(AnalysisError, match="a URI is read by Spark: add --engine spark"):
        regulars.analyze("s3a://bucket/orders.parquet")
