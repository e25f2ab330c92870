"""Benchmark: does our ranking of whom to save catch more of the revenue later lost than the
baselines a business would otherwise use? (issue 13, "Done when")

    .venv/bin/python benchmarks/bench_backtest.py                     # demo (2,000) and CDNOW
    .venv/bin/python benchmarks/bench_backtest.py --customers 20000 --only demo

Two runs of ``regulars.backtest`` (the same code as ``regulars backtest``), every threshold at
its default:

a. **the demo business** ``regulars demo-data`` writes (``--customers``, ``--seed``; written to
   ``benchmarks/data/``, git-ignored), every table of it, as of its last order day − 180 days,
   horizon 180 days (to the last order day);
b. **CDNOW** (``CDNOW_master.txt`` from the lifetimes wheel, read as the README's ``analyze``
   example reads it: ``--map ordered_at=date --map amount=dollar_value --date-format %Y%m%d``,
   and ``quantity=number_of_cds``) as of 1997-09-30, horizon to 1998-06-30 (its last order day).

For each it prints the share of the later-lost revenue the top 1 %, 5 % and 10 % of every
method's list catch (docs/backtest.md defines each), whether ours beats every baseline at each
cut, the ranking's basis, the statuses' precision and recall, retention by rung and the time
taken. Nothing here tunes anything: the figures are what the defaults give.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv

import regulars
from regulars.entrypoints.report.backtest import labels, pct

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
# the lifetimes copy has a header (customer_id date number_of_cds dollar_value); the README's
# --map column1..4 flags are for the original headerless file: these name the same columns
CDNOW_OPTIONS = regulars.ReadOptions(
    mapping={"ordered_at": "date", "quantity": "number_of_cds", "amount": "dollar_value"},
    date_format="%Y%m%d", currency="USD")
KINDS = ("orders", "customers", "returns", "invoices", "interactions", "feedback", "referrals")


def cdnow_path() -> Path:
    """CDNOW_master.txt inside the lifetimes wheel (found without importing lifetimes, which
    needs pkg_resources)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("lifetimes (a dev dependency) is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"


def demo_files(customers: int, seed: int) -> dict[str, Path]:
    from regulars.demo import DemoSpec
    from regulars.demo.files import write_demo

    where = DATA / f"backtest-demo-c{customers}-s{seed}"
    if not (where / "orders.csv").exists():
        write_demo(where, DemoSpec(customers=customers, seed=seed), fmt="csv", overwrite=True)
    return {k: where / f"{k}.csv" for k in KINDS}


def show(name: str, result: Any, seconds: float) -> bool:
    """Print one backtest; True when ours beats every baseline at every cut."""
    words = labels()
    c = result.comparison
    print(f"\n## {name}: as of {result.as_of}, horizon {result.horizon_days} days to "
          f"{result.until} ({seconds:.1f} s)\n")
    print(f"{c.customers:,} customers with an order by then; {c.gone:,} placed no order in the "
          f"horizon; lost revenue {c.lost_revenue:,.0f} (revenue before {c.revenue_before:,.0f},"
          f" in the horizon {c.revenue_after:,.0f}).")
    r = result.ranking
    print(f"Ranking basis: {r.get('basis')} ({r.get('situations', 0):,} situations at "
          f"{len(r.get('dates') or [])} earlier dates, its own horizon {r.get('horizon_days')} "
          "days).\n")
    cuts = [f"top {p}% ({k:,})" for p, k in zip(c.percents, c.top, strict=True)]
    print("| method | " + " | ".join(cuts) + " |")
    print("|---|" + "---:|" * len(cuts))
    for cap in c.capture:
        cells = ([pct(s) for s in cap.shares] if cap.available
                 else [f"not available: {cap.reason}"] + [""] * (len(cuts) - 1))
        print(f"| {words.get(cap.method, cap.method)} | " + " | ".join(cells) + " |")
    beats = ["yes" if b else ("no" if b is not None else "—") for b in c.beats_baselines]
    print("| **ours beats every baseline** | " + " | ".join(beats) + " |\n")
    for s in c.statuses:
        print(f"- {words[s.status]}: precision {pct(s.precision)} of {s.flagged:,}, recall "
              f"{pct(s.recall)} of {s.gone:,} gone")
    for o in c.status_outcomes:
        print(f"- {words[o.status]}: {pct(o.share)} of {o.customers:,} ordered again")
    for g in c.rungs:
        print(f"- {words[g.rung]}: {g.customers:,} customers, {pct(g.share_ordered)} ordered, "
              f"revenue kept {pct(g.revenue_kept)}")
    return all(b is True for b in c.beats_baselines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--only", choices=("demo", "cdnow"))
    args = ap.parse_args()
    print(f"# Backtest benchmark (regulars {regulars.__version__})")
    settings = regulars.Settings()  # the embedded defaults, whatever ./regulars.toml says
    verdicts = {}
    if args.only in (None, "demo"):
        files = demo_files(args.customers, args.seed)
        orders = pacsv.read_csv(files["orders"])
        last = pc.max(orders["ordered_at"]).as_py().date()
        start = time.perf_counter()
        result = regulars.backtest(**files, as_of=last - timedelta(days=180), horizon="180d",
                                   config=settings)
        verdicts["demo"] = show(f"demo business ({args.customers:,} customers, seed "
                                f"{args.seed})", result, time.perf_counter() - start)
    if args.only in (None, "cdnow"):
        start = time.perf_counter()
        result = regulars.backtest(cdnow_path(), as_of=date(1997, 9, 30),
                                   until=date(1998, 6, 30), config=settings,
                                   options=CDNOW_OPTIONS)
        verdicts["CDNOW"] = show("CDNOW", result, time.perf_counter() - start)
    print("\n" + "; ".join(f"{k}: ours {'beats' if v else 'does NOT beat'} every baseline at "
                           "1 %, 5 % and 10 %" for k, v in verdicts.items()))


if __name__ == "__main__":
    main()
