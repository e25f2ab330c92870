"""Benchmark: ``regulars analyze`` on Spark local[2] against DuckDB, on the same orders file.

    .venv/bin/python benchmarks/bench_spark.py                        # 1M and 10M orders
    .venv/bin/python benchmarks/bench_spark.py --customers 100000     # 1M orders only

One run, for each ``--customers`` (a demo business of that many persons, about ten orders
each, ``--orders-per-customer``; ``benchmarks/data/orders-c<N>-s<seed>-o<n>.parquet``,
written by ``bench_map_speed.py``'s generator, git-ignored, reused when present):

- **DuckDB**: ``regulars.analyze(orders=<file>, as_of=<end>)`` in a fresh child process;
- **Spark local[2]**: the same call with ``engine="spark"`` on a session the child starts
  (``local[2]``, ``--driver-memory``, ``--shuffle-partitions``), its start timed apart;
- **Spark local[2], reading the file itself** (``--engines … spark-uri``): the file given as
  a ``file://`` URI, read and checked by Spark's executors (as ``s3a://`` would be);

each child's wall seconds (``analyze`` alone, and the whole process), the peak RSS of the
Python process (``os.wait4``) and, for Spark, of the JVM too (``VmHWM`` of the py4j gateway's
process, read before the session stops). Prints the machine, a Markdown table and the ratio
Spark / DuckDB. ``--timeout`` (seconds) gives up on a child that runs longer and records it.

DuckDB and ``spark`` read and check the file on the driver as an import would (DuckDB); Spark
then receives the checked tables as Arrow. ``spark-uri`` leaves reading and checking to Spark.
Spark computes the map, the earlier map and the portfolio; the models and the ranking read the
orders' occasions on the driver. The ratio is the engine's, on one machine, where Spark cannot
win: see docs/spark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from bench_map_speed import generate, machine  # noqa: E402


def _jvm_peak_mb(session: Any) -> float | None:
    proc = getattr(session.sparkContext._gateway, "proc", None)
    if proc is None:
        return None
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def child(payload: dict[str, Any], result_file: str) -> None:
    import regulars

    out: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"orders": payload["file"], "as_of": payload["end"]}
    if payload["engine"] == "spark-uri":
        # the same file as a URI: read and checked by Spark's executors, not by the driver
        kwargs["orders"] = Path(payload["file"]).resolve().as_uri()
    session = None
    if payload["engine"] in ("spark", "spark-uri"):
        from pyspark.sql import SparkSession

        t0 = time.perf_counter()
        session = (SparkSession.builder.master(payload["master"]).appName("bench-spark")
                   .config("spark.driver.memory", payload["driver_memory"])
                   .config("spark.sql.shuffle.partitions", str(payload["partitions"]))
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        out["session_seconds"] = time.perf_counter() - t0
        kwargs.update(engine="spark", spark_session=session)
    t0 = time.perf_counter()
    stages: list[list[Any]] = []

    def progress(step: str) -> None:  # each step's start, seconds into the analysis
        stages.append([round(time.perf_counter() - t0, 1), step])
        # kept as they come: a run stopped by --timeout still says how far it got
        Path(result_file + ".stages").write_text(json.dumps(stages), encoding="utf-8")

    result = regulars.analyze(**kwargs, progress=progress)
    rows = len(result.customers)
    out["analyze_seconds"] = time.perf_counter() - t0
    out["stages"] = stages
    out["customers"] = rows
    if session is not None:
        out["jvm_peak_mb"] = _jvm_peak_mb(session)
        session.stop()
    Path(result_file).write_text(json.dumps(out), encoding="utf-8")


def run_child(payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    fd, result_file = tempfile.mkstemp(prefix="bench-spark-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(payload),
                             result_file], env=env, start_new_session=True)
    deadline = t0 + timeout
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, 9)  # the child and its JVM
                os.wait4(proc.pid, 0)
                reached = Path(result_file + ".stages")
                stages = (json.loads(reached.read_text(encoding="utf-8"))
                          if reached.exists() else [])
                return {"timeout": timeout, "stages": stages}
            time.sleep(0.5)
        if os.waitstatus_to_exitcode(status) != 0:
            return {"failed": os.waitstatus_to_exitcode(status)}
        out: dict[str, Any] = json.loads(Path(result_file).read_text(encoding="utf-8"))
    finally:
        Path(result_file).unlink(missing_ok=True)
        Path(result_file + ".stages").unlink(missing_ok=True)
    out["process_seconds"] = time.perf_counter() - t0
    out["python_peak_mb"] = usage.ru_maxrss / 1024
    return out


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=42)
    # the demo's default is 3.5 orders a customer; ten makes 100k customers about 1M orders
    ap.add_argument("--orders-per-customer", type=float, default=10.0)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"],
                    choices=["duckdb", "spark", "spark-uri"],
                    help="spark: the file read and checked on the driver, then handed to "
                         "Spark; spark-uri: the file given as a file:// URI, read by Spark")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child[0]), args.child[1])
        return
    from regulars.demo import DemoSpec

    for line in machine():
        print(line)
    DATA.mkdir(exist_ok=True)
    rows = []
    for customers in args.customers:
        opc = args.orders_per_customer
        file = DATA / f"orders-c{customers}-s{args.seed}-o{opc:g}.parquet"
        if not file.exists():
            print(f"generating {file.name} …", flush=True)
            generate(customers, args.seed, file, opc)
        import pyarrow.parquet as pq

        orders = pq.read_metadata(file).num_rows
        end = DemoSpec(customers=customers, seed=args.seed,
                       orders_per_customer=opc).end.isoformat()
        base = {"file": str(file), "end": end}
        found: dict[str, dict[str, Any]] = {}
        for engine in args.engines:
            print(f"{orders:,} orders on {engine} (load {_load()}) …", flush=True)
            found[engine] = run_child({**base, "engine": engine, "master": args.master,
                                       "driver_memory": args.driver_memory,
                                       "partitions": args.shuffle_partitions}, args.timeout)
            print("  ", json.dumps(found[engine]), f"(load after {_load()})", flush=True)
        rows.append((orders, found))
    print()
    print("| orders | engine | analyze s | session start s | process s | Python peak MB "
          "| JVM peak MB | × DuckDB (analyze) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for orders, found in rows:
        duck = found.get("duckdb", {}).get("analyze_seconds")
        for engine, r in found.items():
            if "analyze_seconds" not in r:
                print(f"| {orders:,} | {engine} | {r} | | | | | |")
                continue
            ratio = r["analyze_seconds"] / duck if duck else float("nan")
            jvm = r.get("jvm_peak_mb")
            print(f"| {orders:,} | {engine} | {r['analyze_seconds']:.1f} "
                  f"| {r.get('session_seconds', 0):.1f} | {r['process_seconds']:.1f} "
                  f"| {r['python_peak_mb']:,.0f} | {'' if jvm is None else f'{jvm:,.0f}'} "
                  f"| {ratio:.1f} |")


if __name__ == "__main__":
    main()
