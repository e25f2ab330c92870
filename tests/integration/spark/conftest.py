"""One Spark session (local[2]) for every Spark test of a run: a session takes 5-15 s to
start, the tests themselves a few seconds each. The tests are marked ``spark`` and
``xdist_group("spark")``, so that ``--dist loadgroup`` (scripts/test) runs them all on one
worker, which starts one session and makes the analyses once (session-scoped). pytest 9.2 and
pytest-xdist 3.8 lost the group on the way (tests/conftest.py carries it over again)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: apt-get install default-jre-headless")
    from pyspark.sql import SparkSession

    # the machine's name may resolve to a loopback address, which Spark warns about
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    session = (SparkSession.builder.master("local[2]").appName("regulars-tests")
               # a 400-customer demo in 200 shuffle partitions is 200 tasks a stage
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
