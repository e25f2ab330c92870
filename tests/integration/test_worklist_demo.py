"""Today's worklist on the demo business (issue 18): every manager has a list, led by
customers worth saving, each customer once; and the command line around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regulars import api
from regulars.demo import DemoSpec, generate_business
from regulars.domain.tables import IMPORT_ORDER
from regulars.domain.worklist import REASON_ACTION
from regulars.entrypoints.cli.app import app


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> api.Settings:
    """The default demo business (2000 customers) imported into a SQLite store."""
    folder = tmp_path_factory.mktemp("worklist-demo")
    settings = api.load_settings(None, database_url=f"sqlite:///{folder / 'demo.db'}")
    tables = generate_business(DemoSpec(customers=2000, seed=42))
    for kind in IMPORT_ORDER:
        api.import_file(kind, tables[kind.value], settings=settings)
    return settings


@pytest.fixture(scope="module")
def lists(demo_store: api.Settings):
    return api.worklist(demo_store)


def test_every_managers_list_is_full_and_each_customer_appears_once(lists):
    assert lists.managers == ("Anna Kask", "Jaan Lepp", "Kati Saar", "Mart Tamm",
                              "Olga Ivanova")
    seen: list[str] = []
    for lst in lists.lists:
        assert len(lst.items) == lst.capacity == 15, lst.manager
        seen += [s.customer_id for s in (*lst.items, *lst.held_back)]
        assert all(s.manager == lst.manager for s in lst.items)
        assert all(s.action == REASON_ACTION[s.reason] for s in lst.items)
        assert all(s.name and s.channels for s in lst.items)
        assert all(s.held_back for s in lst.held_back)
    assert len(seen) == len(set(seen))


def test_the_lists_are_led_by_customers_worth_saving(lists, demo_store):
    """No one in a top 10 has spent less than the median buyer unless the reason says why
    (a detractor or a complaint needs an answer whatever the size)."""
    result = api.analyze(config=demo_store)
    rows = result.customers.unfinished.select(["customer_id", "revenue"]).to_pylist()
    revenue = {r["customer_id"]: r["revenue"] for r in rows}
    buyers = sorted(v for v in revenue.values() if v)
    median = (buyers[(len(buyers) - 1) // 2] + buyers[len(buyers) // 2]) / 2
    small_reasons = set(demo_store.worklist.small_customer_reasons)
    for lst in lists.lists:
        for s in lst.items[:10]:
            assert revenue[s.customer_id] >= median or s.reason in small_reasons, s
        # within a bucket, the most money at stake first
        for a, b in zip(lst.items, lst.items[1:], strict=False):
            if a.bucket == b.bucket:
                assert a.money_at_stake >= b.money_at_stake


def test_the_command_line_lists_one_manager_as_json_csv_and_a_table(demo_store):
    runner = CliRunner()
    url = ["--database-url", demo_store.database_url]
    got = runner.invoke(app, ["worklist", "--manager", "Kati Saar", "--limit", "3",
                              "--format", "json", *url])
    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    assert [lst["manager"] for lst in data["lists"]] == ["Kati Saar"]
    assert len(data["lists"][0]["items"]) == 3
    first = data["lists"][0]["items"][0]
    assert first["bucket"] in ("overdue", "today", "week") and first["due_on"][4] == "-"
    csv_out = runner.invoke(app, ["worklist", "--limit", "2", "--format", "csv", *url])
    assert csv_out.exit_code == 0
    header = csv_out.stdout.splitlines()[0]
    assert header.startswith("manager,bucket,due_on,customer_id,name,phone,email,channels")
    table = runner.invoke(app, ["worklist", "--manager", "Anna Kask", "--limit", "2", *url],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Anna Kask: 2 of 15" in table.stdout


def test_json_and_csv_are_byte_identical_in_english_and_russian(demo_store):
    """Files for machines are the same in every language (issue 17): the sentences in them are
    the English source text; the table for people is Russian."""
    runner = CliRunner()
    url = ["--database-url", demo_store.database_url]
    for fmt in ("json", "csv"):
        en, ru = (runner.invoke(app, [*lang, "worklist", "--limit", "4", "--format", fmt, *url])
                  for lang in ([], ["--lang", "ru"]))
        assert en.exit_code == ru.exit_code == 0, ru.output
        assert ru.stdout_bytes == en.stdout_bytes, fmt
        assert "held back: " in en.stdout
    from regulars.entrypoints.cli.common import out

    width, out.width = out.width, 250  # the table's headers whole, as on a wide terminal
    try:
        table = runner.invoke(app, ["--lang", "ru", "worklist", "--manager", "Kati Saar", *url])
    finally:
        out.width = width
    assert table.exit_code == 0
    assert "Kati Saar: 15 из 15" in table.stdout and "сумма под угрозой" in table.stdout
    assert "held back" not in table.stdout


def test_an_unknown_manager_or_a_bad_date_ends_with_exit_2(demo_store):
    runner = CliRunner()
    url = ["--database-url", demo_store.database_url]
    got = runner.invoke(app, ["worklist", "--manager", "Nobody", *url])
    assert got.exit_code == 2
    assert "unknown manager 'Nobody'; the known managers are: Anna Kask" in got.stderr
    bad = runner.invoke(app, ["worklist", "--date", "2025-02-30", *url])
    assert bad.exit_code == 2 and "date: '2025-02-30' is not a date" in bad.stderr
    fmt = runner.invoke(app, ["worklist", "--format", "xml", *url])
    assert fmt.exit_code == 2


def test_the_python_facade_takes_a_day_and_a_manager(demo_store: api.Settings, tmp_path: Path):
    one = api.worklist(demo_store, manager="Mart Tamm", on="2025-12-30", limit=5)
    assert [lst.manager for lst in one.lists] == ["Mart Tamm"]
    assert one.lists[0].day.isoformat() == "2025-12-30" and len(one.lists[0].items) == 5
