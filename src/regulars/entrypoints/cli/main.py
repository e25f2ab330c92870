"""The ``regulars`` command line (Typer + Rich).

Exit codes: 0 success; 1 the input was rejected (a report lists the problems); 2 a usage,
configuration or file-format error; 3 the store cannot be used.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import rich.progress
import typer
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from regulars import api
from regulars.domain.errors import (
    ConfigError,
    InputError,
    RegularsError,
    RejectedFileError,
    StoreError,
)
from regulars.domain.tables import IMPORT_ORDER, SPECS, Kind
from regulars.entrypoints.cli.common import (
    Commands,
    ConfigOpt,
    DatabaseOpt,
    err,
    fail,
    out,
    remember_store,
)
from regulars.entrypoints.cli.config_cmd import config_app
from regulars.entrypoints.cli.points import points_app
from regulars.entrypoints.cli.summary import at_risk, print_summary, win_back
from regulars.i18n import _
from regulars.services import analysis
from regulars.services.importing import Progress

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


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    with rich.progress.Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
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


@app.command("import")
def import_command(
    what: Annotated[list[str], typer.Argument(
        help=_("KIND FILE (customers, orders, returns, invoices, interactions, feedback or "
               "referrals; CSV, TSV, whitespace-separated text, Parquet or JSON Lines), or "
               "files named after their kind (orders.csv, customers.parquet, …), KIND=path, "
               "or a directory of them."),
        metavar="KIND FILE | FILES", show_default=False)],
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help=_("OUR_COLUMN=FILE_COLUMN, repeatable: --map ordered_at=date."))] = None,
    date_format: Annotated[str | None, typer.Option(
        help=_("strptime format of dates, e.g. %Y%m%d or %d.%m.%Y (default: found per "
               "column)."))] = None,
    decimal_comma: Annotated[bool | None, typer.Option(
        "--decimal-comma/--decimal-point",
        help=_("Amounts are written 12,50 / 12.50 (default: found per column)."),
        show_default=False)] = None,
    encoding: Annotated[str | None, typer.Option(
        help=_("Text encoding, e.g. cp1251 (default: detected)."))] = None,
    currency: Annotated[str | None, typer.Option(
        help=_("Currency of orders that do not say (default: a sign on the amounts, else "
               "from settings)."))] = None,
    credit_notes: Annotated[str | None, typer.Option(
        "--credit-notes", metavar="reject|returns",
        help=_("Negative order or invoice rows: reject the file (default) or import them as "
               "returns of the order they correct."))] = None,
    profile: Annotated[str | None, typer.Option(
        help=_("Read the file as the saved import profile NAME says."),
        metavar="NAME")] = None,
    save_profile: Annotated[str | None, typer.Option(
        help=_("Save how this file was read (columns, encoding, formats) as profile NAME."),
        metavar="NAME")] = None,
    quarantine: Annotated[Path | None, typer.Option(
        help=_("Import the good rows and write the rejected ones, with the reasons, to this "
               "CSV file."), dir_okay=False)] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help=_("csv, tsv, ws, parquet or jsonl (default: from the file name)."))
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help=_("Field separator of a CSV file."))
                         ] = None,
    header: Annotated[bool | None, typer.Option(
        "--header/--no-header", help=_("Whether the first line names the columns."),
        show_default=False)] = None,
    columns: Annotated[str | None, typer.Option(
        help=_("Comma-separated names for the columns of a file without a header."))] = None,
    blacklist: Annotated[Path | None, typer.Option(
        help=_("File of junk leads (e-mails, phones, customer ids) to leave out."),
        dir_okay=False)] = None,
    strict_customers: Annotated[bool, typer.Option(
        help=_("Reject orders of customers the store does not know, instead of creating "
               "their cards."))] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help=_("Validate and report; write nothing."))] = False,
    max_errors: Annotated[int | None, typer.Option(
        help=_("How many problems to list when a file is rejected."))] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Load files of customers, orders, returns, invoices, interactions, feedback or
    referrals into the store: each file all of it, or, if any row is wrong, nothing. Several
    files go in that order (customers first); a rejected file stops the ones after it."""
    with handled():
        files = import_targets(what)
        reading = {"--map": map_, "--date-format": date_format,
                   "--decimal-comma/--decimal-point": decimal_comma is not None,
                   "--encoding": encoding, "--format": fmt, "--delimiter": delimiter,
                   "--header/--no-header": header is not None, "--columns": columns,
                   "--profile": profile, "--save-profile": save_profile,
                   "--quarantine": quarantine}
        if credit_notes not in (None, "reject", "returns"):
            raise typer.BadParameter(_("use reject or returns"), param_hint="--credit-notes")
        if len(files) > 1 and (used := [name for name, value in reading.items() if value]):
            raise typer.BadParameter(
                _("{opts} describe one file: import the files one by one to use them").format(
                    opts=", ".join(used)), param_hint="FILES")
        settings = settings_from(config, database_url)
        if max_errors is not None:
            settings = settings.model_copy(
                update={"import_": settings.import_.model_copy(update={"max_errors": max_errors})}
            )
        options = api.ReadOptions(
            format=fmt, delimiter=delimiter, header=header,
            columns=tuple(c.strip() for c in columns.split(",")) if columns else (),
            encoding=encoding, mapping=parse_mapping(map_ or []), date_format=date_format,
            decimal_comma=decimal_comma, currency=currency, credit_notes=credit_notes,
        )
        for i, (kind, file) in enumerate(files):
            if len(files) > 1:
                out.print(f"{kind.value}: {file}", style="bold", highlight=False)
            try:
                import_one(kind, file, settings=settings, options=options,
                           blacklist=blacklist, dry_run=dry_run,
                           strict_customers=strict_customers, profile=profile,
                           save_profile=save_profile, quarantine=quarantine)
            except RejectedFileError:
                if i + 1 < len(files):
                    err.print(_("not imported after it: {files}").format(
                        files=", ".join(str(f) for _k, f in files[i + 1:])), highlight=False)
                raise


