"""What every command of the CLI shares: the consoles, the --config and --database-url
options, and how an error ends a command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from regulars.i18n import _

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help=_("The business's TOML settings (default ./regulars.toml)."),
                 dir_okay=False),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help=_("Store URL (default sqlite:///regulars.db, "
                                          "or REGULARS_DATABASE_URL)."), show_default=False),
]


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr and end the command with ``code``."""
    err.print(f"[bold red]{_('error')}:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)
