"""``regulars playbooks list | show | validate | preview`` through the CLI runner (issue 20):
the shipped sets listed, a broken file refused with exit 1 naming file, playbook and step,
and a playbook's messages rendered for a customer of a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regulars import bootstrap
from regulars.domain.tables import Kind
from regulars.entrypoints.cli.app import app

runner = CliRunner()

BROKEN = """
[playbook.thank_you]
title = "Thank a first-time buyer"
trigger = { kind = "event", event = "first_order" }
[[playbook.thank_you.steps]]
id = "later"
kind = "wait"
days = "x"
[[playbook.thank_you.steps]]
id = "thanks"
kind = "send"
channel = "email"
template = "thanks"
[[playbook.thank_you.steps]]
id = "loop"
kind = "branch"
condition = { all = [ { field = "orders", lt = 2 } ] }
then = "later"
[template.thanks.en]
subject = "Thank you"
text = "Thanks, {{ customer.favourite_colour }}"
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGULARS_CONFIG", raising=False)
    return tmp_path


def _run(*args: object) -> object:
    from regulars.entrypoints.cli.common import out

    width = out.width
    out.width = 250  # the table's columns whole, as on a wide terminal
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        out.width = width


def test_list_shows_the_shipped_sets_switched_off_until_enabled(here: Path) -> None:
    listed = _run("playbooks", "list")
    assert listed.exit_code == 0, listed.output
    assert "communication_plan: 7 playbooks" in listed.output
    assert "retention: 5 playbooks" in listed.output
    assert "3 days before the holiday new_year" in listed.output
    assert "when the signal detractor is raised" in listed.output
    assert "Nothing runs until a set is switched on" in listed.output
    (here / "regulars.toml").write_text('[playbooks]\nenabled = ["retention"]\n',
                                        encoding="utf-8")
    rows = json.loads(_run("playbooks", "list", "--format", "json").output)
    runs = {r["name"]: r["enabled"] for r in rows}
    assert runs["overdue_reminder"] is True and runs["new_year_greeting"] is False
    assert "steps" not in rows[0] and rows[0]["steps_count"] == 2


def test_show_tells_a_playbook_in_words_and_as_data(here: Path) -> None:
    shown = _run("playbooks", "show", "detractor_apology")
    assert shown.exit_code == 0, shown.output
    assert "trigger: when the signal detractor is raised" in shown.output
    assert "goal: an order within 30 days" in shown.output
    assert ("a task for the manager: call the detractor, by phone, due in 2 days"
            in shown.output)
    data = json.loads(_run("playbooks", "show", "win_back_valuable", "--format", "json").output)
    assert data["reentry"] == "never"
    assert data["steps"][0] == {"kind": "wait", "id": "next_morning", "days": 1, "hours": 0,
                                "until": "10:00"}
    missing = _run("playbooks", "show", "nope")
    assert missing.exit_code == 2 and "unknown playbook 'nope'" in missing.output


def test_validate_refuses_a_broken_file_naming_file_playbook_and_step(here: Path) -> None:
    (here / "mine.toml").write_text(BROKEN, encoding="utf-8")
    result = _run("playbooks", "validate", "mine.toml")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "2 problems in the playbooks:"
    assert lines[1:] == [
        "mine.toml: playbook \"thank_you\", step \"later\": days must be a whole number, "
        "not 'x'",
        "mine.toml: playbook \"thank_you\", step \"loop\": branch back to step 'later': a "
        "cycle in branches (a branch may only jump forward)",
    ]
    (here / "mine.toml").write_text(BROKEN.replace('days = "x"', "days = 2"), encoding="utf-8")
    result = _run("playbooks", "validate", "mine.toml")
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "mine.toml: playbook \"thank_you\", step \"loop\": branch back to step 'later': a "
        "cycle in branches (a branch may only jump forward)",
    ]
    (here / "mine.toml").write_text(BROKEN.replace('days = "x"', "days = 2").replace(
        'then = "later"', 'then = "end"\n[[playbook.thank_you.steps]]\nid = "end"\nkind = '
        '"exit"'), encoding="utf-8")
    result = _run("playbooks", "validate", "mine.toml")
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "mine.toml: playbook \"thank_you\", step \"thanks\": template \"thanks\" (en): text: "
        "unknown template variable customer.favourite_colour"]
    (here / "mine.toml").write_text(BROKEN.replace('days = "x"', "days = 2").replace(
        'then = "later"', 'then = "end"\n[[playbook.thank_you.steps]]\nid = "end"\nkind = '
        '"exit"').replace("customer.favourite_colour", "customer.first_name"),
        encoding="utf-8")
    result = _run("playbooks", "validate", "mine.toml")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "13 playbooks valid"


def test_a_broken_regulars_toml_playbook_fails_list_too(here: Path) -> None:
    (here / "regulars.toml").write_text(
        '[playbook.x]\ntrigger = { kind = "whenever" }\n[[playbook.x.steps]]\nid = "e"\n'
        'kind = "exit"\n', encoding="utf-8")
    result = _run("playbooks", "list")
    assert result.exit_code == 1
    assert ('regulars.toml: playbook "x": trigger: unknown trigger kind \'whenever\''
            in result.output)


def _store(here: Path) -> list[str]:
    url = f"sqlite:///{here / 'r.db'}"
    services = bootstrap.open_api(bootstrap.load_settings(database_url=url,
                                                          api={"live_map": False}))
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "C1", "name": "Anna Tamm", "email": "anna@example.com",
                          "manager": "Mari", "attributes": "language=ru;founded=2011-05-17"}),
    ])
    services.stop()
    services.store.close()  # type: ignore[attr-defined]
    return ["--database-url", url]


def test_preview_renders_each_message_in_the_customers_language(here: Path) -> None:
    db = _store(here)
    (here / "regulars.toml").write_text('[playbooks]\nbusiness_name = "Kohvik Mari"\n'
                                        'business_phone = "+372 600 0000"\n', encoding="utf-8")
    shown = _run("playbooks", "preview", "new_year_greeting", "--customer", "C1", *db)
    assert shown.exit_code == 0, shown.output
    assert "Subject: С наступающим Новым годом!" in shown.output
    assert "Здравствуйте, Anna!" in shown.output
    assert "Kohvik Mari\n+372 600 0000" in shown.output
    estonian = json.loads(_run("playbooks", "preview", "event_invitation", "--customer", "C1",
                               "--language", "et", "--format", "json", *db).output)
    assert [(m["step"], m["language"], m["subject"]) for m in estonian] == [
        ("spring", "et", "Kutse kohtumisele"), ("autumn", "et", "Kutse kohtumisele")]
    assert "Tere, Anna!" in estonian[0]["text"]
    none = _run("playbooks", "preview", "quarterly_call", "--customer", "C1", *db)
    assert none.exit_code == 0 and "This playbook sends no messages." in none.output
    nobody = _run("playbooks", "preview", "new_year_greeting", "--customer", "C9", *db)
    assert nobody.exit_code == 2 and "unknown customer 'C9'" in nobody.output


def test_a_missing_file_does_not_hide_the_other_problems(here: Path) -> None:
    (here / "regulars.toml").write_text(
        '[playbooks]\nfiles = ["gone.toml"]\n[playbook.x]\ntitle = "no trigger"\n'
        '[[playbook.x.steps]]\nid = "e"\nkind = "exit"\n', encoding="utf-8")
    result = _run("playbooks", "validate")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "2 problems in the playbooks:",
        "gone.toml: cannot be read: No such file or directory",
        'regulars.toml: playbook "x": trigger is missing',
    ]
