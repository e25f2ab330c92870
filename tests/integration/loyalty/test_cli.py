"""``regulars points …`` against a real store, configured by a regulars.toml [loyalty]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regulars import api
from regulars.entrypoints.cli.app import app

runner = CliRunner()

TOML = """
timezone = "Europe/Tallinn"

[loyalty]
release = "immediately"
bonus_sign_up = 0
tiers = [{name = "base", threshold = 0}, {name = "vip", threshold = 1000, multiplier = 2}]
rewards = [{code = "r100", name = "Coupon", kind = "discount_coupon", points = 100, value = 5},
           {code = "mug", name = "Mug", kind = "gift", points = 50, stock = 3, per_member = 1}]
"""


@pytest.fixture
def cli(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):
    for name in list(__import__("os").environ):
        if name.upper().startswith("REGULARS_") and name != "REGULARS_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "regulars.toml").write_text(TOML, encoding="utf-8")

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["points", *args, "--database-url", database_url])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_a_day_at_the_till(cli):
    assert "enrolled M1" in cli("enrol", "M1", "--email", "m1@example.com")
    assert "120 points" in cli("accrue", "O1", "M1", "120.50", "--category", "coffee")
    assert "nothing changed" in cli("accrue", "O1", "M1", "120.50", "--category", "coffee")
    assert "other content" in cli("accrue", "O1", "M1", "99", code=1)
    out = json.loads(cli("redeem", "M1", "r100", "--key", "till-1", "--json"))
    assert out["balance_after"] == 20 and out["coupon_code"]
    assert "used on order" in cli("coupon", out["coupon_code"], "--order", "O2")
    assert "not enough" not in cli("adjust", "M1", "5", "--reason", "sorry", "--actor", "anna",
                                   "--key", "a1")
    assert "10 points taken back" in cli("return", "R1", "O1", "10.05")
    statement = json.loads(cli("statement", "M1", "--json"))
    assert statement["balance"] == 15 and statement["tier"] == "base"
    assert "balances" in cli("check")


def test_refusals_exit_1_with_a_readable_message(cli):
    cli("enrol", "M1")
    out = cli("redeem", "M1", "r100", "--key", "k", code=1)
    assert "0 points available; 100 needed" in out
    assert "no member ghost" in cli("statement", "ghost", code=1)
    assert "reason and an actor" in cli("adjust", "M1", "5", "--reason", " ", "--actor", "x",
                                        "--key", "k2", code=1)


def test_a_redemption_cancelled_at_the_till(cli):
    cli("enrol", "M1")
    cli("accrue", "O1", "M1", "250")
    out = json.loads(cli("redeem", "M1", "r100", "--key", "till-7", "--json"))
    assert out["balance_after"] == 150
    assert "redemption till-7 cancelled, 100 points back (0 expired since); balance 250" in cli(
        "cancel", "--coupon", out["coupon_code"], "--reason", "wrong reward", "--actor", "anna")
    assert "was cancelled on" in cli("coupon", out["coupon_code"], "--order", "O2", code=1)
    assert "give --coupon or --key" in cli("cancel", "--reason", "x", "--actor", "y", code=2)
    assert "no redemption under key nope" in cli("cancel", "--key", "nope", "--reason", "x",
                                                 "--actor", "y", code=1)
    assert json.loads(cli("statement", "M1", "--json"))["balance"] == 250


def test_bad_amounts_are_usage_errors(cli):
    cli("enrol", "M1")
    cli("accrue", "O1", "M1", "twelve", code=2)


def test_sync_accrues_the_imported_orders_and_returns_once(cli, tmp_path, database_url):
    (tmp_path / "customers.csv").write_text(
        "customer_id,email,consent_email\nC1,c1@example.com,true\nC2,c2@example.com,false\n",
        encoding="utf-8")
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\nO1,C1,2026-01-05 10:00:00,100.00\n"
        "O2,C1,2026-01-06 10:00:00,50.00\nO3,C2,2026-01-07 10:00:00,70.00\n"
        "O4,C3,2026-01-07 11:00:00,10.00\n", encoding="utf-8")
    (tmp_path / "returns.csv").write_text(
        "return_id,order_id,returned_at,amount\nR1,O1,2026-01-08 10:00:00,50.00\n",
        encoding="utf-8")
    settings = api.load_settings(database_url=database_url)
    for kind in ("customers", "orders", "returns"):
        api.import_file(kind, tmp_path / f"{kind}.csv", settings=settings)
    first = json.loads(cli("sync", "--enrol", "--json"))
    assert (first["enrolled"], first["orders_accrued"], first["orders_skipped"]) == (3, 1 + 1, 2)
    assert (first["points_earned"], first["points_reversed"]) == (150, 50)
    again = json.loads(cli("sync", "--json"))
    assert (again["orders_accrued"], again["orders_already_accrued"], again["returns_recorded"]
            ) == (0, 2, 0)
    statement = json.loads(cli("statement", "C1", "--json"))
    assert statement["balance"] == 100
    assert "balances" in cli("check")


def test_rewards_and_help(cli):
    cli("enrol", "M1")
    cli("accrue", "O1", "M1", "120")
    cli("redeem", "M1", "mug", "--key", "mug-1")
    listing = cli("rewards")
    assert "r100" in listing
    mug = next(line for line in listing.splitlines() if "mug" in line)
    assert "2 / 3" in mug and mug.rstrip(" │").endswith("1")  # 2 of 3 left, 1 per member
    result = runner.invoke(app, ["points", "--help"])
    assert result.exit_code == 0 and "statement" in result.output


def test_loyalty_run_refuses_a_future_moment_from_the_cli(cli):
    cli("enrol", "M1")
    cli("accrue", "O1", "M1", "100", "--at", "2020-01-02T10:00")  # expired long ago
    for command in (("run",), ("expire",), ("tiers",), ("release",), ("run", "--dry-run")):
        out = cli(*command, "--at", "2999-01-01", code=2)
        assert "in the future" in out and out.count("\n") <= 3, out
    assert json.loads(cli("statement", "M1", "--json"))["expired_unswept"] == 100


def test_expiry_dry_run_from_the_cli_shows_names_and_writes_nothing(cli, database_url):
    cli("enrol", "M1")
    cli("accrue", "O1", "M1", "100", "--at", "2020-01-02T10:00")
    preview = cli("run", "--dry-run")
    assert "nothing was written" in preview and "M1" in preview
    assert "1 lots (100 points) of 1 members would expire" in preview
    data = json.loads(cli("expire", "--dry-run", "--json"))
    assert data["dry_run"] is True and data["expired"]["points"] == 100
    assert [m["member_id"] for m in data["members"]] == ["M1"]
    assert json.loads(cli("statement", "M1", "--json"))["expired_unswept"] == 100
    done = json.loads(cli("run", "--json"))
    assert done["expired"]["points"] == 100 and done["run_id"]


def test_the_programme_edited_on_the_web_until_the_file_is_adopted_again(cli, database_url):
    from regulars.domain.loyalty import Reward, RewardKind
    from regulars.services.loyalty.programmes import put_reward, reward_part

    cli("rewards")  # records the file's version 1
    with api.open_loyalty(api.load_settings(database_url=database_url)) as svc:
        svc.save_programme(lambda p: put_reward(p, Reward("coffee", "Coffee",
                                                          RewardKind.FREE_ITEM, 100), new=True),
                           base_version=1, part=reward_part("coffee"), author="Mari",
                           note="menu")
    assert "Coffee" in cli("rewards")  # the store's programme, not the file's
    out = cli("programme", "versions")
    assert "Mari" in out and "reward 'Coffee' added" in out and "not applied" in out
    out = cli("programme", "adopt-file", "--note", "back")
    assert "version 3" in out and "reward 'Coffee' removed" in out
    assert "Coffee" not in cli("rewards")