def import_targets(what: list[str]) -> list[tuple[Kind, Path]]:
    """``KIND FILE``, or files named after their kind, ``KIND=path`` and directories, in the
    order they must go in (customers before their orders, orders before returns…)."""
    kinds = {k.value: k for k in Kind}
    if len(what) == 2 and what[0].lower() in kinds and "=" not in what[1]:
        return [(kinds[what[0].lower()], Path(what[1]))]
    first = what[0]
    if len(what) == 2 and not any(c in first for c in "=./\\") and not Path(first).exists():
        raise typer.BadParameter(
            _("'{kind}' is not a table: use one of {kinds}").format(
                kind=first, kinds=", ".join(kinds)), param_hint="KIND")
    found = files_by_kind(what, single_is_orders=False)
    if not found:
        raise typer.BadParameter(
            _("no file named after a table in {what}").format(what=", ".join(what)),
            param_hint="FILES")
    return [(kind, found[kind.value]) for kind in IMPORT_ORDER if kind.value in found]


def import_one(kind: Kind, file: Path, *, settings: api.Settings,
               options: api.ReadOptions, blacklist: Path | None, dry_run: bool,
               strict_customers: bool, profile: str | None = None,
               save_profile: str | None = None, quarantine: Path | None = None) -> None:
    """Import one file and print what happened."""
    with progress_bar(sys.stderr.isatty()) as progress:
        report = api.import_file(
            kind, file, settings=settings, options=options, blacklist=blacklist,
            dry_run=dry_run, strict_customers=strict_customers, progress=progress,
            profile=profile, save_profile=save_profile, quarantine=quarantine,
        )
    for note in report.reading:
        out.print(_("read: {note}").format(note=note), style="dim", highlight=False)
    for ours, theirs in report.columns.items():
        if ours != theirs:
            out.print(f"{theirs} → {ours}", style="dim", highlight=False)
    if report.ignored_columns:
        out.print(_("ignored columns: {cols}").format(cols=", ".join(report.ignored_columns)),
                  style="dim", highlight=False)
    for m in report.merges[:10]:
        out.print(_("merged {alias} into {cid} (same {reason}: {value})").format(
            alias=m.alias_id, cid=m.customer_id, reason=m.reason, value=m.matched_value),
            highlight=False)
    if len(report.merges) > 10:
        out.print(_("… and {n} more merges").format(n=len(report.merges) - 10))
    if report.credit_notes:
        rules = report.credit_note_rules
        out.print(_("credit notes as returns: {base} by their base document, {latest} of "
                    "their customer's latest earlier order with enough left").format(
            base=rules.get("base", 0), latest=rules.get("latest", 0)), highlight=False)
    prefix = _("dry run, nothing written") + ": " if dry_run else ""
    out.print(prefix + report.summary(), highlight=False)
    if report.returns is not None:
        out.print(prefix + report.returns.summary(), highlight=False)
    if save_profile:
        out.print(_("saved import profile {name}: next time, --profile {name}").format(
            name=save_profile), highlight=False)


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help=_("Directory to write the tables to."),
                                          file_okay=False)],
    customers: Annotated[int, typer.Option(min=10, help=_("Customers to simulate."))] = 2000,
    seed: Annotated[int, typer.Option(help=_("Same seed, same business."))] = 42,
    fmt: Annotated[str, typer.Option("--format", help=_("csv or parquet."))] = "csv",
    force: Annotated[bool, typer.Option(help=_("Overwrite a non-empty directory."))] = False,
) -> None:
    """Write a realistic synthetic business (every table of the domain) and its ground truth."""
    with handled():
        paths = write_demo_files(out_dir, customers=customers, seed=seed, fmt=fmt, force=force)
        table = Table(title=_("demo business written to {dir}").format(dir=out_dir))
        table.add_column(_("table"))
        table.add_column(_("file"))
        for name, path in paths.items():
            table.add_row(name, str(path))
        out.print(table)


