"""Write a synthetic business to a directory: one file per input table, plus the ground truth.

The tables come from :func:`regulars.demo.iter_business` chunk by chunk and are streamed to
disk, so a business of ten million orders never sits in memory at once. Files are written under
a temporary name and renamed only when every table is complete: an interrupted run leaves no
half-written business behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from regulars.demo.generate import iter_business
from regulars.demo.spec import SCHEMAS, DemoSpec
from regulars.domain.errors import RegularsError
from regulars.domain.tables import IMPORT_ORDER
from regulars.i18n import _

__all__ = ["TRUTH", "OutputExistsError", "demo_file_names", "write_demo"]

TRUTH = "truth"
"""The name of the ground-truth table (``truth.csv`` / ``truth.parquet``)."""

Format = Literal["csv", "parquet"]
_FORMATS: tuple[Format, ...] = ("csv", "parquet")


class OutputExistsError(RegularsError, FileExistsError):
    """The output directory already holds files and overwriting was not asked for."""


def demo_file_names(fmt: Format = "csv") -> dict[str, str]:
    """The file name of every table, in import order, the ground truth last.

    Parameters
    ----------
    fmt
        ``"csv"`` or ``"parquet"``.

    Returns
    -------
    dict of str to str
        Table name (``customers``, ``orders``, …, ``truth``) to file name.
    """
    names = [kind.value for kind in IMPORT_ORDER] + [TRUTH]
    return {name: f"{name}.{fmt}" for name in names}


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """Timestamps to whole seconds ("YYYY-MM-DD HH:MM:SS") and money with two decimals."""
    fields = []
    for f in schema:
        typ = f.type
        if pa.types.is_timestamp(typ):
            typ = pa.timestamp("s")
        elif pa.types.is_floating(typ):
            typ = pa.decimal128(18, 2)
        fields.append(pa.field(f.name, typ))
    return pa.schema(fields)


class _Sink:
    """One table's file being written, under a temporary name until it is complete."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.fmt = fmt
        self.schema = _csv_schema(schema) if fmt == "csv" else schema
        self.writer: Any
        if fmt == "csv":
            self.writer = pa_csv.CSVWriter(str(self.partial), self.schema)
        else:
            self.writer = pq.ParquetWriter(str(self.partial), self.schema)

    def write(self, table: pa.Table) -> None:
        if self.fmt == "csv":
            table = table.cast(self.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
        self.partial.unlink(missing_ok=True)


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(_("{path} exists and is not a directory").format(path=out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            _("{path} is not empty; choose an empty or new directory, or overwrite its demo "
              "files (--force / overwrite=True)").format(path=out_dir)
        )


# over 60 lines for its signature and docstring: the body is short
def write_demo(
    out_dir: Path,
    spec: DemoSpec,
    *,
    fmt: Format = "csv",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Generate a synthetic business and write every table to ``out_dir``.

    Parameters
    ----------
    out_dir
        The directory to write to; created when missing. It must be empty unless
        ``overwrite`` is set.
    spec
        What to generate (size, seed, date range, …); the same spec gives byte-identical files.
    fmt
        ``"csv"`` (timestamps as ``YYYY-MM-DD HH:MM:SS``, money with two decimals) or
        ``"parquet"`` (the generator's arrow types).
    overwrite
        Replace the demo files in a non-empty directory (both formats' files of the same tables
        are removed; other files are left alone).
    progress
        Called after every chunk with (customers generated, customers in total).

    Returns
    -------
    dict of str to Path
        Table name to file: ``customers``, ``orders``, ``returns``, ``invoices``,
        ``interactions``, ``feedback``, ``referrals`` in import order, then ``truth``.

    Raises
    ------
    OutputExistsError
        ``out_dir`` is a file, or a non-empty directory and ``overwrite`` is not set.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {_FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / file for name, file in demo_file_names(fmt).items()}
    sinks: dict[str, _Sink] = {}
    try:
        for name, path in paths.items():
            sinks[name] = _Sink(path, SCHEMAS[name], fmt)
        done = 0
        for chunk in iter_business(spec):
            for name, sink in sinks.items():
                sink.write(chunk[name])
            done += chunk[TRUTH].num_rows - _duplicates(chunk[TRUTH])
            if progress is not None:
                progress(min(done, spec.customers), spec.customers)
        for sink in sinks.values():
            sink.close()
    except BaseException:
        for sink in sinks.values():
            sink.abandon()
        raise
    for name, path in paths.items():
        for other in _FORMATS:
            (out_dir / f"{name}.{other}").unlink(missing_ok=True)
        os.replace(sinks[name].partial, path)
    return paths


def _duplicates(truth: pa.Table) -> int:
    return int(truth.num_rows - truth["duplicate_of"].null_count)
