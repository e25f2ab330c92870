"""``regulars tasks`` and ``regulars keys create --manager`` through the CLI runner, on a
real SQLite store: exit codes, clear errors, names in every list."""

from __future__ import annotations

import json
from datetime import date, timedelta

from typer.testing import CliRunner

from regulars import bootstrap
from regulars.domain.tables import Kind
from regulars.entrypoints.cli.app import app

runner = CliRunner()
LATER = (date.today() + timedelta(days=3)).isoformat()


def _store(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    services = bootstrap.open_api(bootstrap.load_settings(database_url=url,
                                                          api={"live_map": False}))
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "C1", "name": "Anna Tamm", "phone": "+3725550001",
                          "manager": "Mari"}),
        (Kind.CUSTOMERS, {"customer_id": "C2", "name": "Boris Kask", "manager": "Jaan",
                          "do_not_contact": True}),
    ])
    services.stop()
    services.store.close()  # type: ignore[attr-defined]
    return ["--database-url", url]


def _run(*args):
    from regulars.entrypoints.cli.common import out

    width = out.width
    out.width = 250  # the table's columns whole, as on a wide terminal
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        out.width = width


def test_a_task_from_add_to_done(tmp_path):
    db = _store(tmp_path)
    added = _run("tasks", "add", "C1", "--action", "call", "--due", LATER, *db)
    assert added.exit_code == 0, added.output
    tid = added.output.split()[1].rstrip(":")
    listed = _run("tasks", "list", "--manager", "Mari", *db)
    assert "Anna Tamm" in listed.output and "+3725550001" in listed.output
    done = _run("tasks", "done", tid, "--outcome", "reached", "--note", "fine", *db)
    assert done.exit_code == 0, done.output
    again = _run("tasks", "done", tid, "--outcome", "reached", *db)
    assert again.exit_code == 2 and "is done already" in again.output
    rows = json.loads(_run("tasks", "list", "--format", "json", *db).output)
    assert [(r["state"], r["outcome"]) for r in rows] == [("done", "reached")]


def test_hand_made_task_warns_and_bad_input_exits_2(tmp_path):
    db = _store(tmp_path)
    warned = _run("tasks", "add", "C2", "--action", "call", *db)
    assert warned.exit_code == 0 and "asked not to be contacted" in warned.output
    tid = warned.output.split()[1].rstrip(":")
    past = _run("tasks", "snooze", tid, "--until", "2020-01-01", *db)
    assert past.exit_code == 2 and "until:" in past.output
    nobody = _run("tasks", "reassign", tid, "--owner", "Nobody", *db)
    assert nobody.exit_code == 2 and "known managers: Jaan and Mari" in nobody.output
    bad = _run("tasks", "done", tid, "--outcome", "maybe", *db)
    assert bad.exit_code == 2 and "outcome:" in bad.output
    missing = _run("tasks", "cancel", "nope", *db)
    assert missing.exit_code == 2 and "no task nope" in missing.output


def test_plan_from_a_suggestions_file_is_idempotent(tmp_path):
    db = _store(tmp_path)
    today = date.today().isoformat()
    file = tmp_path / "worklist.json"
    file.write_text(json.dumps([
        {"customer_id": "C1", "manager": "Mari", "reason": "overdue", "action": "reminder",
         "bucket": "overdue", "due_on": today, "channels": ["email"], "money_at_stake": 80,
         "evidence": {"days": 3}, "held_back": None}]), encoding="utf-8")
    first = _run("tasks", "plan", "--suggestions", file, *db)
    assert first.exit_code == 0 and "1 task planned" in first.output, first.output
    second = _run("tasks", "plan", "--suggestions", file, *db)
    assert "0 tasks planned" in second.output and "planned already today" in second.output
    # without a file the plan reads today's worklist, which needs orders to rank anyone
    nothing = _run("tasks", "plan", *db)
    assert nothing.exit_code == 2 and "holds no orders" in nothing.output


def test_a_manager_key_is_bound_by_name(tmp_path):
    db = _store(tmp_path)
    made = _run("keys", "create", "--role", "manager", "--manager", "Olga", *db)
    assert made.exit_code == 0, made.output
    assert "Olga" in _run("keys", "list", *db).output
    wrong = _run("keys", "create", "--role", "readonly", "--manager", "Olga", *db)
    assert wrong.exit_code == 2


def test_report_prints_the_observation_note(tmp_path):
    db = _store(tmp_path)
    r = _run("tasks", "report", *db)
    assert r.exit_code == 0, r.output
    assert "not a causal claim" in r.output
