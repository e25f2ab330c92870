"""Typer's and Click's own words (Usage:, Options, "Show this message and exit.", "Missing
option", "Invalid value for", …) in the reader's language.

Typer (0.29) carries its own copy of Click, whose words are plain English, not gettext calls,
and a few gettext calls of its own on the process-wide default domain. So regulars says them
itself, through its own catalogue and the language of the use (:func:`regulars.i18n._`):

- the help panels' titles and tags are module constants of ``typer.rich_utils``, read when a
  help page or an error is printed: :func:`speak` sets them in the current language;
- the usage line's prefix and the ``--help`` option's help: :class:`Command` and
  :class:`Group`, the classes every command of regulars is built with (:func:`built_with`);
- a usage error (a missing option, a bad value, an unknown option or command): its English
  sentence is read back into the catalogue's (:func:`translated_error`) before it is shown.

The msgids are listed here with ``N_`` so that extraction puts them in the catalogue; where
Typer's wording changes, the sentence is shown in English rather than wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

from regulars.i18n import N_, _

# typer.rich_utils' constants, by name: what each says in English (its msgid here)
RICH_WORDS: dict[str, str] = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "DEPRECATED_STRING": N_("(deprecated) "),
    # TRANSLATORS: {} is the default value, as the help shows it
    "DEFAULT_STRING": N_("[default: {}]"),
    # TRANSLATORS: {} is the name of an environment variable
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    # TRANSLATORS: keep the [blue] and [/] marks: they colour the command
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}

USAGE = N_("Usage: ")
HELP = N_("Show this message and exit.")
# the completion options Typer adds to the root command
COMPLETION_HELP: dict[str, str] = {
    "install_completion": N_("Install completion for the current shell."),
    "show_completion": N_("Show completion for the current shell, to copy it or customize "
                          "the installation."),
}


def speak() -> None:
    """Typer's help panels and error box in the current language (from now on, in this
    process: the constants are Typer's module's)."""
    for name, msgid in RICH_WORDS.items():
        setattr(rich_utils, name, _(msgid))


# --- usage errors ------------------------------------------------------------------------------

# (English pattern of Typer's sentence, its msgid): the first that matches the whole sentence
# says it; the named groups are the msgid's placeholders
_SENTENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Missing option (?P<name>.+?)\.(?P<rest>(?:\s.*)?)", re.S),
     N_("Missing option {name}.")),
    (re.compile(r"Missing argument (?P<name>.+?)\.(?P<rest>(?:\s.*)?)", re.S),
     N_("Missing argument {name}.")),
    (re.compile(r"Missing parameter (?P<name>.+?)\.(?P<rest>(?:\s.*)?)", re.S),
     N_("Missing parameter {name}.")),
    (re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)", re.S),
     N_("No such option: {name} (did you mean {options}?)")),
    (re.compile(r"No such option: (?P<name>\S+)", re.S), N_("No such option: {name}")),
    (re.compile(r"No such command (?P<name>.+)\.", re.S), N_("No such command {name}.")),
    (re.compile(r"Missing command\.", re.S), N_("Missing command.")),
    (re.compile(r"Option (?P<name>'[^']+') requires an argument\.", re.S),
     N_("Option {name} requires a value.")),
    (re.compile(r"Option (?P<name>'[^']+') does not take a value\.", re.S),
     N_("Option {name} does not take a value.")),
    (re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", re.S),
     N_("Unexpected extra arguments: {args}")),
    (re.compile(r"Invalid value for (?P<name>.+?): (?P<message>.*)", re.S),
     N_("Invalid value for {name}: {message}")),
    (re.compile(r"Invalid value: (?P<message>.*)", re.S), N_("Invalid value: {message}")),
]

# what Typer (through pydantic) says of a value it could not read, inside "Invalid value for"
_VALUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Input should be a valid integer.*", re.S), N_("expected a whole number")),
    (re.compile(r"Input should be a valid number.*", re.S), N_("expected a number")),
    (re.compile(r"Input should be a valid boolean.*", re.S), N_("expected yes or no")),
    (re.compile(r"Input should be greater than or equal to (?P<n>\S+)", re.S),
     N_("expected at least {n}")),
    (re.compile(r"Input should be less than or equal to (?P<n>\S+)", re.S),
     N_("expected at most {n}")),
    (re.compile(r"(?:Value error, )?(?P<value>'.*') is not one of (?P<choices>.+)\.", re.S),
     N_("{value} is not one of {choices}.")),
]

_CHOOSE = re.compile(r"\s*Choose from:\s*(?P<choices>.+)", re.S)


def _say(patterns: list[tuple[re.Pattern[str], str]], text: str,
         inner: Callable[[str], str] = str) -> str | None:
    for pattern, msgid in patterns:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        parts = m.groupdict()
        rest = parts.pop("rest", "") or ""
        if "message" in parts:
            parts["message"] = inner(parts["message"])
        said = _(msgid).format(**parts)
        if rest and (choose := _CHOOSE.fullmatch(rest)):
            choices = ", ".join(c.strip() for c in choose["choices"].split(",") if c.strip())
            said += " " + _("Choose from: {choices}").format(choices=choices)
        elif rest:
            said += rest
        return said
    return None


def _value(message: str) -> str:
    return _say(_VALUES, message) or message


def translated_error(error: typer.BadParameter | Any) -> Any:
    """``error`` (a Click exception) as it reads in the current language: a usage error with the
    same context and exit code, or ``error`` itself when its sentence is not one of Typer's
    that regulars knows (a command's own message is in the reader's language already)."""
    from typer._click.exceptions import UsageError

    if not isinstance(error, UsageError):
        return error
    said = _say(_SENTENCES, error.format_message(), _value)
    if said is None:
        return error
    usage = UsageError(said, ctx=error.ctx)
    usage.exit_code = error.exit_code
    return usage


# --- the classes every command is built with --------------------------------------------------


class _Words:
    """The usage line and the ``--help`` option in the current language."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_(USAGE))

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _(HELP)
        return option


class Command(_Words, TyperCommand):
    """A regulars command: Typer's, speaking the reader's language."""


class Group(_Words, TyperGroup):
    """A group of regulars commands (``points``, ``config``, …), speaking the reader's
    language."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        for param in params:
            if param.name in COMPLETION_HELP and hasattr(param, "help"):
                param.help = _(COMPLETION_HELP[param.name])
        return params


def built_with(app: typer.Typer, command: type[TyperCommand] = Command,
               group: type[TyperGroup] = Group) -> None:
    """Every command and group registered under ``app`` that names no class of its own (or
    Typer's default) is built with regulars' (Typer's own ``cls=``, set once for all)."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand) or isinstance(info.cls, DefaultPlaceholder):
            info.cls = command
    for sub in app.registered_groups:
        instance = sub.typer_instance
        if instance is None:
            continue
        if instance.info.cls in (None, TyperGroup) or isinstance(instance.info.cls,
                                                                   DefaultPlaceholder):
            instance.info.cls = group
        built_with(instance, command, group)
