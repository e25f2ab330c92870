"""``regulars profiles list | show | delete``: the saved import profiles of the store.

A profile is saved by ``regulars import … --save-profile NAME`` and used by ``--profile NAME``.
Registered on ``main.app`` when imported (the last lines of ``main.py``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, fail, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _

profiles_app = typer.Typer(
    help=_("Saved import profiles (--save-profile, --profile): list, show, delete."),
    no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")

NameArg = Annotated[str, typer.Argument(help=_("The profile's name."), show_default=False)]


@profiles_app.command("list", help=_(
    "The saved profiles: name, kind of file, columns mapped, when saved."))
def list_profiles(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        saved = api.import_profiles(settings_from(config, database_url))
    if not saved:
        out.print(_("no import profiles; save one with regulars import … --save-profile NAME"))
        return
    table = Table(_("name"), _("kind"), _("columns"), _("saved"))
    for p in saved:
        mapping = p["options"].get("mapping", {})
        table.add_row(p["name"], p["kind"] or "", ", ".join(
            f"{theirs} → {ours}" for ours, theirs in mapping.items()),
            str(p["updated_at"])[:19])
    out.print(table)


@profiles_app.command("show", help=_(
    "A profile's options, as JSON."))
def show(name: NameArg, config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        found = api.import_profile(name, settings_from(config, database_url))
    if found is None:
        fail(_("no import profile '{name}'").format(name=name), 1)
    typer.echo(json.dumps({"name": found["name"], "kind": found["kind"],
                           "options": found["options"]}, ensure_ascii=False, indent=2))


@profiles_app.command("delete", help=_(
    "Forget a profile."))
def delete(name: NameArg, config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        gone = api.delete_import_profile(name, settings_from(config, database_url))
    if not gone:
        fail(_("no import profile '{name}'").format(name=name), 1)
    out.print(_("deleted import profile {name}").format(name=name), highlight=False)
