"""Benchmark: the customer map of ten million orders against DuckDB's bare GROUP BY.

    .venv/bin/python benchmarks/bench_map_speed.py                     # 1,000,000 customers
    .venv/bin/python benchmarks/bench_map_speed.py --customers 20000   # a quick run

One run:

1. generates the orders of a demo business of ``--customers`` persons (about ten orders each;
   the same generator and spec as ``regulars demo``, seed ``--seed``) into
   ``benchmarks/data/orders-c<N>-s<seed>.parquet`` (git-ignored), or reuses that file;
2. in ONE process, interleaved, ``--runs`` times each (the best is reported):

   - **GROUP BY**: DuckDB's bare ``SELECT customer_id, count(*), min(ordered_at),
     max(ordered_at), sum(amount) FROM read_parquet(...) GROUP BY customer_id``, materialised
     to Arrow;
   - **analyze(file)**: ``regulars.analyze(orders=<the Parquet file>, as_of=<end date>)``, what
     a user runs: reading and validating the file as an import would, the customer map now and
     a year earlier (for the ladder flow), the portfolio, and the evidence as sentences; split
     into stages by timing those functions from the outside (nothing under ``src/`` changes);
   - **map alone**: ``customer_map(t, as_of=...).to_arrow()`` on an Ibis DuckDB table ``t``
     already loaded (``CREATE TABLE ... AS SELECT * FROM read_parquet(...)``, timed once);

   and, for reference, the map on a DuckDB view of the Parquet file and on the Arrow table
   registered with DuckDB (what ``analyze`` does; on this DuckDB both are faster than the
   loaded table), and the same GROUP BY on the loaded table;
3. runs each of the three once more in a fresh child process of its own, for a clean peak RSS
   (``os.wait4``: the child's own high-water mark, the interpreter included; for the map alone
   also the peak before the map ran, i.e. with the table loaded);
4. prints the machine, a Markdown table of wall times, CPU seconds, ratios to the GROUP BY and
   peaks, and the stages of ``analyze``; ``--breakdown RUNS`` adds where the map's time goes
   (a hand-written SQL floor for any rhythm rule, the order facts, the map of the required
   columns only, the map without evidence), best of RUNS each.

``--analyze-only`` runs only ``analyze(file)`` (``--runs`` times, in a child process) and
prints its stages in wall and CPU seconds (CPU seconds stay comparable on a shared machine);
with ``PYTHONPATH=<another checkout>/src`` it measures that code instead, for a before/after.

The issue's aim is the full map within 3x the bare GROUP BY. On a shared machine use
``--wait-idle 300``: before each measurement it waits for other processes to leave the CPUs
idle, and the "others' CPU s" column shows how much they used anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AIM_RATIO = 3.0

GROUP_BY_SQL = ("SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at, "
                "max(ordered_at) AS last_order_at, sum(amount) AS revenue FROM {src} "
                "GROUP BY customer_id")


# --- measurement helpers (both sides) ------------------------------------------------------


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (0 where there is no /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_idle(max_seconds: float) -> None:
    """Wait (at most ``max_seconds``) until other processes leave the CPUs nearly idle."""
    if max_seconds <= 0:
        return
    deadline = time.monotonic() + max_seconds
    cores = os.cpu_count() or 1
    while time.monotonic() < deadline:
        b0 = _cpu_busy_seconds()
        time.sleep(3)
        if (_cpu_busy_seconds() - b0) / (3 * cores) < 0.15:
            return
    print(f"  (the machine is still busy after {max_seconds:.0f} s; measuring anyway)",
          flush=True)


def measure(fn: Callable[[], Any]) -> dict[str, Any]:
    """Wall and CPU seconds of ``fn()``, the CPU other processes used meanwhile, and this
    process's peak RSS after it (a high-water mark: it never goes down)."""
    busy0, cpu0, t0 = _cpu_busy_seconds(), _cpu_self(), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    cpu = _cpu_self() - cpu0
    others = max(0.0, _cpu_busy_seconds() - busy0 - cpu)
    rows = getattr(out, "num_rows", None)
    return {"seconds": seconds, "cpu": cpu, "others_cpu": others, "rows": rows,
            "peak_mb_after": _peak_mb_self()}


