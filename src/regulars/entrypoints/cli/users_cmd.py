"""``regulars users create | list | disable | enable | password``: the people who sign in to
the web pages (machines use ``regulars keys``).

Registered on ``main.app`` when imported (``app.py``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from regulars import bootstrap
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _
from regulars.services.users import ROLE_LABELS, Role, User

users_app = typer.Typer(help=_(
    "People who sign in to the web pages: create, list, disable, enable, set a password."),
    no_args_is_help=True)
app.add_typer(users_app, name="users")

LoginArg = Annotated[str, typer.Argument(help=_("The user's login (letters, digits, . _ @ -)."))]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin",
    help=_("Read the password from the first line of standard input instead of asking."))]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt(_("Password"), hide_input=True,
                            confirmation_prompt=_("Repeat the password")))


def _when(user: User) -> str:
    return f"{user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else ""


@users_app.command("create", help=_(
    "Create a user who signs in to the web pages; asks for the password (stored only as "
    "an Argon2id hash)."))
def create(
    login: LoginArg,
    role: Annotated[Role, typer.Option(help=_(
        "What the user does: owner (everything), manager (their customers and tasks), "
        "marketer (the loyalty programme), cashier (the till)."), case_sensitive=False)],
    name: Annotated[str, typer.Option(help=_("The name the pages greet them by."))] = "",
    manager: Annotated[str | None, typer.Option(help=_(
        "For a manager: their name as the customers data writes it (customers.manager)."))
    ] = None,
    language: Annotated[str | None, typer.Option(help=_(
        "The pages' language for this user: ru, et or en (default: the browser's)."))
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        users = bootstrap.open_users(settings_from(config, database_url))
        user = users.create(login, role, _password(password_stdin), name=name,
                            manager=manager, language=language)
        out.print(_("user {login} ({role}) created").format(
            login=user.login, role=_(ROLE_LABELS[user.role])), highlight=False, markup=False)


@users_app.command("list", help=_("List the users (never their passwords)."))
def list_users(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        users = bootstrap.open_users(settings_from(config, database_url))
        table = Table()
        for col in (_("login"), _("name"), _("role"), _("manager"), _("language"),
                    _("created"), _("disabled")):
            table.add_column(col)
        for u in users.list():
            table.add_row(u.login, u.name, _(ROLE_LABELS[u.role]), u.manager or "",
                          u.language or "", f"{u.created_at:%Y-%m-%d %H:%M}", _when(u))
        out.print(table)


@users_app.command("disable", help=_(
    "Stop a user from signing in; their open sessions end (within 2 seconds on a running "
    "server)."))
def disable(login: LoginArg, config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        user = bootstrap.open_users(settings_from(config, database_url)).disable(login)
        out.print(_("user {login} disabled").format(login=user.login), highlight=False,
                  markup=False)


@users_app.command("enable", help=_("Let a disabled user sign in again."))
def enable(login: LoginArg, config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        user = bootstrap.open_users(settings_from(config, database_url)).enable(login)
        out.print(_("user {login} enabled").format(login=user.login), highlight=False,
                  markup=False)


@users_app.command("password", help=_(
    "Set a user's password; asks for it. Their open sessions end: they sign in again."))
def password(login: LoginArg, password_stdin: PasswordStdinOpt = False,
             config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        users = bootstrap.open_users(settings_from(config, database_url))
        users.get(login)  # an unknown login is said before the password is asked
        user = users.set_password(login, _password(password_stdin))
        out.print(_("password of {login} set").format(login=user.login), highlight=False,
                  markup=False)
