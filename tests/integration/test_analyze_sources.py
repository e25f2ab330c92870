"""The same business gives the same map whether it is analysed from files, frames or the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

import regulars
from regulars.demo import DemoSpec
from regulars.demo.files import write_demo

AS_OF = date(2025, 12, 31)  # the generated history's last day: every card exists by then


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop")
    write_demo(out, DemoSpec(customers=300, seed=11), fmt="csv", overwrite=True)
    return out


def rows(result: regulars.api.analysis.Analysis) -> list[tuple[object, ...]]:
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
                     progress=steps.append, words=True)
    assert steps == [
        "reading and checking orders.csv…",
        "reading and checking feedback.csv…",
        "fitting the models of who is still a customer, as of Dec 31, 2025…",
        "the customer map as of Dec 31, 2025…",
        "the map as of Dec 31, 2024, for the ladder flow…",
        "the portfolio: retention, concentration, cohorts…",
        "whom to save first: money at stake, from this business's history…",
        "the evidence in words, for 285 customers…",  # the customer ids with an order
    ]
    # by default the sentences wait for their first read: no step for them
    lazy: list[str] = []
    regulars.analyze(orders=shop / "orders.csv", feedback=shop / "feedback.csv", as_of=AS_OF,
                     progress=lazy.append)
    assert lazy == steps[:-1]


def test_day_counts_are_whole_where_the_dates_are(tmp_path):
    # the as-of moment is the end of its day (23:59:59.999999): in float64 epoch seconds the
    # 32 days from 1 March to the end of 1 April came out as 31.99999999998896
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "1,a,2024-01-05,10\n2,a,2024-02-05,12\n3,b,2024-03-01,5\n4,a,2024-03-07,11\n",
        encoding="utf-8",
    )
    got = regulars.analyze(orders=tmp_path / "orders.csv", as_of=date(2024, 4, 1))
    rows = {r["customer_id"]: r for r in got.customers.to_arrow().to_pylist()}
    assert rows["b"]["days_since_last_order"] == 32.0
    assert rows["a"]["days_since_last_order"] == 26.0
    # a's own gaps are 31 and 31 days (5 Jan, 5 Feb, 7 Mar); b has the base's median gap
    assert rows["a"]["typical_gap_days"] == 31.0 and rows["b"]["typical_gap_days"] == 31.0


def test_dates_may_be_given_as_iso_text_and_bad_ones_are_named(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n1,a,2024-01-05,10\n2,a,2024-02-05,12\n",
        encoding="utf-8",
    )
    orders = tmp_path / "orders.csv"
    got = regulars.analyze(orders, as_of="2024-04-01", period=("2024-01-01", "2024-03-31"),
                           flow_from="2024-02-01")
    assert got.as_of.isoformat() == "2024-04-01T23:59:59.999999"
    assert got.portfolio.to_dict()["retention"]["period"]["end"] == "2024-03-31T23:59:59.999999"
    with pytest.raises(regulars.InputError, match="as_of: '2024-04-31' is not a date"):
        regulars.analyze(orders, as_of="2024-04-31")
    with pytest.raises(regulars.InputError, match=r"ends \(2023-01-01\) before it starts"):
        regulars.analyze(orders, period=(date(2024, 1, 1), date(2023, 1, 1)))


def test_the_terminal_summary_gives_nps_as_the_report_does(shop):
    from rich.console import Console

    from regulars.entrypoints.cli.summary import print_summary

    result = regulars.analyze(orders=shop / "orders.csv", feedback=shop / "feedback.csv",
                              as_of=AS_OF)
    console = Console(record=True, width=120)
    print_summary(console, result)
    text = console.export_text()
    nps = result.portfolio.nps
    assert nps is not None and nps.score is not None
    line = next(x for x in text.splitlines() if "NPS (" in x)
    assert f"NPS ({nps.responses:,} answers)" in line and line.rstrip(" │").endswith(
        f"{nps.score:+.1f}")
    # the at-risk list shows what each customer has spent beside the model's value at risk
    assert "revenue so far" in text and "money at stake" in text


def test_the_amounts_sign_names_the_currency_of_a_file_analysed_directly(tmp_path, sqlite_url):
    """A 1C export writes "1 200,00 руб.": analysed from the file, as imported, the money is
    roubles, whatever the business's default currency (EUR here); without a sign, the
    default; the evidence writes amounts in it."""
    rub = tmp_path / "rub.csv"
    rub.write_text("Номер;Дата;Код клиента;Сумма\n"
                   "1;04.03.2025;K1;1 200,00 руб.\n2;04.04.2025;K1;800,00 руб.\n"
                   "3;05.05.2025;K2;50,00 руб.\n", encoding="utf-8")
    plain = tmp_path / "plain.csv"
    plain.write_text("order_id,customer_id,ordered_at,amount\n1,K1,2025-03-04,12\n",
                     encoding="utf-8")
    settings = regulars.load_settings(database_url=sqlite_url, currency="EUR")
    assert regulars.analyze(orders=rub, config=settings).currency == "RUB"
    assert regulars.analyze(orders=plain, config=settings).currency == "EUR"
    with regulars.i18n.use_language("ru"):
        sentences = (regulars.analyze(orders=rub, config=settings).customers.arrow
                     .column("evidence_text").to_pylist())
    text = " ".join(" ".join(s) for s in sentences)
    assert "₽" in text and "€" not in text