def write_demo_files(
    out_dir: Path, *, customers: int, seed: int, fmt: str, force: bool
) -> dict[str, Path]:
    from regulars.demo import DemoSpec
    from regulars.demo.files import write_demo

    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter(_("use csv or parquet"), param_hint="--format")
    with progress_bar(sys.stderr.isatty()) as progress:
        tick = None
        if progress is not None:
            def tick(done: int, total: int) -> None:
                progress(_("generating"), done, total)
        return write_demo(out_dir, DemoSpec(customers=customers, seed=seed), fmt=fmt,  # type: ignore[arg-type]
                          progress=tick, overwrite=force)


@app.command("demo")
def demo(
    customers: Annotated[int, typer.Option(min=10, help=_("Customers to simulate."))] = 2000,
    seed: Annotated[int, typer.Option(help=_("Same seed, same business."))] = 42,
    data_dir: Annotated[Path, typer.Option("--data-dir", help=_("Where the demo's files go."),
                                           file_okay=False)] = Path("demo-business"),
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """The main job on the embedded defaults: generate a demo business, import it into the
    store (SQLite by default) and show what it looks like."""
    with handled():
        settings = settings_from(config, database_url)
        out.rule(_("regulars demo"))
        paths = write_demo_files(data_dir, customers=customers, seed=seed, fmt="csv", force=True)
        out.print(_("generated a business of {n} customers in {dir}/").format(
            n=customers, dir=data_dir), highlight=False)
        for kind in IMPORT_ORDER:
            with progress_bar(sys.stderr.isatty()) as progress:
                try:
                    report = api.import_file(kind, paths[kind.value], settings=settings,
                                             progress=progress)
                except RejectedFileError as e:
                    # the generated files are valid: what refuses them is what the store holds
                    # already (another business, or a demo of an earlier version)
                    err.print(str(e), highlight=False, markup=False)
                    err.print(_("The store {url} already holds other data under the demo's "
                                "ids. Run the demo on an empty store: --database-url "
                                "sqlite:///demo.db, or remove the store's file.").format(
                                    url=settings.database_url), highlight=False, markup=False)
                    raise typer.Exit(1) from e
            out.print("  " + report.summary(), highlight=False)
        show_store(settings)
        with analysis_steps(sys.stderr.isatty()) as steps:
            result = api.analyze(config=settings, progress=steps)
        print_summary(out, result)
        html = data_dir / "report.html"
        write_report(result, html)
        out.print(_("the full report: {f}").format(f=html.resolve()), highlight=False)


def write_report(result: analysis.Analysis, path: Path) -> None:
    from regulars.entrypoints.report import render_report

    html = render_report(result.portfolio, at_risk(result.customers, 50),
                         title=_("Customer map"), as_of=result.as_of,
                         predictions=None if result.predictions is None
                         else result.predictions.describe(),
                         not_evaluated=result.not_evaluated,
                         win_back_rows=win_back(result.customers, 50))
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
        table.add_row(name, f"{n:,}")
    out.print(table)


@app.command("status")
def status(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """Show what the store holds."""
    with handled():
        show_store(settings_from(config, database_url))


@app.command("tables")
def tables() -> None:
    """List the input tables and their columns (required ones in bold)."""
    for kind in IMPORT_ORDER:
        spec = SPECS[kind]
        cols = ", ".join(f"[bold]{c.name}[/]" if c.required else c.name for c in spec.columns)
        out.print(f"[cyan]{kind}[/]: {cols}")


def files_by_kind(files: list[str], *, single_is_orders: bool = True) -> dict[str, Path]:
    """``KIND=path``, a path named after its kind (``orders.csv``), or a directory of such
    files; a single unnamed file is the orders (unless ``single_is_orders`` is false)."""
    found: dict[str, Path] = {}
    kinds = [k.value for k in Kind]

    def kind_of(path: Path) -> str | None:
        stem = path.name.split(".")[0].lower()
        return next((k for k in kinds if stem == k or stem.startswith(k + "_")
                     or stem.startswith(k + "-")), None)

    for item in files:
        kind, sep, rest = item.partition("=")
        if sep and kind in kinds:
            found[kind] = Path(rest)
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
        raise typer.BadParameter(_("write {kinds}").format(kinds=_(" or ").join(suffixes)),
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
    puts a UTF-8 byte-order mark first, for Excel)."""
    table = result.customers.to_arrow()
    with replacing(path) as tmp:
        _write_table(table, path.suffix.lower(), tmp, bom=bom)


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


def read_options(settings: api.Settings, map_: list[str] | None, date_format: str | None,
                 decimal_comma: bool | None, encoding: str | None, header: bool | None
                 ) -> api.ReadOptions:
    """How to read the orders file of a command that analyses files (analyze, backtest)."""
    return api.ReadOptions(
        header=header, encoding=encoding, mapping=parse_mapping(map_ or []),
        date_format=date_format, decimal_comma=decimal_comma, currency=settings.currency)


@app.command("analyze")
def analyze_command(
    files: Annotated[list[str] | None, typer.Argument(
        help=_("Files to analyse instead of the store: KIND=path, files named after their "
               "kind (orders.csv, customers.parquet, …), or a directory of them."),
        show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        help=_("Analyse as of this date (YYYY-MM-DD); default the day of the last order."))
    ] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help=_("Write the customer map to a .parquet or .csv file."), dir_okay=False)
    ] = None,
    excel: Annotated[bool, typer.Option(
        "--excel", help=_("With --out x.csv: start the file with a UTF-8 byte-order mark, so "
                          "that Excel shows letters such as õ, ä or ж as they are."))] = False,
    report: Annotated[Path | None, typer.Option(
        help=_("Write a self-contained HTML report."), dir_okay=False)] = None,
    period: Annotated[str | None, typer.Option(
        help=_("Period for CRR, churn and NPS: START..END (default the last 365 days)."))
    ] = None,
    flow_from: Annotated[str | None, typer.Option(
        help=_("Compare the ladder with this date (default a year before as-of)."))] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help=_("For the orders file: OUR_COLUMN=FILE_COLUMN, repeatable."))] = None,
    date_format: Annotated[str | None, typer.Option(
        help=_("For the orders file: strptime format of dates."))] = None,
    decimal_comma: Annotated[bool | None, typer.Option(
        "--decimal-comma/--decimal-point", show_default=False)] = None,
    encoding: Annotated[str | None, typer.Option(
        help=_("For the orders file (default: detected)."))] = None,
    header: Annotated[bool | None, typer.Option("--header/--no-header",
                                                show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        help=_("duckdb (default), or postgres to compute in-database on a PostgreSQL store."))
    ] = "duckdb",
    top: Annotated[int, typer.Option(help=_("Customers at risk to list."))] = 10,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """The customer map: rung, status, signals and traits of every customer, with evidence,
    and how the base is doing."""
    with handled():
        settings = settings_from(config, database_url)
        paths = files_by_kind(files or [])
        options = read_options(settings, map_, date_format, decimal_comma, encoding, header)
        moment = parse_day(as_of, "--as-of")
        since = parse_day(flow_from, "--flow-from")
        span = parse_period(period)
        check_writable(out_file, "--out", OUT_SUFFIXES)
        if excel and (out_file is None or out_file.suffix.lower() != ".csv"):
            raise typer.BadParameter(_("it is for a .csv file written with --out"),
                                     param_hint="--excel")
        check_writable(report, "--report", ())
        with analysis_steps(sys.stderr.isatty()) as steps:
            result = api.analyze(
                **paths, as_of=moment, config=settings,
                options=options, period=span, flow_from=since, engine=engine, progress=steps,
                # every customer's evidence in words only for a file of every customer; the
                # summary and the report write it for the customers they list
                words=out_file is not None)
        print_summary(out, result, top=top)
        for line in result.set_aside:  # rows of the store outside the input rules
            out.print(line, highlight=False, markup=False)
        if out_file:
            write_customers(result, out_file, bom=excel)
            out.print(_("customer map written to {f}").format(f=out_file), highlight=False)
        if report:
            write_report(result, report)
            out.print(_("report written to {f}").format(f=report), highlight=False)


def main() -> None:  # pragma: no cover - console script
    app()
