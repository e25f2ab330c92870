"""``regulars import``: files of customers, orders, returns, … into the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from regulars import api
from regulars.domain.errors import RejectedFileError
from regulars.domain.tables import IMPORT_ORDER, Kind
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import (
    app,
    files_by_kind,
    handled,
    parse_mapping,
    progress_bar,
    settings_from,
)
from regulars.i18n import _


# over 60 lines for its signature: Typer declares each option as a parameter with its help;
# the body is short
@app.command("import", help=_(
    "Load files of customers, orders, returns, invoices, interactions, feedback or referrals "
    "into the store: each file all of it, or, if any row is wrong, nothing. Several files go in "
    "that order (customers first); a rejected file stops the ones after it."))
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
    return [(kind, Path(found[kind.value])) for kind in IMPORT_ORDER if kind.value in found]


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
