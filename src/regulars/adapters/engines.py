"""Where analytics runs: DuckDB in process (default), or PostgreSQL over the store's tables.

Analytics is written once as Ibis expressions; an engine only says where the input tables are.
"""

from __future__ import annotations

import os
from typing import Any

import ibis
import pyarrow as pa
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.domain.errors import AnalysisError, StoreError
from regulars.domain.tables import SPECS, Kind
from regulars.i18n import _


class DuckDBEngine:
    """An in-process DuckDB database holding the tables handed to it."""

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        self.con: Any = ibis.duckdb.connect()
        if threads:
            self.con.raw_sql(f"SET threads = {int(threads)}")

    def table(self, name: str, data: pa.Table) -> Any:
        # a zero-copy view of the Arrow table; ibis' create_table would copy it through an
        # API DuckDB 2.0 deprecates
        self.con.con.register(name, data)
        return self.con.table(name)

    def run_sql(self, sql: str) -> pa.Table:
        """The rows of a query (SQL compiled from an Ibis expression on this engine)."""
        result: pa.Table = self.con.con.sql(sql).to_arrow_table()
        return result

    def define_view(self, name: str, sql: str) -> str:
        """Keep a query as a view and return the query of its rows: the DuckDB client scans
        the text of every query it is given in Python, which for a whole map's SQL costs more
        than running it on a few rows; a view is scanned once."""
        self.con.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')
        return f'SELECT * FROM "{name}"'

    def close(self) -> None:
        self.con.disconnect()


class PostgresEngine:
    """Computes in-database on the store's own tables (nothing is copied out first)."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        u = sa.engine.make_url(url)
        if u.get_backend_name() != "postgresql":
            raise StoreError(_("the PostgreSQL engine needs a postgresql:// store URL"))
        try:
            self.con: Any = ibis.postgres.connect(
                host=u.host or "localhost", port=u.port or 5432, user=u.username,
                password=u.password, database=u.database,
            )
        except Exception as e:  # the driver's own error types vary
            failure = failures.store_failure(e, url)
            if failure is not None:
                raise failure from e
            raise StoreError(_("cannot reach PostgreSQL: {err}").format(err=e)) from e

    def table(self, name: str, data: pa.Table) -> Any:
        return self.con.create_table(name, data, temp=True, overwrite=True)

    def stored(self, kind: Kind) -> Any:
        """A store table, in place, with the contract's columns.

        Text is compared byte by byte (``COLLATE "C"``), as DuckDB, SQLite and Arrow do. The
        map breaks ties by ids (RFM's buckets, revenue ranks, the latest feedback of a day) and
        hands its rows out in ``customer_id`` order; under the database's own collation (often
        a linguistic one, where "a10" sorts before "B2") both would differ from DuckDB's."""
        t = self.con.table(kind.value)
        if any(dtype.is_string() for dtype in t.schema().types):
            t = self.con.sql(_bytewise_select(kind.value, t.schema()))
        # the same input contract as Arrow tables on DuckDB: every column nullable
        return t.select(*[t[n].cast(t[n].type().copy(nullable=True)).name(n)
                          for n in SPECS[kind].names])

    def close(self) -> None:
        self.con.disconnect()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bytewise_select(table: str, schema: Any) -> str:
    """``SELECT`` every column of ``table``, its text columns ``COLLATE "C"``."""
    cols = [f'{_quoted(n)} COLLATE "C" AS {_quoted(n)}' if dtype.is_string() else _quoted(n)
            for n, dtype in schema.items()]
    return f"SELECT {', '.join(cols)} FROM {_quoted(table)}"



SPARK_INSTALL_HINT = "pip install 'regulars[spark]'"


