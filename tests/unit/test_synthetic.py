"""The synthetic business: contract columns, integrity, and truth that the data bears out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from regulars.demo import (
    ARCHETYPES,
    SCHEMAS,
    TRUTH_FLAGS,
    DemoSpec,
    generate_business,
    iter_business,
)
from regulars.domain.tables import SPECS, ColumnType, Kind

SPEC = DemoSpec(customers=2000, seed=7, chunk_customers=700)  # three chunks
END = datetime.combine(SPEC.end, datetime.min.time()) + timedelta(days=1)  # as of end of day

ARROW_TYPES = {
    ColumnType.ID: pa.string(),
    ColumnType.TEXT: pa.string(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
    ColumnType.DATE: pa.date32(),
    ColumnType.MONEY: pa.float64(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.LIST: pa.string(),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate_business(SPEC)


@pytest.fixture(scope="module")
def frames(tables: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    return {name: t.to_pandas() for name, t in tables.items()}


@pytest.fixture(scope="module")
def truth(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["truth"].set_index("customer_id")


@pytest.fixture(scope="module")
def orders(frames: dict[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """Orders of persons: duplicate cards merged into their canonical card, in time order."""
    o = frames["orders"].copy()
    canonical = truth["duplicate_of"].dropna()
    o["person"] = o["customer_id"].map(canonical).fillna(o["customer_id"])
    return o.sort_values(["person", "ordered_at"], kind="stable").reset_index(drop=True)


def persons_with(truth: pd.DataFrame, flag: str) -> pd.Series:
    """The flag per person (duplicate cards left out)."""
    return truth.loc[truth["duplicate_of"].isna(), flag]


# ---- determinism and shape -------------------------------------------------------------------


def test_same_seed_gives_identical_tables(tables: dict[str, pa.Table]) -> None:
    again = generate_business(SPEC)
    for name, table in tables.items():
        assert again[name].equals(table), name


def test_another_seed_gives_another_business(tables: dict[str, pa.Table]) -> None:
    other = generate_business(DemoSpec(customers=2000, seed=8, chunk_customers=700))
    assert not other["orders"].equals(tables["orders"])


def test_every_table_has_exactly_its_contract_columns(tables: dict[str, pa.Table]) -> None:
    for kind in Kind:
        table = tables[kind.value]
        spec = SPECS[kind]
        assert tuple(table.column_names) == spec.names, kind
        for column in spec.columns:
            assert table.schema.field(column.name).type == ARROW_TYPES[column.type], column.name


def test_required_columns_are_never_null(tables: dict[str, pa.Table]) -> None:
    for kind in Kind:
        for name in (SPECS[kind].id_column, *SPECS[kind].required):
            assert tables[kind.value][name].null_count == 0, (kind, name)


def test_truth_has_the_documented_columns(tables: dict[str, pa.Table]) -> None:
    assert tables["truth"].schema == SCHEMAS["truth"]
    expected = ("customer_id", "archetype", "segment", "duplicate_of", *TRUTH_FLAGS)
    assert tuple(tables["truth"].column_names) == expected


def test_iter_business_yields_one_dict_of_all_tables_per_chunk() -> None:
    chunks = list(iter_business(DemoSpec(customers=500, chunk_customers=200)))
    assert len(chunks) == DemoSpec(customers=500, chunk_customers=200).chunks == 3
    for chunk in chunks:
        assert set(chunk) == set(SCHEMAS)
        for name, table in chunk.items():
            assert table.schema == SCHEMAS[name]


def test_ids_are_unique_across_chunks(tables: dict[str, pa.Table]) -> None:
    for kind in Kind:
        ids = tables[kind.value][SPECS[kind].id_column].to_numpy(zero_copy_only=False)
        assert len(set(ids)) == len(ids), kind
    assert tables["customers"]["customer_id"][0].as_py() == "C000001"


def test_nothing_happens_outside_the_history_window(frames: dict[str, pd.DataFrame]) -> None:
    start = datetime.combine(SPEC.start, datetime.min.time())
    columns = {
        "orders": ["ordered_at"],
        "returns": ["returned_at"],
        "interactions": ["at", "responded_at"],
        "feedback": ["at"],
        "referrals": ["at"],
        "invoices": ["paid_at"],
        "customers": ["created_at"],
    }
    for name, cols in columns.items():
        for col in cols:
            values = frames[name][col].dropna()
            assert (values < END).all(), (name, col)
            assert (values >= start).all(), (name, col)
    ts = frames["orders"]["ordered_at"]
    assert (ts.dt.microsecond == 0).all()
    assert ts.dt.hour.between(8, 21).all()


def test_same_spec_never_depends_on_today() -> None:
    spec = DemoSpec()
    assert (spec.start, spec.end) == (date(2023, 1, 1), date(2025, 12, 31))


def test_spec_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="customers"):
        DemoSpec(customers=0)
    with pytest.raises(ValueError, match="end"):
        DemoSpec(start=date(2025, 1, 1), end=date(2025, 1, 10))
    with pytest.raises(ValueError, match="orders_per_customer"):
        DemoSpec(orders_per_customer=0)


# ---- referential integrity -------------------------------------------------------------------


def test_every_reference_names_an_existing_row(frames: dict[str, pd.DataFrame]) -> None:
    customers = set(frames["customers"]["customer_id"])
    orders = set(frames["orders"]["order_id"])
    assert set(frames["orders"]["customer_id"]) <= customers
    assert set(frames["returns"]["order_id"]) <= orders
    assert set(frames["invoices"]["customer_id"]) <= customers
    assert set(frames["invoices"]["order_id"]) <= orders
    assert set(frames["interactions"]["customer_id"]) <= customers
    assert set(frames["feedback"]["customer_id"]) <= customers
    assert set(frames["referrals"]["referrer_id"]) <= customers
    assert set(frames["referrals"]["referee_id"]) <= customers
    assert set(frames["truth"]["customer_id"]) == customers


def test_returns_come_after_their_order_and_never_exceed_it(
    frames: dict[str, pd.DataFrame],
) -> None:
    r = frames["returns"].merge(frames["orders"], on="order_id", suffixes=("", "_order"))
    assert len(r) == len(frames["returns"]) > 0
    assert (r["returned_at"] > r["ordered_at"]).all()
    assert (r["amount"] <= r["amount_order"]).all()
    assert (r["amount"] > 0).all()


def test_invoices_are_one_per_b2b_order_due_in_14_or_30_days(
    frames: dict[str, pd.DataFrame],
) -> None:
    customers = frames["customers"].set_index("customer_id")
    b2b = customers.index[customers["attributes"].str.contains("segment=b2b")]
    inv = frames["invoices"].merge(frames["orders"], on="order_id", suffixes=("", "_order"))
    assert set(inv["customer_id"]) <= set(b2b)
    assert (inv["customer_id"] == inv["customer_id_order"]).all()
    assert inv["order_id"].is_unique
    b2b_orders = frames["orders"][frames["orders"]["customer_id"].isin(b2b)]
    assert len(inv) == len(b2b_orders)
    term = (inv["due_at"] - inv["ordered_at"]).dt.days
    assert term.isin([14, 30]).all()
    assert (inv["amount"] == inv["amount_order"]).all()


def test_referees_first_order_comes_after_the_referral(
    frames: dict[str, pd.DataFrame], orders: pd.DataFrame
) -> None:
    ref = frames["referrals"]
    assert len(ref) > 0
    assert (ref["referrer_id"] != ref["referee_id"]).all()
    assert ref["referee_id"].is_unique
    first = orders.groupby("person")["ordered_at"].min()
    assert (ref["at"] < ref["referee_id"].map(first)).all()
    assert (ref["at"] > ref["referrer_id"].map(first)).all()


def test_scores_and_choices_are_in_range(frames: dict[str, pd.DataFrame]) -> None:
    fb = frames["feedback"]
    assert fb["nps"].between(0, 10).all()
    assert fb["csat"].dropna().between(1, 5).all()
    ia = frames["interactions"]
    assert set(ia["direction"]) == set(SPECS[Kind.INTERACTIONS].column("direction").choices)
    assert set(ia["kind"]) == set(SPECS[Kind.INTERACTIONS].column("kind").choices)
    inbound = ia["kind"].isin(["complaint", "support"])
    assert (ia.loc[inbound, "direction"] == "in").all()
    assert (ia.loc[~inbound, "direction"] == "out").all()
    assert (ia["responded_at"].dropna() >= ia.loc[ia["responded_at"].notna(), "at"]).all()
    o = frames["orders"]
    assert (o["amount"] > 0).all() and (o["discount_amount"] >= 0).all()
    assert (o["quantity"] >= 1).all() and (o["new_products"] >= 0).all()
    assert (o["amount"].round(2) == o["amount"]).all()


# ---- the archetypes and their truth ----------------------------------------------------------


def test_every_archetype_is_present_at_2000_customers(truth: pd.DataFrame) -> None:
    assert set(truth["archetype"]) == set(ARCHETYPES)
    assert (truth["archetype"] == "big_client").sum() == 1


def test_orders_per_customer_are_near_the_target(frames: dict[str, pd.DataFrame]) -> None:
    assert SPEC.orders_per_customer == 3.5
    assert len(frames["orders"]) / SPEC.customers == pytest.approx(3.5, rel=0.1)
    many = generate_business(DemoSpec(customers=1000, seed=3, orders_per_customer=6.0))
    assert many["orders"].num_rows / 1000 == pytest.approx(6.0, rel=0.15)


def test_most_buyers_buy_once_or_twice_as_in_a_real_shop(
    truth: pd.DataFrame, orders: pd.DataFrame
) -> None:
    counts = orders.groupby("person").size()
    assert len(counts) == (truth["duplicate_of"].isna() & (truth["archetype"] != "prospect")).sum()
    assert 0.50 <= (counts == 1).mean() <= 0.65
    assert 0.20 <= (counts >= 3).mean() <= 0.35
    assert 2.5 <= counts.mean() <= 5.0


def test_loyal_advocates_are_attached_and_regulars_are_not(
    truth: pd.DataFrame, orders: pd.DataFrame
) -> None:
    """A loyal advocate spends more, for longer, rarely with a discount, with add-ons; a regular
    buys in a rhythm but takes promotions in a good share of orders and seldom uses add-ons."""
    g = orders.groupby("person")
    per = pd.DataFrame(
        {
            "aov": g["amount"].mean(),
            "days": (g["ordered_at"].max() - g["ordered_at"].min()).dt.days,
            "discounted": g["discount_amount"].apply(lambda s: (s > 0).mean()),
            "addons": g["addons"].apply(lambda s: s.notna().mean()),
        }
    )
    per["archetype"] = truth.loc[per.index, "archetype"]
    loyal = per[per["archetype"] == "loyal_advocate"]
    regular = per[per["archetype"] == "regular"]
    assert loyal["aov"].median() > 1.5 * regular["aov"].median()
    assert (loyal["days"] >= 365).mean() > 0.95
    assert loyal["discounted"].mean() < 0.1 and regular["discounted"].mean() > 0.5
    assert loyal["addons"].mean() > 0.5 and regular["addons"].mean() < 0.15
    regulars = truth[truth["archetype"] == "regular"]
    assert regulars["promoter"].mean() < 0.1 and regulars["referrer"].mean() < 0.1


def test_prospects_have_no_orders_and_one_time_buyers_one(
    truth: pd.DataFrame, orders: pd.DataFrame
) -> None:
    counts = orders.groupby("person").size().reindex(truth.index, fill_value=0)
    assert (counts[truth["archetype"] == "prospect"] == 0).all()
    assert (counts[truth["archetype"] == "one_time"] == 1).all()
    assert (counts[truth["archetype"] == "regular"] >= 3).all()


def test_big_client_has_at_least_20_percent_of_trailing_year_revenue(
    frames: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    big = truth.index[truth["archetype"] == "big_client"][0]
    o = frames["orders"]
    for days in (365, 366):
        window = o[o["ordered_at"] >= END - timedelta(days=days)]
        share = window.loc[window["customer_id"] == big, "amount"].sum() / window["amount"].sum()
        assert 0.2 <= share < 0.4
    net = window.groupby("customer_id")["amount"].sum()
    assert net.idxmax() == big


def test_shrinking_orders_truth_matches_the_last_orders(
    orders: pd.DataFrame, truth: pd.DataFrame
) -> None:
    flagged = persons_with(truth, "shrinking_orders")
    assert flagged.sum() > 0
    assert (truth.loc[flagged[flagged].index, "archetype"] == "b2b_shrinking").all()
    for person, group in orders.groupby("person"):
        a = group["amount"].to_numpy()
        if len(a) < 3:
            continue
        falling = bool(np.all(np.diff(a[-4:]) < 0)) if len(a) >= 4 else False
        if flagged[person]:
            assert falling and np.all(a[-3:] / a[-4:-1] <= 0.86), person
        else:
            assert not (a[-3] > a[-2] > a[-1]), person
            if len(a) >= 4:
                assert a[-3:].mean() >= 0.7 * a[:-3].mean(), person


def test_slower_payments_truth_matches_the_invoices(
    frames: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    inv = frames["invoices"].sort_values(["customer_id", "due_at"])
    due = inv[inv["due_at"] < END]
    flagged = persons_with(truth, "slower_payments")
    for customer, group in due.groupby("customer_id"):
        delay = (group["paid_at"] - group["due_at"]).dt.total_seconds() / 86_400
        overdue = group["paid_at"].isna().any()
        paid = delay.dropna().to_numpy()
        growing = len(paid) >= 3 and bool(np.all(np.diff(paid[-3:]) > 0))
        assert flagged[customer] == (overdue or growing), customer
    assert flagged.sum() == (truth["archetype"] == "b2b_shrinking").sum()


def test_dropped_addons_truth_matches_the_orders(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    flagged = persons_with(truth, "dropped_addons")
    assert flagged.sum() > 0
    for person, group in orders.groupby("person"):
        addons = group["addons"].fillna("").to_numpy()
        if len(addons) < 4:
            continue
        dropped = False
        for addon in set(";".join(addons).split(";")) - {""}:
            used = np.array([addon in a.split(";") for a in addons])
            dropped |= bool(used[:-3].mean() >= 0.5 and not used[-3:].any())
            if not flagged[person] and used[:-1].mean() >= 0.5:
                assert used[-1], person
        assert dropped == flagged[person], person


def test_unresponsive_truth_matches_the_offers(
    frames: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    offers = frames["interactions"]
    offers = offers[offers["kind"] == "offer"].sort_values(["customer_id", "at"])
    answered = (offers["responded_at"] - offers["at"]) <= pd.Timedelta(days=14)
    last3 = offers.assign(answered=answered).groupby("customer_id").tail(3)
    silent = last3.groupby("customer_id").agg(n=("answered", "size"), any=("answered", "any"))
    rule = (silent["n"] == 3) & ~silent["any"]
    flagged = persons_with(truth, "unresponsive")
    assert flagged.sum() > 0
    assert rule.reindex(flagged.index, fill_value=False).equals(flagged)


def test_status_truth_follows_the_archetypes(truth: pd.DataFrame) -> None:
    by = truth.groupby("archetype")[["is_lost", "is_lapsing", "won_back"]].mean()
    assert by.loc["churned", "is_lost"] == 1.0
    assert by.loc["drifting", "is_lapsing"] == 1.0
    assert by.loc["won_back", "won_back"] == 1.0
    active = ["regular", "loyal_advocate", "b2b_regular", "innovator", "big_client"]
    assert (by.loc[active, ["is_lost", "is_lapsing"]] == 0).all().all()
    assert by.loc["one_time", "is_lost"] > 0.5


def test_status_truth_follows_the_order_history(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    g = orders.groupby("person")["ordered_at"]
    last = g.max()
    recency = (END - last).dt.total_seconds() / 86_400
    gaps = orders.assign(gap=g.diff().dt.total_seconds() / 86_400).groupby("person")["gap"]
    median, count = gaps.median(), g.size()
    # DOMAIN §4: fewer than 2 gaps -> the base's median over every gap of every person
    base = orders.assign(gap=g.diff().dt.total_seconds() / 86_400)["gap"].median()
    typical = median.where(count >= 3, base)
    lost = (recency > 365) | (recency > 3 * typical)
    lapsing = ~lost & (recency > 1.5 * typical)
    recent = orders["ordered_at"] > END - pd.Timedelta(days=365)
    comeback = orders.assign(gap=g.diff().dt.total_seconds() / 86_400)[recent]
    comeback = comeback.groupby("person")["gap"].max().reindex(last.index)
    was_lost = (comeback > np.minimum(3 * typical, 365)) & (comeback >= 90)
    persons = truth.loc[last.index]
    assert lost.equals(persons["is_lost"].rename(lost.name))
    assert lapsing.equals(persons["is_lapsing"].rename(lapsing.name))
    assert (was_lost & ~lost & ~lapsing).equals(persons["won_back"].rename(lost.name))


def test_drifting_and_churned_gaps_widen_and_others_do_not_end_on_a_long_one(
    orders: pd.DataFrame, truth: pd.DataFrame
) -> None:
    days = orders.groupby("person")["ordered_at"].diff().dt.total_seconds() / 86_400
    gaps = orders.assign(gap=days).dropna(subset=["gap"]).groupby("person")["gap"]
    last, median, count = gaps.last(), gaps.median(), gaps.size()
    widening = truth.loc[last.index, "widening_gaps"]
    assert (last[widening] > median[widening]).all()
    regular_like = ~widening & (count >= 3) & (truth.loc[last.index, "archetype"] != "won_back")
    assert (last[regular_like] <= 1.41 * median[regular_like]).all()


def test_data_flags_follow_their_rules(
    frames: dict[str, pd.DataFrame], orders: pd.DataFrame, truth: pd.DataFrame
) -> None:
    g = orders.groupby("person")
    discounted = g["discount_amount"].apply(lambda s: (s > 0).mean() > 0.5)
    new = g["new_products"].apply(lambda s: (s > 0).mean() >= 0.3)
    cats = g["categories"].apply(lambda s: len(set(";".join(s).split(";"))))
    persons = truth.loc[discounted.index]
    assert discounted.equals(persons["discount_driven"].rename("discount_amount"))
    assert new.equals(persons["innovator"].rename("new_products"))
    assert ((cats >= 4) == persons["diverse"]).all()
    assert (((cats <= 1) & (g.size() >= 3)) == persons["focused"]).all()
    referrers = set(frames["referrals"]["referrer_id"])
    assert set(truth.index[truth["referrer"] & truth["duplicate_of"].isna()]) == referrers
    fb = frames["feedback"].sort_values(["customer_id", "at"]).groupby("customer_id")["nps"]
    latest = fb.last()
    before = fb.apply(lambda s: s.iloc[-2] if len(s) > 1 else np.nan)
    promoters = set(latest.index[latest >= 9])
    assert set(truth.index[truth["promoter"] & truth["duplicate_of"].isna()]) == promoters
    detractors = set(latest.index[(latest <= 6) | (before - latest >= 3)])
    assert set(truth.index[truth["detractor"] & truth["duplicate_of"].isna()]) == detractors


def test_loyal_advocates_promote_and_refer(truth: pd.DataFrame) -> None:
    advocates = truth[truth["archetype"] == "loyal_advocate"]
    assert advocates["referrer"].mean() > 0.8
    assert advocates["promoter"].mean() > 0.8
    assert not advocates["detractor"].any()


def test_problem_customers_complained_or_returned_recently(truth: pd.DataFrame) -> None:
    problem = truth[truth["archetype"] == "problem"]
    assert problem["complaints_returns"].all()
    assert truth.loc[truth["archetype"] == "regular", "complaints_returns"].mean() < 0.15


def test_discount_hunters_innovators_and_addon_droppers_show_their_trait(
    truth: pd.DataFrame,
) -> None:
    assert truth.loc[truth["archetype"] == "discount_hunter", "discount_driven"].mean() > 0.95
    assert truth.loc[truth["archetype"] == "innovator", "innovator"].mean() > 0.9
    assert truth.loc[truth["archetype"] == "addon_dropper", "dropped_addons"].all()
    assert truth["focused"].sum() > 100 and truth["diverse"].sum() > 100


def test_duplicate_cards_share_an_email_or_a_phone_in_another_form(
    frames: dict[str, pd.DataFrame], truth: pd.DataFrame
) -> None:
    customers = frames["customers"].set_index("customer_id")
    dups = truth[truth["duplicate_of"].notna()]
    assert len(dups) > 0 and (dups["archetype"] == "duplicate_card").all()
    digits = customers["phone"].str.replace(r"\D", "", regex=True)
    for card, canonical in dups["duplicate_of"].items():
        email, phone = customers.at[card, "email"], customers.at[card, "phone"]
        if isinstance(email, str):
            assert email != customers.at[canonical, "email"]
            assert email.lower() == customers.at[canonical, "email"]
        else:
            assert phone != customers.at[canonical, "phone"]
            assert digits[card] == digits[canonical]
        assert pd.isna(truth.at[canonical, "duplicate_of"])
    # nobody else shares an e-mail or a phone
    emails = customers["email"].dropna().str.lower()
    assert emails.duplicated().sum() == customers.loc[dups.index, "email"].notna().sum()
    assert digits.dropna().duplicated().sum() == customers.loc[dups.index, "phone"].notna().sum()


def test_after_merging_duplicates_there_are_exactly_the_customers_asked_for(
    truth: pd.DataFrame, orders: pd.DataFrame
) -> None:
    assert truth["duplicate_of"].isna().sum() == SPEC.customers
    assert orders["person"].isin(truth.index[truth["duplicate_of"].isna()]).all()


def test_orders_peak_in_december_and_dip_in_summer(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"]
    o = o[
        o["customer_id"].isin(frames["truth"].loc[lambda t: t["segment"] == "b2c", "customer_id"])
    ]
    by_month = o.groupby(o["ordered_at"].dt.month)["amount"].sum()
    assert by_month.idxmax() == 12
    assert by_month[[7, 8]].mean() < 0.8 * by_month[[3, 4, 5, 9, 10]].mean()
