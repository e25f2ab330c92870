"""``regulars config``: see the settings in effect, and start a ``regulars.toml``."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, SecretStr
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regulars.config import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_FILE,
    ConfigError,
    SettingValue,
    effective_settings,
    load_settings,
    settings_reference,
)
from regulars.i18n import _

config_app = typer.Typer(
    name="config",
    help=_("Show the settings in effect, or write a regulars.toml to start from."),
    no_args_is_help=True,
)

# What a commented-out line shows for a setting that is unset by default.
_EXAMPLES: dict[str, str] = {"import.blacklist": '"junk-leads.txt"',
                             "web.secret_key": '"a random string of 32 characters or more"'}


@config_app.command("show", help=_(
    "Print every setting: its value, where the value comes from, and what it means."))
def show(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help=_("TOML file to read instead of ./regulars.toml or the one {var} names.").format(
                var=CONFIG_ENV_VAR
            ),
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print JSON instead of a table."))
    ] = False,
) -> None:
    try:
        values = effective_settings(load_settings(config))
    except ConfigError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([_as_json(v) for v in values], indent=2, ensure_ascii=False))
        return
    table = Table(title=_("regulars settings"), show_lines=False)
    table.add_column(_("key"), no_wrap=True)
    table.add_column(_("value"))
    table.add_column(_("source"))
    table.add_column(_("description"))
    for v in values:
        # Text, not str: descriptions mention [import] and Rich would read that as markup
        table.add_row(
            Text(v.key),
            Text(_display(v.value), style="bold" if v.source != "default" else ""),
            Text(v.source if v.source != "default" else _("default")),
            Text(_(v.doc)),
        )
    Console().print(table)


@config_app.command("init", help=_(
    "Write a regulars.toml with every setting at its default, each explained in a comment."))
def init(
    path: Annotated[
        Path,
        typer.Argument(help=_("File to write."), dir_okay=False),
    ] = DEFAULT_CONFIG_FILE,
    force: Annotated[
        bool, typer.Option("--force", help=_("Overwrite the file if it exists."))
    ] = False,
) -> None:
    if path.exists() and not force:
        _fail(_("{path} already exists; use --force to overwrite it").format(path=path))
    try:
        path.write_text(render_toml(settings_reference()), encoding="utf-8")
    except OSError as exc:
        _fail(_("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc))
    typer.echo(_("Wrote {path}.").format(path=path))


def render_toml(values: list[SettingValue]) -> str:
    """A commented TOML file setting every key of ``values`` (sections as TOML tables)."""
    lines = [
        *_comment(
            _(
                "The settings of regulars for this business. Every setting is written at its "
                "built-in default: change what your business needs, delete the rest."
            )
        ),
        *_comment(
            _(
                "Environment variables win over this file: REGULARS_<KEY>, or "
                "REGULARS_<SECTION>__<KEY> for a key in a section "
                "(REGULARS_ANALYSIS__REGULAR_MIN_ORDERS=4)."
            )
        ),
        *_comment(_("`regulars config show` prints the values in effect and their source.")),
    ]
    section: str | None = None
    for v in values:
        table, _dot, name = v.key.rpartition(".")
        lines.append("")
        if table and table != section:
            section = table
            lines += [f"[{table}]", ""]
        lines += _comment(_(v.doc))
        if v.value is None:
            lines.append(f"# {name} = {_EXAMPLES.get(v.key, '')}".rstrip())
        else:
            lines.append(f"{name} = {_toml_value(v.value)}")
    return "\n".join(lines) + "\n"


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, width=96)] or ["#"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON string escapes are valid in TOML basic strings
    return json.dumps(str(value), ensure_ascii=False)


def _display(value: Any) -> str:
    return "—" if value is None else str(value)


def _as_json(v: SettingValue) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, BaseModel):  # an item of a list setting ([loyalty] tiers, …)
            return value.model_dump(mode="json", exclude_none=True)
        if isinstance(value, date):  # [input] earliest_date
            return value.isoformat()
        # a secret ([web] secret_key) as its stars: str() of a SecretStr
        return str(value) if isinstance(value, Path | Decimal | SecretStr) else value

    return {
        "key": v.key,
        "value": plain(v.value),
        "source": v.source,
        "description": v.doc,
        "default": plain(v.default),
    }


def _fail(message: str) -> NoReturn:
    typer.echo(_("Error: {message}").format(message=message), err=True)
    raise typer.Exit(code=1)
