"""``regulars keys create | list | rotate | revoke``: API keys of the HTTP API.

Registered on ``main.app`` when imported (the last lines of ``main.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from regulars import bootstrap
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _, fmt_date
from regulars.services.api.keys import Role

keys_app = typer.Typer(help=_("API keys of the HTTP API: create, list, rotate, revoke."),
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _show_new(key: str, role: str, key_id: str) -> None:
    out.print(_("API key {id} ({role}); shown this once, keep it safe:").format(
        id=key_id, role=role), highlight=False)
    out.print(key, highlight=False, markup=False)


def _moment(at: datetime) -> str:
    """When, for a person: the day the language's way and the time (``31.12.2025 09:30``)."""
    return f"{fmt_date(at)} {at:%H:%M}"


@keys_app.command("create", help=_(
    "Create a key and print it once (the store keeps only its hash)."))
def create(
    role: Annotated[Role, typer.Option(help=_("What the key may do."), case_sensitive=False)],
    name: Annotated[str, typer.Option(help=_("Who or what uses it, e.g. 'till 1'."))] = "",
    manager: Annotated[str | None, typer.Option(
        help=_("With --role manager: the manager this key belongs to; it sees and closes "
               "that manager's tasks only."), show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    if manager is not None and (role is not Role.MANAGER or not manager.strip()):
        raise typer.BadParameter(_("only a key of --role manager is bound to a manager, by "
                                   "a name that is not empty"), param_hint="--manager")
    with handled():
        ring = bootstrap.open_keys(settings_from(config, database_url))
        key, record = ring.create(role, name, manager=manager)
        _show_new(key, record["role"], record["key_id"])


@keys_app.command("list", help=_(
    "List keys (never the keys themselves)."))
def list_keys(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        ring = bootstrap.open_keys(settings_from(config, database_url))
        table = Table()
        for col in (_("key id"), _("role"), _("manager"), _("name"), _("created"),
                    _("revoked")):
            table.add_column(col)
        for r in ring.list():
            table.add_row(r["key_id"], r["role"], r.get("manager") or "", r["name"],
                          _moment(r["created_at"]),
                          _moment(r["revoked_at"]) if r["revoked_at"] else "")
        out.print(table)


@keys_app.command("rotate", help=_(
    "Replace a key with a new one of the same role; the old one stops working."))
def rotate(
    key_id: Annotated[str, typer.Argument(help=_("The key id (from `regulars keys list`)."))],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        ring = bootstrap.open_keys(settings_from(config, database_url))
        key, record = ring.rotate(key_id)
        _show_new(key, record["role"], record["key_id"])


@keys_app.command("revoke", help=_(
    "Stop a key from working (a running server notices within 2 seconds)."))
def revoke(
    key_id: Annotated[str, typer.Argument(help=_("The key id (from `regulars keys list`)."))],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        ring = bootstrap.open_keys(settings_from(config, database_url))
        ring.revoke(key_id)
        out.print(_("API key {id} revoked").format(id=key_id), highlight=False)
