"""The predictions feed the customer map (issue 4): every customer row gains p_alive, expected
orders, the next order date, CLV and value at risk; lost and churn risk read p_alive; the
at-risk list is ranked by value at risk; and when the data cannot support a model the map says
so instead of guessing."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

import regulars
from regulars.demo import DemoSpec, generate_business
from regulars.entrypoints.cli.summary import at_risk
from regulars.services.predictions import RETRY_PENALTY


def settings_in(folder, **overrides):
    """Settings at their defaults whatever the working directory holds."""
    empty = folder / "regulars.toml"
    empty.write_text("", encoding="utf-8")
    return regulars.load_settings(empty, **overrides)


COLUMNS = ["p_alive", "expected_orders_90d", "next_order_expected_at", "clv", "value_at_risk"]


@pytest.fixture(scope="module")
def business() -> dict[str, pa.Table]:
    # many repeat buyers (10 orders a person, the demo's density until issue 13), some of them
    # gone long enough for the model to put p_alive under lost_p_alive; at the default density
    # (3.5, most buyers buying once) no customer of this business falls under it
    return generate_business(DemoSpec(customers=1500, seed=11, orders_per_customer=10.0))


@pytest.fixture(scope="module")
def result(business, tmp_path_factory):
    settings = settings_in(tmp_path_factory.mktemp("cfg"))
    return regulars.analyze(business["orders"], customers=business["customers"],
                            config=settings)


def test_every_buyer_gains_the_prediction_columns_and_prospects_stay_empty(result):
    t = result.customers.to_arrow()
    # the model's columns, then the ranking's (money at stake, analytics.ranking)
    assert t.column_names[-8:-3] == COLUMNS
    assert t.column_names[-3:] == ["money_at_stake", "p_gone", "expected_revenue"]
    rows = t.to_pylist()
    buyers = [r for r in rows if r["orders"] > 0]
    prospects = [r for r in rows if r["orders"] == 0]
    assert buyers and prospects
    for r in buyers:
        assert 0.0 <= r["p_alive"] <= 1.0
        assert r["expected_orders_90d"] >= 0 and r["clv"] >= 0 and r["value_at_risk"] >= 0
        assert r["next_order_expected_at"] > result.as_of - timedelta(days=1)
    assert all(r[c] is None for r in prospects for c in COLUMNS)
    assert "predictions" not in result.not_evaluated
    assert "churn_risk" not in result.not_evaluated


def test_one_time_buyers_do_not_all_look_alive(result):
    """The BG/NBD artefact: with the default model a one-time buyer's P(alive) falls with
    the time since their only order."""
    once = [r for r in result.customers.to_arrow().to_pylist() if r["orders"] == 1]
    assert len(once) > 20
    recent = [r["p_alive"] for r in once if r["days_since_last_order"] < 60]
    old = [r["p_alive"] for r in once if r["days_since_last_order"] > 600]
    assert recent and old
    assert max(old) < min(recent)
    assert sum(p < 0.99 for p in (r["p_alive"] for r in once)) > len(once) / 2


def test_lost_and_churn_risk_read_p_alive_with_their_evidence(result):
    params = result.portfolio.params
    rows = result.customers.to_arrow().to_pylist()
    median_revenue = sorted(r["revenue"] for r in rows if r["orders"])[
        len([r for r in rows if r["orders"]]) // 2]
    checked = 0
    for r in rows:
        if not r["orders"]:
            continue
        ev = {(e["about"], e["code"]): e for e in json.loads(r["evidence"])}
        if r["p_alive"] < params["lost_p_alive"]:
            assert r["status"] == "lost", r["customer_id"]
            lost = ev[("status", "lost")]
            assert lost["p_alive"] == pytest.approx(r["p_alive"], abs=5e-5)
            checked += 1
        if "churn_risk" in r["signals"]:
            e = ev[("signal", "churn_risk")]
            assert r["p_alive"] < params["churn_risk_p_alive"] == e["threshold"]
            assert r["revenue"] > e["median_revenue"]
        elif r["p_alive"] < params["churn_risk_p_alive"]:
            assert r["revenue"] <= median_revenue * 1.0001 or r["status"] is None
    assert checked > 0


def test_the_at_risk_list_is_ranked_by_money_at_stake_not_the_models_value_at_risk(result):
    risky = at_risk(result.customers.to_arrow())
    assert len(risky) > 5
    assert "value_at_risk" not in risky[0]
    values = [r["money_at_stake"] for r in risky]
    assert values == sorted(values, reverse=True)


def test_predictions_switched_off_are_reported_not_guessed(business, tmp_path):
    settings = settings_in(tmp_path, analysis={"predictions": False})
    result = regulars.analyze(business["orders"], config=settings)
    assert "p_alive" not in result.customers.to_arrow().column_names
    assert "analysis.predictions" in result.not_evaluated["predictions"]
    assert "churn_risk" in result.not_evaluated


def test_too_little_data_for_a_model_is_said_in_not_evaluated(tmp_path):
    orders = pa.table({
        "customer_id": ["A", "A", "B", "C"],
        "ordered_at": [datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 1, 5),
                       datetime(2024, 3, 1)],
        "amount": [10.0, 12.0, 5.0, 7.0],
    })
    result = regulars.analyze(orders, config=settings_in(tmp_path))
    assert "too few" in result.not_evaluated["predictions"]
    assert "no model" in result.not_evaluated["churn_risk"]
    assert result.predictions is None


def test_models_fit_saves_json_that_loads_back(business, tmp_path):
    from regulars.analytics.models import model_from_dict

    settings = settings_in(tmp_path)
    fitted = regulars.api.fit_models(business["orders"], as_of=date(2025, 12, 31),
                                     config=settings)
    data = json.loads(json.dumps(fitted.describe()))
    model = model_from_dict(data["transactions"])
    assert model.name == fitted.transactions.name
    assert model.params == pytest.approx(fitted.transactions.params)
    notes = " ".join(fitted.notes)
    assert fitted.spend is not None or "spend" in notes
    assert RETRY_PENALTY > 0


def test_the_orders_cut_in_memory_fit_as_the_orders_cut_in_the_engine(business):
    import ibis

    from regulars.analytics.params import MapParams
    from regulars.services import predictions

    orders = ibis.memtable(business["orders"])
    at = datetime(2025, 1, 1, 23, 59, 59, 999999)
    cut = orders.filter(orders.ordered_at.isnull() | (orders.ordered_at <= at))
    in_memory = predictions.orders_until(predictions.orders_arrow(orders), at)
    in_engine = predictions.orders_arrow(cut)
    key = ["customer_id", "ordered_at", "amount"]
    assert in_memory.sort_by([(k, "ascending") for k in key]).equals(
        in_engine.sort_by([(k, "ascending") for k in key]))
    params = MapParams()
    full = predictions.fit_and_predict(in_engine, as_of=at, params=params)
    lean = predictions.fit_and_predict(in_memory, as_of=at, params=params, spend=False)
    assert lean.spend is None and full.spend is not None
    p_alive = ["customer_id", "p_alive"]
    assert lean.table.select(p_alive).sort_by("customer_id").equals(
        full.table.select(p_alive).sort_by("customer_id"))