def _spark_backend_class() -> Any:
    """Ibis' PySpark backend with three repairs (ibis 12.0, pyspark 4.0):

    - ``cache()`` compiles the expression without putting its in-memory tables (the models'
      P(alive), the baseline's row) on the session first, so the query names a view that
      does not exist; the other backends run these hooks before caching.
    - ``to_pyarrow`` goes through pandas (``toPandas``): slow for a million customers, and
      pandas 3's string and nullable types are not what pyspark 4.0 expects. Spark 4 hands
      Arrow out itself (``DataFrame.toArrow``).
    - in-memory tables are sent through pandas too; Spark 4 takes Arrow directly.
    """
    ibis.pyspark  # noqa: B018  # loading it through ibis registers its options (ibis.options.pyspark)
    from ibis.backends.pyspark import Backend
    from ibis.backends.pyspark.datatypes import PySparkSchema
    from ibis.formats.pyarrow import PyArrowData

    class SparkBackend(Backend):  # type: ignore[misc]
        def _create_cached_table(self, name: str, expr: Any) -> Any:
            self._run_pre_execute_hooks(expr)
            return super()._create_cached_table(name, expr)

        def _register_in_memory_table(self, op: Any) -> None:
            data = op.data.to_pyarrow(op.schema)
            df = self._session.createDataFrame(data, schema=PySparkSchema.from_ibis(op.schema))
            df.createOrReplaceTempView(op.name)

        def to_pyarrow(self, expr: Any, /, *, params: Any = None, limit: Any = None,
                       **kwargs: Any) -> pa.Table:
            table_expr = expr.as_table()
            self._run_pre_execute_hooks(table_expr)
            sql = self.compile(table_expr, params=params, limit=limit, **kwargs)
            out = self._session.sql(sql).toArrow()
            return expr.__pyarrow_result__(
                PyArrowData.convert_table(out, table_expr.schema()))

    return SparkBackend


def spark_session(master: str | None = None) -> Any:
    """A Spark session at ``master``: an ``sc://host:15002`` address is Spark Connect,
    anything else a Spark master (``local[2]``, ``spark://host:7077``, ``yarn``); without
    one, Spark Connect at ``SPARK_REMOTE`` when the environment names it, else ``local[*]``.
    A session already running in this process is reused (as Spark itself does).

    Raises :class:`AnalysisError` saying how to install pyspark when it is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise AnalysisError(_("the spark engine needs pyspark and a Java runtime (17 or "
                              "later): {hint}").format(hint=SPARK_INSTALL_HINT)) from e
    remote = master if master and master.startswith("sc://") else (
        None if master else os.environ.get("SPARK_REMOTE"))
    if remote:
        try:
            return SparkSession.builder.remote(remote).getOrCreate()
        except Exception as e:  # Spark Connect's client is an extra of pyspark (grpc)
            raise AnalysisError(_("cannot reach Spark Connect at {url}: {err}").format(
                url=remote, err=_first_line(e))) from e
    builder = SparkSession.builder.master(master or "local[*]").appName("regulars")
    # the map's rows come back to the driver as Arrow; the UI is of no use to a one-off run
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    try:
        session = builder.getOrCreate()
    except Exception as e:  # no Java runtime, a master that cannot be reached, …
        raise AnalysisError(_("cannot start Spark ({master}): {err}").format(
            master=master or "local[*]", err=_first_line(e))) from e
    # Spark's own INFO and WARN lines would bury the command's output
    session.sparkContext.setLogLevel("ERROR")
    return session


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class SparkEngine:
    """Computes on Apache Spark through Ibis' PySpark backend: the tables handed over (Arrow)
    or read by Spark from paths it understands (local, ``s3a://``, ``abfss://``, ``hdfs://``).

    The session is the caller's when given (never stopped here), else one started for the
    analysis and left running for the rest of the process (a Spark session takes seconds to
    start, and stopping it would stop every other user of it in this process)."""

    name = "spark"

    def __init__(self, session: Any = None, *, master: str | None = None) -> None:
        self.session = session if session is not None else spark_session(master)
        self.con: Any = _spark_backend_class()().connect(self.session)
        self._views: list[str] = []
        self._persisted: list[Any] = []

    def table(self, name: str, data: pa.Table) -> Any:
        df = self.session.createDataFrame(data)
        # an Arrow table arrives in partitions of 10,000 rows (Arrow's batch size): a hundred
        # tasks a stage for a million orders, each costing more to start than to run; at most
        # as many partitions as a shuffle makes is what every later stage works with anyway
        df = df.coalesce(max(1, int(self.session.conf.get("spark.sql.shuffle.partitions"))))
        df.createOrReplaceTempView(name)
        self._views.append(name)
        return self.con.table(name)

    def read(self, kind: Kind, uri: str, *, max_problems: int) -> Any:
        """The table of ``kind`` at ``uri``, read and checked by Spark's executors
        (:mod:`regulars.adapters.spark_files`): nothing of it passes through the driver."""
        from regulars.adapters.spark_files import read_checked

        df = read_checked(self.session, kind, uri, max_problems=max_problems)
        self._persisted.append(df)
        name = f"input_{kind.value}"
        df.createOrReplaceTempView(name)
        self._views.append(name)
        return self.con.table(name)

    def close(self) -> None:
        for name in self._views:
            self.session.catalog.dropTempView(name)
        self._views.clear()
        for df in self._persisted:
            df.unpersist()
        self._persisted.clear()
