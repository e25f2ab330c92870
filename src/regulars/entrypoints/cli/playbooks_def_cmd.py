"""``regulars playbooks list | show | validate | preview``: the playbooks a business has, in
words, checked, and a playbook's messages rendered for one customer (issue 20).

Added to :data:`~regulars.entrypoints.cli.playbooks_cmd.playbooks_app` when imported
(``app.py``'s import list).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api, bootstrap
from regulars.domain.playbooks.parse import PlaybooksInvalid
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import handled, settings_from
from regulars.entrypoints.cli.playbooks_cmd import playbooks_app
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.playbooks import describe as words
from regulars.services.playbooks.definitions import Library
from regulars.services.playbooks.shipped_words import shown


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help=_("How to print it."),
                                           case_sensitive=False)]
NameArg = Annotated[str, typer.Argument(help=_("The playbook's name (from `regulars playbooks "
                                               "list`)."))]


@contextmanager
def _invalid_exits_1() -> Iterator[None]:
    """Every problem of the playbooks on stderr, one a line, and exit code 1."""
    try:
        yield
    except PlaybooksInvalid as exc:
        n = len(exc.errors)
        err.print(ngettext("{n} problem in the playbooks:", "{n} problems in the playbooks:",
                           n).format(n=fmt_number(n)), highlight=False, markup=False)
        for error in exc.errors:
            err.print(str(error), highlight=False, markup=False)
        raise typer.Exit(1) from None


def _library(config: Path | None, files: list[Path] | None = None) -> Library:
    settings = settings_from(config, None)
    return bootstrap.playbook_library(settings, files)


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


@playbooks_app.command("list", help=_(
    "List every playbook: the shipped sets, the business's own files and regulars.toml's "
    "own, with whether each runs."))
def list_playbooks(fmt: FormatOpt = Format.TABLE, config: ConfigOpt = None) -> None:
    with handled(), _invalid_exits_1():
        library = _library(config)
        if fmt is Format.JSON:
            out.print_json(json.dumps([words.playbook_data(library, p, steps=False)
                                       for p in library.playbooks.values()]))
            return
        # one table a set (its name the title), so that the names, typed back into `show`,
        # keep a line of their own at 80 columns
        sets: dict[str, list[Any]] = {}
        for p in library.playbooks.values():
            sets.setdefault(p.set, []).append(p)
        for name, books in sets.items():
            table = Table(title=ngettext("{set}: {n} playbook", "{set}: {n} playbooks",
                                         len(books)).format(set=name, n=fmt_number(len(books))))
            table.add_column(_("name"), no_wrap=True)
            for column in (_("title"), _("trigger"), _("runs"), _("steps")):
                table.add_column(column, overflow="fold")
            for p in books:
                table.add_row(p.name, shown(p.title), words.trigger_words(p.trigger),
                              _yes(library.is_enabled(p.name)), fmt_number(len(p.steps)))
            out.print(table)
        if not library.enabled_sets:
            out.print(_("Nothing runs until a set is switched on: [playbooks] enabled = "
                        "[\"communication_plan\", \"retention\"]."), highlight=False,
                      markup=False)


@playbooks_app.command("show", help=_("Show one playbook in words: its trigger, conditions, "
                                      "goal and steps."))
def show(name: NameArg, fmt: FormatOpt = Format.TABLE, config: ConfigOpt = None) -> None:
    with handled(), _invalid_exits_1():
        library = _library(config)
        p = library.get(name)
        if fmt is Format.JSON:
            out.print_json(json.dumps(words.playbook_data(library, p)))
            return
        lines = [
            (_("playbook"), f"{p.name}: {shown(p.title)}"),
            (_("set"), p.set),
            (_("runs"), _yes(library.is_enabled(p.name))),
            (_("trigger"), words.trigger_words(p.trigger)),
            (_("conditions"), words.condition_words(p.conditions)),
            (_("goal"), words.goal_words(p)),
            (_("re-entry"), words.reentry_words(p)),
            (_("leaves when no longer matching"), _yes(p.exit_when_unmatched)),
            (_("control group"), words.share_words(library.control_share_of(p))),
            (_("file"), p.source),
        ]
        for label, value in lines:
            out.print(f"{label}: {value}", highlight=False, markup=False)
        if p.description:
            out.print(shown(p.description), highlight=False, markup=False)
        table = Table(title=_("steps"))
        for column in ("#", _("step"), _("what it does")):
            table.add_column(column)
        for number, step in enumerate(p.steps, start=1):
            table.add_row(fmt_number(number), step.id, words.step_words(step))
        out.print(table)


@playbooks_app.command("validate", help=_(
    "Check the playbooks (and FILES, playbooks files not yet named in [playbooks] files): "
    "exit 1 with every problem, naming file, playbook and step."))
def validate(
    files: Annotated[list[Path] | None, typer.Argument(
        help=_("Playbooks files to check with the others."), dir_okay=False,
        show_default=False)] = None,
    config: ConfigOpt = None,
) -> None:
    with handled(), _invalid_exits_1():
        library = _library(config, list(files or []))
        n = len(library.playbooks)
        out.print(ngettext("{n} playbook valid", "{n} playbooks valid", n).format(
            n=fmt_number(n)), highlight=False, markup=False)


@playbooks_app.command("preview", help=_(
    "Render each message of a playbook for one customer, from the store: nothing is sent."))
def preview(
    name: NameArg,
    customer: Annotated[str, typer.Option("--customer", help=_("The customer's id."))],
    language: Annotated[str | None, typer.Option(
        "--language", help=_("The message's language (default the customer's)."),
        show_default=False)] = None,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled(), _invalid_exits_1():
        settings = settings_from(config, database_url)
        messages = api.preview_playbook(name, customer, language=language, settings=settings)
        if fmt is Format.JSON:
            out.print_json(json.dumps(messages))
            return
        if not messages:
            out.print(_("This playbook sends no messages."), highlight=False, markup=False)
        for message in messages:
            out.rule(_("step {step}: {template} by {channel} ({language})").format(
                step=message["step"], template=message["template"],
                channel=message["channel"], language=message["language"] or "-"))
            if message["problem"]:
                err.print(_("not rendered: {problem}").format(problem=message["problem"]),
                          highlight=False, markup=False)
                continue
            if message["subject"] is not None:
                out.print(_("Subject: {subject}").format(subject=message["subject"]),
                          highlight=False, markup=False)
            out.print(message["text"], highlight=False, markup=False)
