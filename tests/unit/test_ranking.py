"""Money at stake (analytics.ranking), hand-computed on a tiny business.

As of 2024-12-31 with a horizon of 100 days and one earlier date (the cut, 100 days before):
ten one-order customers N0..N9 bought for 10 ten days before the cut; after it N0 and N1 came
back once (10), N2 and N3 twice (10 + 10), N4..N9 never. S bought 100, 80, 60, 40 in the last
40 days (after the cut, so it is not part of the history).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from regulars.analytics.models import occasions
from regulars.analytics.params import MapParams
from regulars.analytics.ranking import PRIOR_WEIGHT, calibrate, money_at_stake

AS_OF = date(2024, 12, 31)
CUT = AS_OF - timedelta(days=100)
PARAMS = MapParams(stake_horizon_days=100, stake_calibration_cuts=1, stake_min_history=1)


def at(d: date, days: int) -> datetime:
    return datetime.combine(d + timedelta(days=days), datetime.min.time())


def business() -> list[tuple[str, datetime, float]]:
    rows = [(f"N{i}", at(CUT, -10), 10.0) for i in range(10)]
    rows += [("N0", at(CUT, 20), 10.0), ("N1", at(CUT, 20), 10.0)]
    rows += [(c, at(CUT, day), 10.0) for c in ("N2", "N3") for day in (20, 40)]
    rows += [("S", at(AS_OF, -d), a) for d, a in ((40, 100.0), (30, 80.0), (20, 60.0),
                                                   (10, 40.0))]
    return rows


@pytest.fixture(scope="module")
def ranked() -> tuple[dict[str, dict[str, object]], object]:
    rows = business()
    occ = occasions(pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]),
                    pa.array([r[2] for r in rows]))
    table, cal = money_at_stake(occ, as_of=AS_OF, params=PARAMS)
    return {r["customer_id"]: r for r in table.to_pylist()}, cal


# At the cut every customer is in one situation (1 order, no gap anywhere yet): 4 of 10 came
# back. Smoothed: everyone (4 + 0.5) / 11, then by order count, by time since, by shrinking.
EVERYONE = (4 + 0.5) / 11
BY_ORDERS = (4 + PRIOR_WEIGHT * EVERYONE) / (10 + PRIOR_WEIGHT)
# Returners' order days in the horizon: 1, 1, 2, 2 -> 1.5. At the cut each one-order customer
# would bring 1.5 × 10 = 15, but a history of 10 in 10 days supports only 10 × 100 / 100 = 10
# in the horizon; the share they did not bring: N0..N3 none, N4..N9 all.
SHORT_ALL = (6 + 0.5) / 11
SHORT_BY_ORDERS = (6 + PRIOR_WEIGHT * SHORT_ALL) / (10 + PRIOR_WEIGHT)


def test_the_history_is_counted_at_the_earlier_date(ranked):
    _, cal = ranked
    assert cal.basis == "history"
    assert cal.cut_days == ((CUT - date(1970, 1, 1)).days,)
    assert (cal.situations, int(cal.returned.sum())) == (10, 4)
    assert cal.newcomer_orders == 1.5


def test_a_newcomer_gets_the_comeback_rate_of_newcomers_before(ranked):
    # N4 is now 110 days past its order, a situation nobody was in at the cut: it borrows
    # the rate of every one-order customer (its broader situation)
    n4 = ranked[0]["N4"]
    assert n4["p_gone"] == pytest.approx(1 - BY_ORDERS, abs=1e-4)
    # if it came back it would bring what returning newcomers brought, 1.5 orders of 10, but
    # its history (10 in 110 days) supports 10 × 100 / 110 in the horizon
    assert n4["expected_revenue"] == pytest.approx(1000 / 110, abs=0.005)
    assert n4["money_at_stake"] == pytest.approx(1000 / 110 * SHORT_BY_ORDERS, abs=0.01)


def test_two_orders_promise_no_more_than_one_more_in_the_horizon(ranked):
    # N0: 2 order days 30 days apart: (2 - 1) × 100 / max(30, 100) = 1 order of 10
    assert ranked[0]["N0"]["expected_revenue"] == 10.0


def test_the_order_value_follows_its_trend(ranked):
    # S: 4 order days over 30 days -> 3 × 100 / 100 = 3 orders; mean 70, the last three 60
    s = ranked[0]["S"]
    assert s["expected_revenue"] == pytest.approx(3 * 60.0)
    ev = json.loads(str(s["stake"]))
    assert (ev["expected_orders"], ev["order_value"], ev["trend"]) == (3.0, 60.0, 0.8571)


def test_the_evidence_says_where_the_probability_comes_from(ranked):
    ev = json.loads(str(ranked[0]["N4"]["stake"]))
    assert (ev["about"], ev["basis"], ev["horizon_days"]) == ("stake", "history", 100)
    # the exact situation has no history: similar and came_back count its own cell
    assert (ev["similar"], ev["came_back"]) == (0, 0)


def test_too_little_history_falls_back_to_the_status_and_says_so():
    rows = business()
    occ = occasions(pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]),
                    pa.array([r[2] for r in rows]))
    params = MapParams(stake_horizon_days=100, stake_calibration_cuts=1, stake_min_history=11)
    status = pa.table({"customer_id": ["N4", "S"], "status": ["lost", "active"]})
    table, cal = money_at_stake(occ, as_of=AS_OF, params=params, status=status)
    got = {r["customer_id"]: r for r in table.to_pylist()}
    assert cal.basis == "rules"
    assert (got["N4"]["p_gone"], got["S"]["p_gone"]) == (0.9, 0.1)
    assert got["N4"]["money_at_stake"] == pytest.approx(1000 / 110 * 0.9, abs=0.01)
    assert json.loads(str(got["N4"]["stake"]))["basis"] == "rules"


def test_a_business_younger_than_the_horizon_has_no_history():
    rows = [("A", at(AS_OF, -10), 5.0), ("A", at(AS_OF, -5), 5.0)]
    occ = occasions(pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]),
                    pa.array([r[2] for r in rows]))
    cal = calibrate(occ, as_of=AS_OF, params=PARAMS)
    assert (cal.cut_days, cal.situations, cal.basis) == ((), 0, "rules")
