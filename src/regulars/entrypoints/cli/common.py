"""What every command of the CLI shares: the consoles, the --config and --database-url
options, and how an error ends a command (a failing store included, for every command at once:
:class:`Commands`)."""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import UsageError

from regulars import bootstrap
from regulars.domain.errors import StoreRefusedValueError, StoreUnavailableError
from regulars.entrypoints.cli.language import chosen_language
from regulars.entrypoints.cli.words import Group, speak, translated_error
from regulars.i18n import LANGUAGES, _, fmt_list, normalise_language, use_language

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
    label = _("error")  # a call of its own: Babel does not read inside an f-string
    # the message is text, not markup: "[messages] secret" must not vanish as a tag
    err.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


_store_url: ContextVar[str | None] = ContextVar("regulars_store_url", default=None)


def remember_store(url: str) -> None:
    """Note the store a command uses, so that a failure of it can name it (without password)."""
    _store_url.set(url)


def _check_language(value: str | None) -> str | None:
    """``--lang`` (or ``REGULARS_LANG``): a language regulars speaks, else a usage error naming
    the languages it speaks. The run is already in it (:meth:`Commands.main`)."""
    if not value:
        return None
    lang = normalise_language(value)
    if lang is None:
        raise typer.BadParameter(_("regulars does not speak '{value}'; it speaks {languages}"
                                   ).format(value=value, languages=fmt_list(LANGUAGES)))
    return lang


LangOpt = Annotated[
    str | None,
    typer.Option("--lang", envvar="REGULARS_LANG", metavar="ru|et|en", is_eager=True,
                 callback=_check_language, show_default=False,
                 help=_("The language regulars speaks: ru, et or en (default: REGULARS_LANG, "
                        "else the system's language, else English). Files written with --out "
                        "and JSON are the same in every language.")),
]


def _raise_translated(error: Exception) -> NoReturn:
    said = translated_error(error)
    if said is error:
        raise error
    raise said from None


class Commands(Group):
    """The ``regulars`` group: a store that fails under any command (disk full, read-only,
    locked, server unreachable, login refused, missing) ends it with one sentence and exit
    code 3, a value the database refused with exit code 2, never with a driver's traceback.
    Commands turn regulars' own errors into messages themselves (``handled``); this catches
    what reaches it from the drivers.

    It also speaks the reader's language: a run (``main``) is in the language ``--lang`` or
    ``REGULARS_LANG`` asks for, in a context of its own (the language ends with it), and
    Typer's words and usage errors (a missing option, a bad value) are said in it
    (:mod:`.words`)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        lang = chosen_language(argv, os.environ)

        def run() -> Any:
            with use_language(lang):
                speak()
                return super(Commands, self).main(
                    argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)

        return contextvars.copy_context().run(run)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as e:
            _raise_translated(e)

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        token = _store_url.set(None)
        try:
            return super().invoke(ctx)
        except UsageError as e:
            _raise_translated(e)
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
