"""The same business gives the same map whether it is analysed from files, frames or the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

import regulars
from regulars.analytics.synthetic import DemoSpec
from regulars.services.demo import write_demo

AS_OF = date(2025, 12, 31)  # the generated history's last day: every card exists by then


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop")
    write_demo(out, DemoSpec(customers=300, seed=11), fmt="csv", overwrite=True)
    return out


def rows(result: regulars.bootstrap.analysis.Analysis) -> list[tuple[object, ...]]:
    t = result.customers.to_arrow()
    cols = ["customer_id", "orders", "rung", "status", "signals", "traits", "rfm_segment"]
    return sorted(zip(*(t.column(c).to_pylist() for c in cols), strict=True))


def test_files_and_the_store_give_the_same_map_with_duplicate_cards_merged(shop, sqlite_url):
    files = {k.value: shop / f"{k.value}.csv" for k in regulars.Kind}
    from_files = regulars.analyze(**files, as_of=AS_OF)
    settings = regulars.load_settings(database_url=sqlite_url)
    for kind in regulars.Kind:
        regulars.import_file(kind, files[kind.value], settings=settings)
    from_store = regulars.analyze(config=settings, as_of=AS_OF)
    assert rows(from_files) == rows(from_store)
    # the generator plants duplicate cards: one card per person either way
    truth = pacsv.read_csv(shop / "truth.csv").to_pylist()
    people = {t["duplicate_of"] or t["customer_id"] for t in truth}
    assert len(from_files.customers) == len(people)


def test_frames_are_accepted_wherever_a_table_is(shop):
    import pandas as pd
    import polars as pl

    orders = pd.read_csv(shop / "orders.csv")
    feedback = pl.read_csv(shop / "feedback.csv")
    result = regulars.analyze(orders, feedback=feedback, as_of=AS_OF)
    assert "detractor" not in result.not_evaluated
    assert result.customers.to_polars().height == len(result.customers.to_pandas())


def test_progress_is_told_each_step_in_order(shop):
    steps: list[str] = []
    regulars.analyze(orders=shop / "orders.csv", feedback=shop / "feedback.csv", as_of=AS_OF,
                     progress=steps.append)
    assert steps == [
        "reading and checking orders.csv…",
        "reading and checking feedback.csv…",
        "fitting the models of who is still a customer, as of 2025-12-31…",
        "the customer map as of 2025-12-31…",
        "the map as of 2024-12-31, for the ladder flow…",
        "the portfolio: retention, concentration, cohorts…",
        "the evidence in words, for 285 customers…",  # the customer ids with an order
    ]
