"""``regulars goals`` from the shell: set with clear errors, list (names, not only keys), show,
retire, track, JSON for scripts, and the reader's language."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from regulars.entrypoints.cli.app import app

runner = CliRunner()


def _run(url: str, *args: str, lang: str = "en"):
    return runner.invoke(app, ["--lang", lang, "goals", *args, "--database-url", url])


def test_goals_from_the_shell(sqlite_url):
    made = _run(sqlite_url, "set", "share_of_regulars", "35", "--due", "2999-12-31",
                "--baseline", "20", "--note", "one in three", "--format", "json")
    assert made.exit_code == 0, made.output
    goal = json.loads(made.output)
    assert (goal["metric"], goal["target"], goal["baseline"]) == ("share_of_regulars", 35, 20)
    gid = goal["goal_id"]

    listed = _run(sqlite_url, "list")
    assert listed.exit_code == 0 and gid in listed.output
    assert "Share of regulars" in listed.output and "35.0%" in listed.output
    ru = _run(sqlite_url, "list", lang="ru")
    assert "Доля постоянных клиентов" in ru.output and "35,0\xa0%" in ru.output
    assert "сейчас 20,0\xa0%" in ru.output and "по плану" in ru.output

    # no order in the store: nothing to read, the baseline's reading is kept
    tracked = _run(sqlite_url, "track", "--format", "json")
    assert tracked.exit_code == 0, tracked.output
    assert json.loads(tracked.output)["goals"][0]["readings"][0]["value"] == 20
    shown = _run(sqlite_url, "show", gid)
    assert shown.exit_code == 0 and "one in three" in shown.output and "20.0%" in shown.output

    for args, words in [
        (("set", "share_of_regulars", "135", "--due", "2999-12-31"), "from 0 to 100"),
        (("set", "shares", "35", "--due", "2999-12-31"), "unknown metric 'shares'"),
        (("set", "rotation", "5", "--due", "2999-12-31", "--segment", "loyal"),
         "measured on the whole base"),
        (("set", "rotation", "5", "--due", "2000-01-01"), "is not after the start"),
        (("retire", "nope"), "no goal nope"),
    ]:
        refused = _run(sqlite_url, *args)
        assert refused.exit_code == 2, (args, refused.output)
        assert words in refused.output, (args, refused.output)
    assert len(json.loads(_run(sqlite_url, "list", "--format", "json").output)) == 1

    retired = _run(sqlite_url, "retire", gid)
    assert retired.exit_code == 0 and f"goal {gid} retired" in retired.output
    assert json.loads(_run(sqlite_url, "list", "--format", "json").output) == []
    assert "retired" in _run(sqlite_url, "list", "--all").output
