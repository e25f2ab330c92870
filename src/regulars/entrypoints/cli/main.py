"""The ``regulars`` command line (Typer + Rich).

Exit codes: 0 success; 1 the input was rejected (a report lists the problems); 2 a usage,
configuration or file-format error; 3 the store cannot be used.
"""

from __future__ import annotations

import codecs
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import rich.progress
import typer
from rich.progress import BarColumn, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from regulars import api
from regulars.domain.errors import (
    ConfigError,
    InputError,
    RegularsError,
    RejectedFileError,
    StoreError,
)
from regulars.domain.tables import Kind
from regulars.entrypoints.cli.common import (
    Commands,
    LangOpt,
    err,
    fail,
    out,
    remember_store,
)
from regulars.entrypoints.cli.config_cmd import config_app
from regulars.entrypoints.cli.points import points_app
from regulars.entrypoints.cli.summary import at_risk, win_back
from regulars.i18n import _, current_language, fmt_number, use_language
from regulars.services import analysis
from regulars.services.importing import Progress
from regulars.services.inputs import is_uri

app = typer.Typer(
    name="regulars",
    help=_("Know and keep your regular customers: who is new, regular, loyal, drifting or lost, "
           "and why."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Commands,
)
app.add_typer(config_app, name="config")
app.add_typer(points_app, name="points")


@app.callback()
def _root(lang: LangOpt = None) -> None:
    # --lang (or REGULARS_LANG) is applied as the option is read (common._check_language),
    # before the command's own options; the group's help stays the Typer's above
    pass


@contextmanager
def handled() -> Iterator[None]:
    """Turn regulars' errors into a message and an exit code; anything else is a bug."""
    try:
        yield
    except RejectedFileError as e:
        err.print(str(e), highlight=False, markup=False)
        raise typer.Exit(1) from e
    except (ConfigError, InputError) as e:
        fail(str(e), 2)
    except StoreError as e:
        fail(str(e), 3)
    except RegularsError as e:
        fail(str(e), 2)


def settings_from(config: Path | None, database_url: str | None) -> api.Settings:
    overrides = {"database_url": database_url} if database_url else {}
    settings = api.load_settings(config, **overrides)
    remember_store(settings.database_url)
    return settings


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise typer.BadParameter(
                _("'{pair}': expected OUR_COLUMN=FILE_COLUMN, e.g. ordered_at=date").format(
                    pair=pair),
                param_hint="--map",
            )
        mapping[target.strip()] = source.strip()
    return mapping


class CountColumn(ProgressColumn):
    """``1 296/2 421`` rows, with the reader's separators."""

    def render(self, task: rich.progress.Task) -> Text:
        total = "?" if task.total is None else fmt_number(task.total)
        return Text(f"{fmt_number(task.completed)}/{total}")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    with rich.progress.Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        CountColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        task = bar.add_task(_("starting"), total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        yield report


@contextmanager
def analysis_steps(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """On a terminal: a spinner naming the analysis's current step (reading a file, fitting
    the models, the map, …) and the time taken so far; elsewhere nothing."""
    if not enabled:
        yield None
        return
    with rich.progress.Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        task = bar.add_task(_("analysing…"), total=None)
        yield lambda step: bar.update(task, description=step)


def _names_of(result: analysis.Analysis, ids: list[str | None]) -> dict[str, str]:
    """The names of a few customers of ``result`` (the report names them outside its lists)."""
    wanted = [i for i in ids if i]
    table = result.customers.unfinished  # without the sentences, which are not needed
    if not wanted or "name" not in table.column_names:
        return {}
    rows = table.filter(pc.is_in(table["customer_id"], pa.array(wanted))).select(
        ["customer_id", "name"]).to_pylist()
    return {str(r["customer_id"]): str(r["name"]) for r in rows if r["name"]}


def write_report(result: analysis.Analysis, path: Path) -> None:
    """The HTML report of ``result``, in the language of this run."""
    from regulars.entrypoints.report import render_report

    html = render_report(result.portfolio, at_risk(result.customers, 50),
                         title=_("Customer map"), as_of=result.as_of,
                         predictions=None if result.predictions is None
                         else result.predictions.describe(),
                         not_evaluated=result.not_evaluated,
                         win_back_rows=win_back(result.customers, 50),
                         lang=current_language(), currency=result.currency,
                         customer_names=_names_of(result, [
                             result.portfolio.concentration.largest_customer_id]))
    with replacing(path) as tmp:
        tmp.write_text(html, encoding="utf-8")


def show_store(settings: api.Settings) -> None:
    store = api.open_store(settings)
    store.ensure_schema()
    counts = store.counts()
    table = Table(title=_("store {url}").format(url=store.display_url))
    table.add_column(_("table"))
    table.add_column(_("rows"), justify="right")
    for name, n in counts.items():
        table.add_row(name, fmt_number(n))
    out.print(table)



def files_by_kind(files: list[str], *, single_is_orders: bool = True) -> dict[str, Path | str]:
    """``KIND=path``, a path named after its kind (``orders.csv``), or a directory of such
    files; a single unnamed file is the orders (unless ``single_is_orders`` is false). A URI
    (``s3a://…``, ``hdfs://…``) stays text, for ``--engine spark`` to read."""
    found: dict[str, Path | str] = {}
    kinds = [k.value for k in Kind]

    def kind_of(path: Path) -> str | None:
        stem = path.name.split(".")[0].lower()
        return next((k for k in kinds if stem == k or stem.startswith(k + "_")
                     or stem.startswith(k + "-")), None)

    for item in files:
        kind, sep, rest = item.partition("=")
        if sep and kind in kinds:
            found[kind] = rest if is_uri(rest) else Path(rest)
            continue
        if is_uri(item):
            k = kind_of(Path(item.rstrip("/"))) or (
                "orders" if len(files) == 1 and single_is_orders else None)
            if k is None:
                raise typer.BadParameter(
                    _("{f}: say which table it is, e.g. orders={f}").format(f=item),
                    param_hint="FILES")
            found[k] = item
            continue
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if (k := kind_of(child)) and k not in found:
                    found[k] = child
            continue
        k = kind_of(path) or ("orders" if len(files) == 1 and single_is_orders else None)
        if k is None:
            raise typer.BadParameter(
                _("{f}: say which table it is, e.g. orders={f}").format(f=item),
                param_hint="FILES")
        found[k] = path
    return found


def parse_period(text: str | None) -> tuple[date, date] | None:
    if not text:
        return None
    a, sep, b = text.partition("..")
    try:
        if not sep:
            raise ValueError(text)
        start, end = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
    except ValueError as e:
        raise typer.BadParameter(_("expected START..END, e.g. 2024-01-01..2024-12-31"),
                                 param_hint="--period") from e
    if end < start:
        raise typer.BadParameter(_("the period ends ({end}) before it starts ({start})").format(
            end=end, start=start), param_hint="--period")
    return start, end


def parse_day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(_("expected a date YYYY-MM-DD"), param_hint=option) from e


OUT_SUFFIXES = (".parquet", ".csv")


def check_writable(path: Path | None, option: str, suffixes: tuple[str, ...]) -> None:
    """Before a long analysis: can its result be written there at all (``suffixes``: the
    file kinds it can write, empty for any)? A directory is refused by the option itself
    (``dir_okay=False``)."""
    if path is None:
        return
    if suffixes and path.suffix.lower() not in suffixes:
        raise typer.BadParameter(_("write one of: {kinds}").format(kinds=", ".join(suffixes)),
                                 param_hint=option)
    if not path.parent.is_dir():
        raise typer.BadParameter(_("the directory {d} does not exist").format(d=path.parent),
                                 param_hint=option)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that becomes ``path`` only once it is whole: a write
    that fails leaves neither a half-written file nor a damaged earlier one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_customers(result: analysis.Analysis, path: Path, *, bom: bool = False) -> None:
    """The map's rows as a .parquet or .csv file (a CSV safe to open in a spreadsheet; ``bom``
    puts a UTF-8 byte-order mark first, for Excel). A file for machines is the same in every
    language: its evidence sentences are the English source text."""
    with use_language("en"):
        table = result.customers.to_arrow()
    with replacing(path) as tmp:
        _write_table(table, path.suffix.lower(), tmp, bom=bom)


PART_ROWS = 1_000_000
"""Rows of the customer map per file of a Parquet directory (``--out-dir``): a part a reader
can take whole into memory, and files few enough to list."""


def check_out_dir(path: Path | None, option: str) -> None:
    """Before a long analysis: a Parquet directory can be made at ``path`` (new, or empty)."""
    if path is None:
        return
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise typer.BadParameter(_("{d} exists and is not an empty directory").format(d=path),
                                 param_hint=option)
    if not path.parent.is_dir():
        raise typer.BadParameter(_("the directory {d} does not exist").format(d=path.parent),
                                 param_hint=option)


def write_customers_dir(result: analysis.Analysis, path: Path) -> int:
    """The map's rows as a directory of Parquet files (``part-00000.parquet``, …, at most
    :data:`PART_ROWS` rows each, in customer_id order), which Spark, DuckDB, pandas and
    polars read as one table; made beside ``path`` and renamed into place once whole, so a
    failed write leaves nothing behind. Returns the number of files."""
    with use_language("en"):
        table = result.customers.to_arrow()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        parts = max(1, -(-int(table.num_rows) // PART_ROWS))
        for i in range(parts):
            pq.write_table(table.slice(i * PART_ROWS, PART_ROWS), tmp / f"part-{i:05d}.parquet")
        if path.exists():
            path.rmdir()  # empty (checked before the analysis)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return parts


def _write_table(table: pa.Table, suffix: str, path: Path, *, bom: bool = False) -> None:
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".csv":
        with path.open("wb") as f:
            if bom:
                f.write(codecs.BOM_UTF8)
            pacsv.write_csv(spreadsheet_table(table), f)
    else:
        raise typer.BadParameter(_("write .parquet or .csv"), param_hint="--out")


# a cell a spreadsheet reads as a formula starts with one of these (OWASP, "CSV Injection")
FORMULA_START = r"^[=+\-@\t\r]"
# ... unless it is a plain number written as text, which a spreadsheet reads as that number
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def spreadsheet_table(table: pa.Table) -> pa.Table:
    """The map's rows as CSV cells a spreadsheet shows as they are.

    CSV has no lists: every list column becomes text, codes joined with "; " and the evidence
    sentences (each ends with its own full stop) with a space. A text cell that a spreadsheet
    would run as a formula (it starts with =, +, -, @, a tab or a carriage return, as a
    customer named ``=HYPERLINK(...)`` or a phone number ``+372 ...`` does) gets a leading
    single quote, which makes it text; numbers, and numbers written as text, are left as
    they are."""
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type)
        if (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
            sep = " " if field.name == "evidence_text" else "; "
            column = pc.binary_join(column.cast(pa.list_(pa.string())), sep)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = _no_formulas(column)
        table = table.set_column(i, field.name, column)
    return table


def _no_formulas(column: pa.ChunkedArray) -> pa.ChunkedArray:
    risky = pc.and_(pc.match_substring_regex(column, FORMULA_START),
                    pc.invert(pc.match_substring_regex(column, PLAIN_NUMBER)))
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def read_options(map_: list[str] | None, date_format: str | None,
                 decimal_comma: bool | None, encoding: str | None, header: bool | None
                 ) -> api.ReadOptions:
    """How to read the orders file of a command that analyses files (analyze, backtest); the
    currency is the amounts' own sign (₽, руб., €) where they carry one, else the settings'."""
    return api.ReadOptions(
        header=header, encoding=encoding, mapping=parse_mapping(map_ or []),
        date_format=date_format, decimal_comma=decimal_comma)




def main() -> None:  # pragma: no cover - console script
    app()
