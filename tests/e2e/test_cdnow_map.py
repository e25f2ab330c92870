"""A real public data set in its own format, analysed through the CLI: the rung and status counts
must match an independent computation (pandas, written from DOMAIN §3-§4, not from our code).

CDNOW has orders only: no discounts, add-ons, NPS or referrals, so "loyal" rests on the three
attachment signs the orders themselves show (frequency and average order above the regulars'
medians, an active relationship of a year from first to last order), all three needed, and never
for a lost customer; nobody can be an advocate.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime

import pandas as pd
import pyarrow.parquet as pq

DAY = 86_400.0


def independent(path) -> tuple[Counter[str], Counter[str]]:
    df = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    df["at"] = pd.to_datetime(df["date"], format="%Y%m%d")
    df = df.sort_values(["customer_id", "at", "dollar_value"], kind="stable")
    as_of = datetime.combine(df["at"].max().date(), datetime.max.time())
    as_of_s = (pd.Timestamp(as_of) - pd.Timestamp(0)).total_seconds()
    df["s"] = (df["at"] - pd.Timestamp(0)).dt.total_seconds()
    df["gap"] = df.groupby("customer_id")["s"].diff() / DAY
    # a comeback counts as "won back" while the order that ended the gap is within a year
    df["comeback"] = df["gap"].where(as_of_s - df["s"] < 365 * DAY)
    c = df.groupby("customer_id").agg(
        orders=("s", "size"),
        first=("s", "min"),
        last=("s", "max"),
        revenue=("dollar_value", "sum"),
        own_gap=("gap", "median"),
        comeback_gap=("comeback", "max"),
    )
    base_gap = df["gap"].median()  # every gap between consecutive orders, all customers
    c["aov"] = c["revenue"] / c["orders"]
    c["tenure"] = (as_of_s - c["first"]) / DAY
    c["since"] = (as_of_s - c["last"]) / DAY
    c["freq"] = c["orders"] * 365.25 / c["tenure"].clip(lower=1.0)
    own = (c["orders"] - 1 >= 2) & (c["own_gap"] > 0)
    c["typical"] = c["own_gap"].where(own, base_gap)

    lost_after = (3 * c["typical"]).clip(upper=365.0)
    lost = (c["since"] > 3 * c["typical"]) | (c["since"] > 365)
    lapsing = c["since"] > 1.5 * c["typical"]
    was_lost = (c["comeback_gap"].fillna(-1) > lost_after) & (c["comeback_gap"] >= 90)
    # one status each, by urgency: lost, then lapsing (drifting now, even after a comeback),
    # then won back, then active
    status = pd.Series("active", index=c.index)
    status[was_lost] = "won_back"
    status[lapsing] = "lapsing"
    status[lost] = "lost"

    regulars = c[c["orders"] >= 3]
    signs = (
        (c["freq"] > regulars["freq"].median()).astype(int)
        + (c["aov"] > regulars["aov"].median()).astype(int)
        + ((c["last"] - c["first"]) / DAY >= 365).astype(int)
    )
    rung = pd.Series("newcomer", index=c.index)
    rung[c["orders"] == 2] = "returning"
    rung[c["orders"] >= 3] = "regular"
    rung[(c["orders"] >= 3) & (signs >= 3) & ~lost] = "loyal"
    return Counter(rung), Counter(status)


def test_cdnow_rungs_and_statuses_match_an_independent_computation(
    regulars, tmp_path, cdnow_master
):
    shutil.copy(cdnow_master, tmp_path / "CDNOW_master.txt")
    # the rules of DOMAIN §3-§4 on the dates alone: a model's P(alive) (which may also make a
    # customer lost) is checked in test_cdnow_models.py
    (tmp_path / "regulars.toml").write_text("[analysis]\npredictions = false\n")
    result = regulars(
        tmp_path,
        "analyze",
        "orders=CDNOW_master.txt",
        "--map",
        "ordered_at=date",
        "--map",
        "amount=dollar_value",
        "--date-format",
        "%Y%m%d",
        "--out",
        "map.parquet",
    )
    assert result.returncode == 0, result.stderr
    assert "as of Jun 30, 1998" in result.stdout
    got = pq.read_table(tmp_path / "map.parquet").to_pandas()
    assert len(got) == 23_570
    rungs, statuses = independent(tmp_path / "CDNOW_master.txt")
    assert Counter(got["rung"]) == rungs
    assert Counter(got["status"]) == statuses
    # and the map says what it could not look at for lack of tables
    assert "not evaluated" in result.stdout and "slower_payments" in result.stdout
