"""What every command of the CLI shares: the consoles, the --config and --database-url
options, and how an error ends a command (a failing store included, for every command at once:
:class:`Commands`)."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from regulars import bootstrap
from regulars.domain.errors import StoreRefusedValueError, StoreUnavailableError
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


_store_url: ContextVar[str | None] = ContextVar("regulars_store_url", default=None)


def remember_store(url: str) -> None:
    """Note the store a command uses, so that a failure of it can name it (without password)."""
    _store_url.set(url)


class Commands(TyperGroup):
    """The ``regulars`` group: a store that fails under any command (disk full, read-only,
    locked, server unreachable, login refused, missing) ends it with one sentence and exit
    code 3, a value the database refused with exit code 2, never with a driver's traceback.
    Commands turn regulars' own errors into messages themselves (``handled``); this catches
    what reaches it from the drivers."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        token = _store_url.set(None)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise  # a command that ended itself, a message printed
        except Exception as e:
            if type(e).__module__.startswith(("typer", "click")):
                raise  # a usage error: click says it
            failure = bootstrap.store_failure(e, _store_url.get())
            if isinstance(failure, StoreUnavailableError):
                fail(str(failure), 3)
            if isinstance(failure, StoreRefusedValueError):
                fail(str(failure), 2)
            raise
        finally:
            _store_url.reset(token)