# --- the three measured things ---------------------------------------------------------------


def _sql_path(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def group_by(con: Any, src: str) -> Any:
    return con.sql(GROUP_BY_SQL.format(src=src)).to_arrow_table()


class StageTimer:
    """Exclusive seconds per stage of ``regulars.analyze``, from wrappers around its calls."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        """CPU seconds of this process (DuckDB's threads included) per stage, exclusive."""
        self.stack: list[tuple[float, float]] = []
        self.cache_calls = 0

    def _timed(self, fn: Callable[..., Any], label: str | Callable[[], str],
               outermost: bool = False) -> Any:
        """``fn`` timed under ``label``; ``outermost``: only where no other stage runs (a call
        inside another stage stays that stage's time)."""
        def timed(*args: Any, **kwargs: Any) -> Any:
            if outermost and self.stack:
                return fn(*args, **kwargs)
            name = label() if callable(label) else label
            self.stack.append((0.0, 0.0))
            t0, c0 = time.perf_counter(), _cpu_self()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed, cpu = time.perf_counter() - t0, _cpu_self() - c0
                nested, nested_cpu = self.stack.pop()
                self.times[name] = self.times.get(name, 0.0) + elapsed - nested
                self.cpu[name] = self.cpu.get(name, 0.0) + cpu - nested_cpu
                if self.stack:
                    outer, outer_cpu = self.stack[-1]
                    self.stack[-1] = (outer + elapsed, outer_cpu + cpu)

        return timed

    def instrument(self) -> None:
        import ibis.expr.types as ir

        from regulars import bootstrap
        from regulars.services import analysis

        def cache_label() -> str:
            self.cache_calls += 1
            return ("map now: computed and cached in DuckDB" if self.cache_calls % 2 == 1
                    else "map a year earlier (ladder flow): cached")

        # the file's reading and checks: services/inputs.py's Inputs.load where it exists,
        # before it bootstrap._load (load_table calls it)
        try:
            from regulars.services import inputs
        except ImportError:  # before the inputs moved out of bootstrap
            inputs = None  # type: ignore[assignment]
        readers: list[tuple[Any, ...]] = (
            [(inputs.Inputs, "load", "read + validate the file (as an import)"),
             (inputs, "fold_merged", "read + validate the file (as an import)")]
            if inputs is not None else
            [(bootstrap, "_load" if hasattr(bootstrap, "_load") else "load_table",
              "read + validate the file (as an import)"),
             *([(bootstrap, "_fold_merged", "read + validate the file (as an import)")]
               if hasattr(bootstrap, "_fold_merged") else [])])
        plan: list[tuple[Any, ...]] = [
            *readers,
            (bootstrap.DuckDBEngine, "table", "hand the Arrow table to DuckDB"),
            (analysis, "default_as_of", "other"),
            (analysis, "_count", "other"),
            (ir.Table, "cache", cache_label),
            (ir.Table, "to_pyarrow", "map now: cached table to Arrow", True),
            (analysis, "portfolio", "portfolio (reads both maps)"),
            # the sentences: add_sentences since round_days split from it (analyze calls it
            # through the Frame, on first use); before that finish_rows, and before that an
            # add_sentences that also rounded the day counts
            (analysis, "add_sentences" if hasattr(analysis, "round_days") or not hasattr(
                analysis, "finish_rows") else "finish_rows", "evidence as sentences (Python)"),
            # the customer-base models of both maps: their orders, summaries and fits
            (analysis.models, "fit_and_predict", "predictions: summaries and fits (both maps)"),
            *([(analysis.models, name, "predictions: summaries and fits (both maps)")
               for name in ("orders_arrow", "orders_occasions")
               if hasattr(analysis.models, name)]),
        ]
        for owner, name, label, *outermost in plan:
            setattr(owner, name, self._timed(getattr(owner, name), label, *outermost))

    def reset(self) -> None:
        self.times = {}
        self.cpu = {}
        self.cache_calls = 0

    def exclusive(self, total: float) -> dict[str, float]:
        times = dict(self.times)
        times["other"] = times.get("other", 0.0) + total - sum(times.values())
        return times

    def exclusive_cpu(self, total: float) -> dict[str, float]:
        cpu = dict(self.cpu)
        cpu["other"] = cpu.get("other", 0.0) + total - sum(cpu.values())
        return cpu


def _as_of(end: str) -> tuple[Any, Any]:
    from datetime import date

    from regulars.services.analysis import end_of_day

    d = date.fromisoformat(end)
    return d, end_of_day(d)


def analyze_file(path: Path, end: str) -> Any:
    import regulars

    day, _moment = _as_of(end)
    settings = regulars.load_settings(_empty_config(), database_url="sqlite:///:memory:")
    return regulars.analyze(orders=path, as_of=day, config=settings).customers.to_arrow()


def map_alone(table: Any, end: str) -> Any:
    from regulars.analytics.customer_map import customer_map

    _day, moment = _as_of(end)
    return customer_map(table, as_of=moment).to_arrow()


def load_table(path: Path) -> tuple[Any, Any]:
    import ibis

    con = ibis.duckdb.connect()
    con.raw_sql(f"CREATE TABLE orders AS SELECT * FROM {_sql_path(path)}")
    return con, con.table("orders")


def _empty_config() -> Path:
    """An empty settings file, so a regulars.toml in the working directory is not read."""
    path = Path(tempfile.gettempdir()) / "regulars-bench-empty.toml"
    path.write_text("", encoding="utf-8")
    return path


# --- child side --------------------------------------------------------------------------


def _child(payload: dict[str, Any]) -> dict[str, Any]:
    step = payload["step"]
    path = Path(payload.get("file", ""))
    end = payload.get("end", "")
    if step == "generate":
        return generate(payload["customers"], payload["seed"], path,
                        payload.get("orders_per_customer"))
    if step == "timings":
        if payload.get("analyze_only"):
            return analyze_only(path, end, payload["runs"], payload["wait_idle"])
        return timings(path, end, payload["runs"], payload["wait_idle"], payload["breakdown"])
    if step == "peak:group_by":
        import duckdb

        con = duckdb.connect()
        return measure(lambda: group_by(con, _sql_path(path)))
    if step == "peak:analyze":
        return measure(lambda: analyze_file(path, end))
    if step == "peak:map":
        _con, table = load_table(path)
        table.count().to_pyarrow()
        loaded_peak = _peak_mb_self()
        result = measure(lambda: map_alone(table, end))
        result["loaded_peak_mb"] = loaded_peak
        return result
    raise SystemExit(f"unknown step {step!r}")


def generate(customers: int, seed: int, out: Path,
             orders_per_customer: float | None = None) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from regulars.demo import SCHEMAS, DemoSpec, iter_business

    spec = (DemoSpec(customers=customers, seed=seed) if orders_per_customer is None
            else DemoSpec(customers=customers, seed=seed,
                          orders_per_customer=orders_per_customer))
    partial = out.with_name(out.name + ".part")
    t0 = time.perf_counter()
    rows = 0
    with pq.ParquetWriter(str(partial), SCHEMAS["orders"]) as writer:
        for chunk in iter_business(spec):
            writer.write_table(chunk["orders"])
            rows += chunk["orders"].num_rows
    os.replace(partial, out)
    return {"seconds": time.perf_counter() - t0, "rows": rows, "end": spec.end.isoformat()}


def timings(path: Path, end: str, runs: int, idle: float,
            breakdown_runs: int) -> dict[str, Any]:
    import duckdb
    import pyarrow.parquet as pq

    import regulars  # noqa: F401  (imports outside the timed calls)
    from regulars.analytics import customer_map as _cm  # noqa: F401

    timer = StageTimer()
    timer.instrument()
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    wait_idle(idle)
    loaded: dict[str, Any] = {}

    def do_load() -> Any:
        loaded["con"], loaded["t"] = load_table(path)
        return loaded["t"].count().to_pyarrow()

    load = measure(do_load)
    table = loaded["t"]
    raw = loaded["con"].con  # the loaded table's own DuckDB connection
    # the same orders as a view over the Parquet file, and as an Arrow table registered with
    # DuckDB (what regulars.analyze hands the map after reading the file)
    view = loaded["con"].read_parquet(str(path), table_name="orders_parquet")
    raw.register("orders_arrow", pq.read_table(path))
    arrow = loaded["con"].table("orders_arrow")
    steps: dict[str, Callable[[], Any]] = {
        "group_by": lambda: group_by(con, _sql_path(path)),
        "analyze": lambda: analyze_file(path, end),
        "map": lambda: map_alone(table, end),
        "map_view": lambda: map_alone(view, end),
        "map_arrow": lambda: map_alone(arrow, end),
        "group_by_loaded": lambda: group_by(raw, "orders"),
    }
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in steps}
    # one untimed GROUP BY first: the peer's first run otherwise pays for the file's pages
    # coming into the OS cache and DuckDB's first parallel query (0.50 s against 0.38 s)
    steps["group_by"]()
    for i in range(runs):
        for name, fn in steps.items():
            wait_idle(idle)
            timer.reset()
            r = measure(fn)
            if name == "analyze":
                r["stages"] = timer.exclusive(r["seconds"])
            r["run"] = i + 1
            results[name].append(r)
            print(f"  run {i + 1} {name}: {r['seconds']:.2f} s (CPU {r['cpu']:.1f} s, others "
                  f"{r['others_cpu']:.1f} s)", flush=True)
    return {"threads": threads, "load": load, "runs": results,
            "expression": expression_cost(table, end),
            "breakdown": breakdown(loaded["con"], table, end, idle, breakdown_runs)
            if breakdown_runs else {}}


def analyze_only(path: Path, end: str, runs: int, idle: float) -> dict[str, Any]:
    """``--analyze-only``: only analyze(file), ``runs`` times, with its stages."""
    import regulars  # noqa: F401  (imports outside the timed calls)

    timer = StageTimer()
    timer.instrument()
    results = []
    for i in range(runs):
        wait_idle(idle)
        timer.reset()
        r = measure(lambda: analyze_file(path, end))
        r["stages"] = timer.exclusive(r["seconds"])
        r["stages_cpu"] = timer.exclusive_cpu(r["cpu"])
        r["run"] = i + 1
        results.append(r)
        print(f"  run {i + 1} analyze: {r['seconds']:.2f} s (CPU {r['cpu']:.1f} s, others "
              f"{r['others_cpu']:.1f} s)", flush=True)
    return {"runs": results}


def analyze_only_report(args: argparse.Namespace, file: Path, orders: int,
                        t: dict[str, Any]) -> list[str]:
    import regulars

    out = [f"## analyze(file): {args.customers:,} customers, {orders:,} orders, "
           f"{datetime.now():%Y-%m-%d %H:%M} (regulars from {Path(regulars.__file__).parent})",
           ""]
    out += [f"- {line}" for line in machine()]
    runs = t["runs"]
    out += ["", "| stage (wall s / CPU s) | " + " | ".join(f"run {r['run']}" for r in runs)
            + " |", "|---|" + "---:|" * len(runs)]
    names = sorted({n for r in runs for n in r["stages"]}, key=lambda n: -runs[0]["stages_cpu"]
                   .get(n, 0.0))
    for n in names:
        out.append(f"| {n} | " + " | ".join(
            f"{r['stages'].get(n, 0.0):.2f} / {r['stages_cpu'].get(n, 0.0):.1f}" for r in runs)
            + " |")
    for label, key in (("**total wall**", "seconds"), ("**CPU s**", "cpu"),
                       ("others' CPU s", "others_cpu")):
        out.append(f"| {label} | " + " | ".join(f"{r[key]:.1f}" for r in runs) + " |")
    # `regulars analyze` without --out renders the sentences of the customers it lists only
    words = "evidence as sentences (Python)"
    out.append("| total less every customer's sentences (wall / CPU s; what `regulars analyze` "
               "without --out pays) | " + " | ".join(
                   f"{r['seconds'] - r['stages'].get(words, 0.0):.1f} / "
                   f"{r['cpu'] - r['stages_cpu'].get(words, 0.0):.1f}" for r in runs) + " |")
    out.append("| peak RSS of the process after the runs (MB) | " + " | ".join(
        f"{r['peak_mb_after']:,.0f}" for r in runs) + " |")
    return out


def expression_cost(table: Any, end: str) -> dict[str, float]:
    """The map's fixed cost, whatever the data's size: building the Ibis expression and
    compiling it to SQL (to_arrow compiles again; DuckDB then plans it)."""
    import ibis

    from regulars.analytics.customer_map import customer_map

    _day, moment = _as_of(end)
    t0 = time.perf_counter()
    m = customer_map(table, as_of=moment)
    t1 = time.perf_counter()
    sql = ibis.to_sql(m.customers, dialect="duckdb")
    t2 = time.perf_counter()
    return {"build_seconds": t1 - t0, "compile_seconds": t2 - t1, "sql_chars": len(sql)}


_GAPS_BY_LAG = """
    SELECT customer_id, ordered_at, amount,
           epoch(ordered_at - lag(ordered_at) OVER (PARTITION BY customer_id
                                                    ORDER BY ordered_at)) / 86400.0 AS gap
    FROM orders"""

FLOORS = {
    # the least any rule on the rhythm (DOMAIN §4) needs: each order's gap to the customer's
    # previous order, which needs the orders in time order per customer (no tie-breakers)
    "floor: the GROUP BY + each order's gap (lag of the time alone) + the longest gap": f"""
        SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at,
               max(ordered_at) AS last_order_at, sum(amount) AS revenue, max(gap) AS max_gap
        FROM ({_GAPS_BY_LAG}) GROUP BY customer_id""",
    # the same gaps without a window: each customer's times collected, sorted and differenced
    "floor: the GROUP BY + gaps from each customer's sorted list of times (no window)": """
        SELECT customer_id, orders, first_order_at, last_order_at, revenue,
               list_max(list_transform(range(2, orders + 1),
                                       LAMBDA i: epoch(ts[i] - ts[i - 1]) / 86400.0)) AS max_gap
        FROM (SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at,
                     max(ordered_at) AS last_order_at, sum(amount) AS revenue,
                     list_sort(list(ordered_at)) AS ts
              FROM orders GROUP BY customer_id)""",
    # + the typical gap (the exact median; DuckDB 2.0's per-group median() spills, see
    # facts._median_of_sorted)
    "floor: the first + the exact median gap (sorted list per customer)": f"""
        SELECT customer_id, orders, first_order_at, last_order_at, revenue, max_gap,
               CASE WHEN len(g) > 0
                    THEN g[(len(g) - 1) // 2 + 1] * 0.5 + g[len(g) // 2 + 1] * 0.5 END
                 AS median_gap
        FROM (SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at,
                     max(ordered_at) AS last_order_at, sum(amount) AS revenue,
                     max(gap) AS max_gap, list_sort(list(gap)) AS g
              FROM ({_GAPS_BY_LAG}) GROUP BY customer_id)""",
    # the same median with no window at all: the times collected and sorted per customer,
    # differenced and their median taken in the list (list lambdas: Ibis cannot emit these
    # for DuckDB, see facts._nonempty_list, so this shape is out of the map's reach)
    "floor: the GROUP BY + the exact median gap from each customer's sorted list (no window)":
        """
        SELECT customer_id, orders, first_order_at, last_order_at, revenue,
               list_median(list_transform(range(2, orders + 1),
                                          LAMBDA i: epoch(ts[i] - ts[i - 1]) / 86400.0))
                 AS median_gap
        FROM (SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at,
                     max(ordered_at) AS last_order_at, sum(amount) AS revenue,
                     list_sort(list(ordered_at)) AS ts
              FROM orders GROUP BY customer_id)""",
}


def breakdown(con: Any, table: Any, end: str, idle: float, runs: int) -> dict[str, Any]:
    """Where the map's time goes: a hand-written floor for any rhythm rule, parts and lighter
    variants of the map, on the same loaded table; best of ``runs`` each."""
    from regulars.analytics import facts
    from regulars.analytics.customer_map import customer_map

    _day, moment = _as_of(end)
    full = customer_map(table, as_of=moment).customers
    required = table.select("order_id", "customer_id", "ordered_at", "amount")
    raw = con.con
    variants: dict[str, Callable[[], Any]] = {
        **{name: (lambda q=query: raw.sql(q).to_arrow_table()) for name, query in FLOORS.items()},
        "order facts (facts.customer_facts) of the four required columns":
            facts.customer_facts(required, as_of=moment).to_pyarrow,
        "order facts (facts.customer_facts) of every column":
            facts.customer_facts(table, as_of=moment).to_pyarrow,
        "the map of the four required columns (order_id, customer_id, ordered_at, amount)":
            customer_map(required, as_of=moment).customers.to_pyarrow,
        "the map without its evidence column":
            full.select(*[c for c in full.columns if c != "evidence"]).to_pyarrow,
        "the whole map": full.to_pyarrow,
    }
    out = {}
    for name, fn in variants.items():
        tries = []
        for _ in range(max(1, runs)):
            wait_idle(idle)
            tries.append(measure(fn))
        out[name] = min(tries, key=lambda r: r["seconds"])
        out[name]["all"] = [r["seconds"] for r in tries]
        print(f"  breakdown: {name}: {out[name]['seconds']:.2f} s", flush=True)
    return out


def child_main(payload_json: str, result_file: str) -> None:
    result = _child(json.loads(payload_json))
    Path(result_file).write_text(json.dumps(result, default=str), encoding="utf-8")


# --- parent side ---------------------------------------------------------------------------


def run_child(name: str, payload: dict[str, Any], idle: float = 0.0) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its own peak RSS comes from ``os.wait4``."""
    wait_idle(idle)
    fd, result_file = tempfile.mkstemp(prefix="bench-map-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    print(f"{name} …", flush=True)
    try:
        busy0 = _cpu_busy_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child",
                                 json.dumps(payload), result_file], env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        process_seconds = time.perf_counter() - t0
        busy = _cpu_busy_seconds() - busy0
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{name} failed (exit {os.waitstatus_to_exitcode(status)})")
        result = json.loads(Path(result_file).read_text(encoding="utf-8"))
    finally:
        Path(result_file).unlink(missing_ok=True)
    cpu = usage.ru_utime + usage.ru_stime
    result.update(process_seconds=process_seconds, process_cpu=cpu,
                  process_others_cpu=max(0.0, busy - cpu), process_peak_mb=usage.ru_maxrss / 1024)
    return result


def machine() -> list[str]:
    import duckdb
    import ibis
    import pyarrow

    import regulars

    model, mem_kb = platform.processor() or "?", 0
    if Path("/proc/cpuinfo").exists():
        model = next((line.split(":", 1)[1].strip() for line in
                      Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                      if line.startswith("model name")), model)
    if Path("/proc/meminfo").exists():
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return [
        f"CPU: {model}, {os.cpu_count()} logical cores; RAM {mem_kb / 2**20:.1f} GiB; "
        f"{platform.platform()}",
        f"Python {platform.python_version()}, regulars {getattr(regulars, '__version__', '?')}, "
        f"duckdb {duckdb.__version__}, ibis {ibis.__version__}, pyarrow {pyarrow.__version__}",
    ]


LABELS = {
    "group_by": "DuckDB bare GROUP BY on read_parquet → Arrow (baseline)",
    "analyze": "regulars.analyze(orders=<file>) → customers as Arrow",
    "map": "customer_map(...).to_arrow() on the loaded DuckDB table",
    "map_view": "(reference) the map on a DuckDB view of the Parquet file",
    "map_arrow": "(reference) the map on the Arrow table registered with DuckDB, as analyze "
                 "does",
    "group_by_loaded": "(reference) the same GROUP BY on the loaded table",
}
PEAK_STEP = {"group_by": "peak:group_by", "analyze": "peak:analyze", "map": "peak:map"}


def report(args: argparse.Namespace, file: Path, orders: int, gen: dict[str, Any] | None,
           t: dict[str, Any], peaks: dict[str, dict[str, Any]]) -> list[str]:
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in t["runs"].items()}
    base = best["group_by"]["seconds"]
    out = [f"## Customer map speed: {args.customers:,} customers, {orders:,} orders "
           f"({file.stat().st_size / 2**20:,.0f} MB Parquet), {datetime.now():%Y-%m-%d %H:%M}",
           ""]
    out += [f"- {line}" for line in machine()]
    out.append(f"- DuckDB threads: {t['threads']}; {args.runs} runs of each, interleaved in one "
               "process; best wall time shown (CPU s and others' CPU s of that run)")
    if gen:
        out.append(f"- generating the orders took {gen['seconds']:.0f} s")
    out.append(f"- loading the Parquet file into a DuckDB table (for the map alone): "
               f"{t['load']['seconds']:.1f} s")
    out += ["", "| step | best wall s | all runs s | × GROUP BY | CPU s | others' CPU s "
            "| peak RSS MB (own process) |", "|---|---:|---|---:|---:|---:|---:|"]
    for k, label in LABELS.items():
        b = best[k]
        runs = ", ".join(f"{r['seconds']:.2f}" for r in t["runs"][k])
        peak = ""
        if k in peaks:
            p = peaks[k]
            peak = f"{p['process_peak_mb']:,.0f}"
            if k == "map":
                peak += f" ({p['loaded_peak_mb']:,.0f} with the table loaded, before the map)"
        out.append(f"| {label} | {b['seconds']:.2f} | {runs} | {b['seconds'] / base:.1f} | "
                   f"{b['cpu']:.1f} | {b['others_cpu']:.1f} | {peak} |")
    ratio_an, ratio_map = best["analyze"]["seconds"] / base, best["map"]["seconds"] / base
    out += ["",
            f"- ratio analyze(file) / GROUP BY: {ratio_an:.2f} "
            f"({'within' if ratio_an <= AIM_RATIO else 'NOT within'} the aim of {AIM_RATIO:g}×)",
            f"- ratio map alone / GROUP BY: {ratio_map:.2f} "
            f"({'within' if ratio_map <= AIM_RATIO else 'NOT within'} the aim of {AIM_RATIO:g}×)",
            f"- ratio map alone / GROUP BY on the same loaded table: "
            f"{best['map']['seconds'] / best['group_by_loaded']['seconds']:.2f}",
            f"- ratio of the map on the Parquet view / GROUP BY: "
            f"{best['map_view']['seconds'] / base:.2f}; on registered Arrow: "
            f"{best['map_arrow']['seconds'] / base:.2f}"]
    if peaks:
        out.append("- peak RSS: each step once more in a fresh child process (os.wait4); its "
                   "wall time there: " + ", ".join(
                       f"{k} {p['seconds']:.1f} s" for k, p in peaks.items()))
    e = t.get("expression")
    if e:
        out.append(f"- the map's fixed cost at any size: building the Ibis expression "
                   f"{e['build_seconds']:.2f} s, compiling it to SQL {e['compile_seconds']:.2f} s "
                   f"({e['sql_chars']:,} characters of SQL)")
    stages = best["analyze"].get("stages") or {}
    if stages:
        out += ["", f"Stages of the best analyze(file) run ({best['analyze']['seconds']:.1f} s; "
                "exclusive seconds, timed from outside):", "",
                "| stage | s | share | × GROUP BY |", "|---|---:|---:|---:|"]
        total = best["analyze"]["seconds"]
        for name, s in sorted(stages.items(), key=lambda kv: -kv[1]):
            out.append(f"| {name} | {s:.2f} | {s / total:.0%} | {s / base:.1f} |")
    parts = t.get("breakdown") or {}
    if parts:
        out += ["", "Where the map's time goes (on the loaded table; best run of each):", "",
                "| part or variant | best wall s | all runs s | × GROUP BY | CPU s "
                "| others' CPU s |", "|---|---:|---|---:|---:|---:|"]
        for name, r in parts.items():
            runs = ", ".join(f"{x:.2f}" for x in r.get("all", [r["seconds"]]))
            out.append(f"| {name} | {r['seconds']:.2f} | {runs} | {r['seconds'] / base:.1f} | "
                       f"{r['cpu']:.1f} | {r['others_cpu']:.1f} |")
    busy = sum(r["others_cpu"] for v in t["runs"].values() for r in v)
    spent = sum(r["seconds"] for v in t["runs"].values() for r in v)
    if busy > 0.1 * spent:
        out += ["", f"NOTE: other processes used {busy:.0f} CPU s during {spent:.0f} s of "
                "measurements: the machine was shared, times are inflated."]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000,
                        help="persons in the demo business")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--orders-per-customer", type=float, default=None, metavar="N",
                        help="the demo's average orders per person (default the demo's own, "
                             "3.5; 10 gives the 10M orders of 1M customers the issues name)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each step (best is shown)")
    parser.add_argument("--breakdown", type=int, nargs="?", const=1, default=0, metavar="RUNS",
                        help="also time parts and lighter variants of the map, best of RUNS "
                             "(default 1)")
    parser.add_argument("--no-peaks", action="store_true",
                        help="skip the child processes that measure each step's peak RSS")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each measurement, wait up to SECONDS for other processes "
                             "to leave the CPUs idle (on a shared machine)")
    parser.add_argument("--analyze-only", action="store_true",
                        help="only analyze(file), --runs times, with its stages (no peer, no "
                             "peaks); PYTHONPATH=<another checkout>/src measures that code")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return

    DATA.mkdir(parents=True, exist_ok=True)
    opc = args.orders_per_customer
    file = DATA / (f"orders-c{args.customers}-s{args.seed}"
                   + ("" if opc is None else f"-o{opc:g}") + ".parquet")
    gen = None
    if file.exists():  # written under a temporary name and renamed only when complete
        print(f"reusing {file}")
    else:
        gen = run_child(f"generating the orders of {args.customers:,} customers into {file}",
                        {"step": "generate", "customers": args.customers, "seed": args.seed,
                         "orders_per_customer": opc, "file": str(file)})
    import pyarrow.parquet as pq

    from regulars.demo import DemoSpec

    orders = pq.read_metadata(file).num_rows
    end = DemoSpec(customers=args.customers, seed=args.seed).end.isoformat()
    common = {"file": str(file), "end": end}
    if args.analyze_only:
        t = run_child(f"analyze(file), {args.runs} runs",
                      {"step": "timings", "analyze_only": True, "runs": args.runs,
                       "wait_idle": args.wait_idle, **common})
        print()
        print("\n".join(analyze_only_report(args, file, orders, t)))
        return
    t = run_child(f"timings: {args.runs} interleaved runs of each step in one process",
                  {"step": "timings", "runs": args.runs, "wait_idle": args.wait_idle,
                   "breakdown": args.breakdown, **common})
    peaks: dict[str, dict[str, Any]] = {}
    if not args.no_peaks:
        for k, step in PEAK_STEP.items():
            peaks[k] = run_child(f"peak RSS of {k} (own process)", {"step": step, **common},
                                 args.wait_idle)
    lines = report(args, file, orders, gen, t, peaks)
    print()
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"customers": args.customers, "seed": args.seed,
                                         "orders": orders, "file": str(file),
                                         "machine": machine(), "generate": gen, "timings": t,
                                         "peaks": peaks}, indent=2, default=str),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
