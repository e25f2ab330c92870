"""Predictions on a real data set through the CLI: CDNOW (Fader & Hardie), whose first buyers
all arrived in the first quarter of 1997.

- ``regulars models evaluate``: fitted on the orders to 1997-09-30 (39 weeks), each model's
  predicted repeat order days in the 39-week holdout against what the customers did, as a table
  and a chart;
- ``regulars analyze`` with predictions on: every customer gains P(alive) and the rest, and
  whoever the model gives P(alive) < 0.2 is lost.
"""

from __future__ import annotations

import re
import shutil

import pyarrow.parquet as pq

READ = ["--map", "ordered_at=date", "--map", "amount=dollar_value", "--date-format", "%Y%m%d"]


def test_models_evaluate_on_cdnow_predicts_the_holdout(regulars, tmp_path, cdnow_master):
    shutil.copy(cdnow_master, tmp_path / "CDNOW_master.txt")
    result = regulars(tmp_path, "models", "evaluate", "CDNOW_master.txt", *READ,
                      "--calibration-end", "1997-09-30", "--report", "evaluation.html")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "holdout to Jun 30, 1998 (23,570 customers)" in out
    for model in ("Pareto/", "MBG/NBD", "BG/NBD"):
        assert model in out
    html = (tmp_path / "evaluation.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 6  # two charts per model
    totals = re.findall(r"Holdout orders: ([\d,]+) actual, ([\d,]+) predicted", html)
    assert len(totals) == 3
    for actual, predicted in totals:
        a, p = int(actual.replace(",", "")), int(predicted.replace(",", ""))
        assert a == 19_684  # order days of the calibration customers in the holdout
        # measured: Pareto/NBD 17,153, MBG/NBD 15,934, BG/NBD 16,874 (13-19 % under)
        assert 0.75 * a < p < 1.1 * a


def test_analyze_cdnow_with_predictions(regulars, tmp_path, cdnow_master):
    shutil.copy(cdnow_master, tmp_path / "CDNOW_master.txt")
    result = regulars(tmp_path, "analyze", "orders=CDNOW_master.txt", *READ,
                      "--out", "map.parquet")
    assert result.returncode == 0, result.stderr
    assert "predictions: Pareto/NBD fitted on 23,570 customers" in result.stdout
    assert "by money at stake" in result.stdout
    t = pq.read_table(tmp_path / "map.parquet").to_pandas()
    assert len(t) == 23_570
    assert t["p_alive"].between(0, 1).all() and t["clv"].ge(0).all()
    assert (t.loc[t["p_alive"] < 0.2, "status"] == "lost").all()
    # one-time buyers are not all certainly alive (the BG/NBD artefact)
    once = t[t["orders"] == 1]
    assert (once["p_alive"] < 0.5).mean() > 0.5
