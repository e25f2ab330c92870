"""``regulars status`` and ``regulars tables``: what the store holds, and the tables it can
hold."""

from __future__ import annotations

from regulars.domain.tables import IMPORT_ORDER, SPECS
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from, show_store
from regulars.i18n import _


@app.command("status", help=_(
    "Show what the store holds."))
def status(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        show_store(settings_from(config, database_url))


@app.command("tables", help=_(
    "List the input tables and their columns (required ones in bold)."))
def tables() -> None:
    for kind in IMPORT_ORDER:
        spec = SPECS[kind]
        cols = ", ".join(f"[bold]{c.name}[/]" if c.required else c.name for c in spec.columns)
        out.print(f"[cyan]{kind}[/]: {cols}")
