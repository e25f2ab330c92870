"""``regulars customers erase``: the right to erasure, for a business without the HTTP API.

Registered on ``main.app`` when imported (the last lines of ``main.py``).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, fail, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _

customers_app = typer.Typer(help=_("The customers' privacy rights: erase a customer."),
                            no_args_is_help=True)
app.add_typer(customers_app, name="customers")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


@customers_app.command("erase", help=_(
    "Erase a customer's personal data: name, e-mail, phone, birthday, tags, their feedback, "
    "interaction and return texts, and every mention of them in other text. Orders, amounts and "
    "scores stay, anonymous. It cannot be undone; it is recorded in the audit log.\n\n"
    "Exit codes: 0 erased; 1 no such customer; 2 not confirmed; 3 the store cannot be used."))
def erase(
    customer_id: Annotated[str, typer.Argument(help=_("The customer's id (a merged card's id "
                                                      "erases the card it was merged into)."))],
    actor: Annotated[str | None, typer.Option(
        help=_("Who asks, for the audit log (default the system user)."),
        show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        if not yes and not typer.confirm(
                _("Erase the personal data of customer {id}? This cannot be undone.").format(
                    id=customer_id)):
            fail(_("not erased"), 2)
        done = api.erase_customer(settings, customer_id, actor=actor or _who())
        if done is None:
            fail(_("no customer {id} in the store").format(id=customer_id), 1)
        counts = ", ".join(f"{k} {v}" for k, v in done["erased"].items() if v)
        out.print(_("customer {id} erased ({counts}); recorded in the audit log").format(
            id=done["customer_id"], counts=counts or _("nothing personal was stored")),
            highlight=False)
