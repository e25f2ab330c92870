"""``regulars demo-data`` and ``regulars demo``: a synthetic business, written and shown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regulars import api
from regulars.domain.errors import RejectedFileError
from regulars.domain.tables import IMPORT_ORDER
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import (
    analysis_steps,
    app,
    handled,
    progress_bar,
    settings_from,
    show_store,
    write_report,
)
from regulars.entrypoints.cli.summary import print_summary
from regulars.i18n import _, fmt_number, ngettext


@app.command("demo-data", help=_(
    "Write a realistic synthetic business (every table of the domain) and its ground truth."))
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help=_("Directory to write the tables to."),
                                          file_okay=False)],
    customers: Annotated[int, typer.Option(min=10, help=_("Customers to simulate."))] = 2000,
    seed: Annotated[int, typer.Option(help=_("Same seed, same business."))] = 42,
    fmt: Annotated[str, typer.Option("--format", help=_("csv or parquet."))] = "csv",
    force: Annotated[bool, typer.Option(help=_("Overwrite a non-empty directory."))] = False,
) -> None:
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


@app.command("demo", help=_(
    "The main job on the embedded defaults: generate a demo business, import it into the store "
    "(SQLite by default) and show what it looks like."))
def demo(
    customers: Annotated[int, typer.Option(min=10, help=_("Customers to simulate."))] = 2000,
    seed: Annotated[int, typer.Option(help=_("Same seed, same business."))] = 42,
    data_dir: Annotated[Path, typer.Option("--data-dir", help=_("Where the demo's files go."),
                                           file_okay=False)] = Path("demo-business"),
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        out.rule(_("regulars demo"))
        paths = write_demo_files(data_dir, customers=customers, seed=seed, fmt="csv", force=True)
        out.print(ngettext("generated a business of {n} customer in {dir}/",
                           "generated a business of {n} customers in {dir}/", customers).format(
            n=fmt_number(customers), dir=data_dir), highlight=False)
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
        print_summary(out, result, currency=settings.currency)
        html = data_dir / "report.html"
        write_report(result, html)
        out.print(_("the full report: {f}").format(f=html.resolve()), highlight=False)
