"""``regulars points programme``: the programme's versions, and making the settings file its
source again once it was edited on the web (``adopt-file``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.points_common import cli_caller, loyalty_service
from regulars.i18n import _, fmt_date
from regulars.services.loyalty.programmes import version_changes

programme_app = typer.Typer(
    name="programme",
    help=_("The programme's versions: where its rules come from (the settings file or the "
           "web pages), who changed them and what changed."),
    no_args_is_help=True,
)


def _source(source: str | None) -> str:
    return _("web") if source == "web" else _("file")


@programme_app.command("versions", help=_("List the programme's versions and what each "
                                           "changed."))
def versions(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with loyalty_service(config, database_url) as svc:
        all_versions = svc.versions()
        changes = version_changes(all_versions)
        table = Table(title=_("programme versions"))
        for col in (_("version"), _("from"), _("source"), _("by"), _("note"), _("changes")):
            table.add_column(col)
        for v in all_versions:
            table.add_row(str(v.number),
                          fmt_date(svc.programme.local(v.effective_from).date()),
                          _source(v.source), v.author or "", v.note or "",
                          "\n".join(changes.get(v.number, [])))
        out.print(table)
        if svc.file_differs:
            out.print(_("The settings file's loyalty section differs from the newest version, made "
                        "on the web: it is not applied (`regulars points programme "
                        "adopt-file` applies it)."), highlight=False)


@programme_app.command("adopt-file", help=_(
    "Apply the settings file's loyalty section again, as a new version, after the programme was "
    "edited on the web: the file is its source from then on."))
def adopt_file(
    note: Annotated[str | None, typer.Option(help=_("Why (kept with the version)."))] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        before = svc.newest_version()
        v = svc.adopt_file(author=cli_caller().actor, note=note)
        out.print(_("version {n}: the settings file's programme, in force from {day}").format(
            n=v.number, day=fmt_date(svc.programme.local(v.effective_from).date())),
            highlight=False)
        for line in version_changes([before, v]).get(v.number, []):
            out.print("  " + line, highlight=False)
