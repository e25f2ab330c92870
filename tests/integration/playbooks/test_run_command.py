"""``regulars playbooks run`` and ``regulars.api.run_playbooks`` on a real store, and the
summary it prints in the reader's language."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from typer.testing import CliRunner

from regulars import api, bootstrap
from regulars.adapters.db.playbook_jobs import SqlJobStore
from regulars.domain.playbooks import model as m
from regulars.entrypoints.cli.app import app
from regulars.i18n import use_language
from regulars.services.playbooks.ports import Entry, StepContext, StepOutcome
from regulars.services.playbooks.runner import journey_id, one_pass

T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)

PB = m.Playbook(
    name="welcome", title="Welcome", set="communication_plan",
    trigger=m.Trigger(kind="event", event="first_order"),
    steps=(m.Send("hello", channel="email", template="hello"),
           m.Wait("pause", days=1),
           m.Send("again", channel="email", template="again")),
    control_share=0.0, goal=None)


class Feed:
    def entries(self, now: datetime, playbooks: object, *, dry_run: bool = False,
                advance: bool = True) -> list[Entry]:
        return [Entry("welcome", "c1", "event:7", T0)]

    def commit(self, now: datetime | None = None) -> None:
        pass


class Facts:
    def facts_of(self, ids: object) -> dict[str, dict[str, object]]:
        return {"c1": {"customer_id": "c1", "name": "Mari Tamm", "time_zone": "Europe/Tallinn"}}


class Sent:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def run(self, ctx: StepContext) -> StepOutcome:
        self.calls.append(ctx.step.id)
        return StepOutcome("dry_run" if ctx.dry_run else "sent")


def test_run_on_an_empty_store_says_nothing_happened(store_url: str) -> None:
    result = CliRunner().invoke(app, ["playbooks", "run", "--database-url", store_url,
                                      "--at", "2026-03-27T11:00", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["entered"], data["ran"], data["dry_run"]) == (0, 0, False)
    # --at without a zone is the business's (UTC by default)
    assert data["at"] == "2026-03-27T11:00:00+00:00"


def test_a_bad_moment_is_refused_naming_the_option(store_url: str) -> None:
    result = CliRunner().invoke(app, ["playbooks", "run", "--database-url", store_url,
                                      "--at", "next tuesday"])
    assert result.exit_code != 0
    assert "--at" in result.output and "ISO 8601" in result.output


def test_dry_run_then_real_run_through_bootstrap(store_url: str) -> None:
    settings = bootstrap.load_settings(database_url=store_url)
    actions = Sent()
    runner, feed = bootstrap.open_playbook_runner(
        settings, playbooks={"welcome": PB}, feed=Feed(), facts=Facts(), actions=actions)
    try:
        dry = one_pass(runner, feed, at=T0 + timedelta(days=2), dry_run=True)
        assert [(r.step_id, r.outcome) for r in dry.ran.rows] == [
            ("hello", "dry_run"), ("pause", "waited"), ("again", "dry_run")]
        assert runner.store.all_jobs() == []  # type: ignore[attr-defined]
        real = one_pass(runner, feed, at=T0)
        assert (real.entered.entered, real.ran.outcomes) == (1, {"sent": 1, "waited": 1})
        again = one_pass(runner, feed, at=T0 + timedelta(days=1))
        assert again.entered.skipped == {"already_entered": 1}
        assert again.ran.outcomes == {"sent": 1}
        assert again.ran.ended == {"done": 1}
    finally:
        runner.store.close()  # type: ignore[attr-defined]
    store = SqlJobStore(store_url)
    try:
        assert store.journeys([journey_id("welcome", "c1", "event:7")]).popitem()[1].state == \
            "done"
    finally:
        store.close()


def test_the_api_runs_a_pass(store_url: str) -> None:
    settings = bootstrap.load_settings(database_url=store_url)
    result = api.run_playbooks(settings, at=T0, dry_run=True)
    assert (result.entered.entered, result.ran.ran, result.dry_run) == (0, 0, True)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["what would run by", "Mari Tamm (c1)", "would run", "entered: 1"]),
    ("ru", ["что было бы выполнено к", "Mari Tamm (c1)", "было бы выполнено",
            "вошли в сценарии: 1"]),
    ("et", ["mis käivituks hiljemalt", "käivituks", "stsenaariumidesse sisenes: 1"]),
])
def test_the_dry_run_table_is_in_the_readers_language(
        store_url: str, lang: str, words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = bootstrap.load_settings(database_url=store_url)
    runner, feed = bootstrap.open_playbook_runner(
        settings, playbooks={"welcome": PB}, feed=Feed(), facts=Facts(), actions=Sent())
    try:
        result = one_pass(runner, feed, at=T0 + timedelta(days=2), dry_run=True)
    finally:
        runner.store.close()  # type: ignore[attr-defined]
    # imported here, after app: a command module imported first would put its group first in
    # `regulars --help`, and the CLI reference (docs/cli.md) would no longer match
    from regulars.entrypoints.cli import playbooks_run_cmd

    console = Console(width=200, record=True, file=io.StringIO())
    monkeypatch.setattr(playbooks_run_cmd, "out", console)
    with use_language(lang):
        playbooks_run_cmd.show(result, "Europe/Tallinn")
    text = console.export_text()
    for word in words:
        assert word in text
