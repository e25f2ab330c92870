"""``regulars users``: create, list, disable, enable and set passwords from the shell."""

from __future__ import annotations

from typer.testing import CliRunner

from regulars.entrypoints.cli.app import app

runner = CliRunner()
PASSWORD = "correct horse battery"


def _run(url: str, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["users", *args, "--database-url", url], input=stdin)


def test_a_user_is_created_with_the_password_asked_twice_and_listed_without_it(sqlite_url):
    r = _run(sqlite_url, "create", "anna", "--role", "manager", "--manager", "Anna K",
             "--name", "Anna", "--language", "et", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "user anna (manager) created" in r.output.lower()
    listed = _run(sqlite_url, "list")
    assert listed.exit_code == 0
    assert "anna" in listed.output and "Anna K" in listed.output and "et" in listed.output
    assert PASSWORD not in listed.output and "argon2" not in listed.output


def test_a_password_from_stdin_a_short_one_refused_and_a_change(sqlite_url):
    from regulars import bootstrap

    assert _run(sqlite_url, "create", "boss", "--role", "owner", "--password-stdin",
                stdin=f"{PASSWORD}\n").exit_code == 0
    short = _run(sqlite_url, "password", "boss", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2
    assert "at least 10 characters" in short.output
    assert _run(sqlite_url, "password", "boss", "--password-stdin",
                stdin="another good password\n").exit_code == 0
    users = bootstrap.open_users(bootstrap.load_settings(database_url=sqlite_url))
    assert users.authenticate("boss", "another good password") is not None
    assert users.authenticate("boss", PASSWORD) is None


def test_disable_and_enable(sqlite_url):
    from regulars import bootstrap

    _run(sqlite_url, "create", "kassa", "--role", "cashier", "--password-stdin",
         stdin=f"{PASSWORD}\n")
    r = _run(sqlite_url, "disable", "kassa")
    assert r.exit_code == 0 and "disabled" in r.output
    users = bootstrap.open_users(bootstrap.load_settings(database_url=sqlite_url))
    assert users.authenticate("kassa", PASSWORD) is None
    assert _run(sqlite_url, "enable", "kassa").exit_code == 0
    assert users.authenticate("kassa", PASSWORD) is not None


def test_an_unknown_user_or_role_is_an_error_not_a_traceback(sqlite_url):
    r = _run(sqlite_url, "disable", "nobody")
    assert r.exit_code == 2 and "no user nobody" in r.output
    r = _run(sqlite_url, "create", "x", "--role", "emperor", "--password-stdin",
             stdin=f"{PASSWORD}\n")
    assert r.exit_code == 2
