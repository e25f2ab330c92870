"""What the ``regulars points`` commands share: their options, the loyalty service they act
through (as the CLI's caller, so each write is audited with channel ``cli``), the exit codes
of its refusals, and how a result is printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from regulars import api
from regulars.domain.errors import ConfigError, InputError, RegularsError, StoreError
from regulars.domain.loyalty.errors import LoyaltyError, RunMomentError
from regulars.entrypoints.cli.common import fail, out, remember_store
from regulars.i18n import _
from regulars.services.audit import Caller, acting_as
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.results import to_json

AtOpt = Annotated[
    str | None,
    typer.Option("--at", help=_("When, as ISO 8601 (local time of the programme unless it "
                                "names a zone); default now."), show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help=_("Print JSON."))]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help=_("Show, member by member, what the run would take and change; write "
                        "nothing."))]


# the command being run (``regulars points run``), set by the group's callback in points.py
COMMAND: ContextVar[str] = ContextVar("regulars_points_command", default="")


def cli_caller() -> Caller:
    """The command line's caller: the OS user, and the command (``regulars points run``)."""
    return Caller.cli(COMMAND.get())


@contextmanager
def handled() -> Iterator[None]:
    """The programme's refusals and the store's failures as exit codes (module docstring of
    ``points``), with every use case inside acting as the CLI's caller."""
    try:
        with acting_as(cli_caller()):
            yield
    except RunMomentError as e:
        fail(str(e), 2)  # a bad --at: a usage error
    except LoyaltyError as e:
        fail(str(e), 1)
    except (ConfigError, InputError) as e:
        fail(str(e), 2)
    except StoreError as e:
        fail(str(e), 3)
    except RegularsError as e:
        fail(str(e), 2)


@contextmanager
def loyalty_service(config: Path | None, database_url: str | None) -> Iterator[LoyaltyService]:
    overrides = {"database_url": database_url} if database_url else {}
    with handled():
        settings = api.load_settings(config, **overrides)
        remember_store(settings.database_url)
        with api.open_loyalty(settings) as svc:
            yield svc


def moment(service: LoyaltyService, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(_("expected ISO 8601, e.g. 2026-03-01T12:00"),
                                 param_hint="--at") from None
    return at if at.tzinfo else at.replace(tzinfo=service.programme.tz)


def amount_of(text: str, hint: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise typer.BadParameter(_("expected an amount such as 12.50"), param_hint=hint) from None
    if not value.is_finite():
        raise typer.BadParameter(_("expected an amount such as 12.50"), param_hint=hint)
    return value


def show(result: Any, as_json: bool, line: str) -> None:
    if as_json:
        typer.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
        return
    if getattr(result, "replayed", False):
        line += "  " + _("(already done: nothing changed)")
    out.print(line, highlight=False)
