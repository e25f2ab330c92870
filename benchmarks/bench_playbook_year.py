"""A year of the product's playbooks on 100,000 customers (issue 20: "100k customers' journeys
for a simulated year in ≤ 60 s"), the whole product's pass, beside the bare schedule.

    PYTHONPATH=src python benchmarks/bench_playbook_year.py [--customers 100000] [--days 365]
        [--store-cache /tmp/year-100000.sqlite3] [--postgres-url URL] [--peer]

**The store** is built as a user would (not timed): the demo business of ``--customers``
persons (seed 42: names, e-mail and phone, birthdays for about 60 %, consent to e-mail for
about 80 %, to messenger for 30 %, managers, ~3.5 orders each over 2023–2025), each card's
attributes given ``country`` (a third ``RU``, the rest ``EE``), ``lang`` to match, ``founded``
(a company's founding day) and for one in five a ``professional_day``; imported with
``regulars.import_file`` and the map built with ``rebuild_map`` (rungs, statuses, signals).
The built SQLite file is kept at ``--store-cache`` and copied for each run.

**The year** (timed): the shipped default plan switched on (``[playbooks] enabled =
["communication_plan", "retention"]``), and one pass a day at 12:00 in Tallinn for ``--days``
days — what a business's cron does — each pass :func:`regulars.services.playbooks.runner.
one_pass` on the runner and feed of :func:`regulars.bootstrap.open_playbook_runner`, the code
``regulars playbooks run --at D`` runs, held open across the passes as ``regulars serve``'s
worker holds it. The real feed (dates, changes, cadences, orders), the real runner (claims
with leases, exactly-once completion), the real actions: every Send decided by the contact
policy at send time and recorded (``playbook_messages``, the ``out`` interaction), tasks
created for the managers. The channels are the product's own message builders with no
network behind them: e-mail composed by :meth:`SmtpChannel.compose` and serialised to bytes,
messenger/SMS bodies by :meth:`GatewayChannel.body` and signed as the gateway poster signs
them; the composed messages are counted, not delivered. (An SMTP server on loopback, as the
e2e tests use, would measure one TCP connection and SMTP dialogue per message — tens of
thousands of them — not the product's decisions.)

Every eight weeks the map is rebuilt as of that day (customers drift towards "lost" as no new
orders come, so the retention set's change triggers fire); the rebuilds are timed apart and
**not** counted in the year's figure (they are the map's job, run whether or not playbooks
are on).

**The peer** (``--peer``): the bare schedule of ``bench_playbook_jobs.py --year`` — the same
runner and store with no-op actions, facts from a dict, no feed — stepping the same number of
journeys' steps, so the ratio says what the feed, the facts and the actions add.

Prints the machine and load, then per part: wall seconds, passes, journeys, steps, sends by
channel, skips by reason, tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from regulars import api, bootstrap
from regulars.adapters.channels import GatewayChannel, SmtpChannel
from regulars.demo import DemoSpec, generate_business
from regulars.domain.tables import IMPORT_ORDER
from regulars.services.playbooks.ports import Outgoing
from regulars.services.playbooks.runner import one_pass

TALLINN = ZoneInfo("Europe/Tallinn")
REBUILD_DAYS = 56
SECRET = "bench-gateway-secret"


class Outbox:
    """The transport: each message composed exactly as the real channel composes it (the
    MIME message's bytes; the gateway's signed JSON body), counted, and dropped."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.bytes = 0
        self.ids: set[str] = set()
        self.repeats = 0
        self.smtp = SmtpChannel(host="127.0.0.1", port=9, sender="shop@demo.example",
                                sender_name="Demo OÜ")

    def channel(self, name: str) -> Any:
        box = self

        class _Channel:
            def send(self, message: Outgoing) -> str:
                if name == "email":
                    data = box.smtp.compose(message).as_bytes()
                else:
                    data = GatewayChannel.body(message)
                    hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()
                box.bytes += len(data)
                box.count[name] += 1
                if message.message_id in box.ids:
                    box.repeats += 1
                box.ids.add(message.message_id)
                return message.message_id

        return _Channel()


def _with_attributes(customers: pa.Table, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = customers.num_rows
    old = customers.column("attributes").to_pylist()
    founded = np.datetime64("1990-01-01") + rng.integers(0, 365 * 33, n)
    prof = rng.integers(0, 365, n)
    has_prof = rng.random(n) < 0.2
    out = []
    for i in range(n):
        country = "RU" if i % 3 == 0 else "EE"
        parts = [old[i]] if old[i] else []
        parts += [f"country={country}", f"lang={'ru' if country == 'RU' else 'et'}",
                  f"founded={founded[i]}"]
        if country == "RU":
            parts.append("tz=Europe/Moscow")
        if has_prof[i]:
            day = np.datetime64("2026-01-01") + int(prof[i])
            parts.append(f"professional_day={str(day)[5:]}")
        out.append(";".join(parts))
    index = customers.schema.get_field_index("attributes")
    return customers.set_column(index, customers.schema.field(index),
                                pa.array(out, pa.string()))


def _settings(url: str) -> Any:
    return api.load_settings(
        None, database_url=url, timezone="Europe/Tallinn",
        playbooks={"enabled": ["communication_plan", "retention"],
                   "business_name": "Demo OÜ"},
        analysis={"predictions": False},
        email={"host": "127.0.0.1", "port": 9, "sender": "shop@demo.example",
               "starttls": False},
        messages={"sms_url": "http://127.0.0.1:9/send", "messenger_url": "http://127.0.0.1:9/send",
                  "secret": SECRET, "public_url": "https://demo.example"})


def build(url: str, customers: int) -> datetime:
    """The demo business in the store at ``url``, its map built; returns the map's as_of."""
    settings = _settings(url)
    t = time.perf_counter()
    tables = generate_business(DemoSpec(customers=customers, seed=42))
    tables["customers"] = _with_attributes(tables["customers"])
    print(f"  generated {tables['customers'].num_rows:,} cards, {tables['orders'].num_rows:,} "
          f"orders in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    for kind in IMPORT_ORDER:
        api.import_file(kind, tables[kind.value], settings=settings)
    print(f"  imported in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    services = bootstrap.open_api(settings)
    try:
        built = services.rebuild_map()
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]
    print(f"  map built in {time.perf_counter() - t:.1f} s", flush=True)
    return datetime.fromisoformat(str(built["as_of"]))


def _map_as_of(url: str) -> datetime:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        value = c.execute(sa.text("SELECT max(as_of) FROM map_customers")).scalar_one()
    engine.dispose()
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def year(url: str, days: int, as_of: datetime, progress: int = 30) -> dict[str, Any]:
    settings = _settings(url)
    outbox = Outbox()
    channels = {name: outbox.channel(name) for name in ("email", "sms", "messenger")}
    services = bootstrap.open_api(settings)
    first = (as_of + timedelta(days=1)).date()
    runner, feed = bootstrap.open_playbook_runner(settings, channels=channels)
    parts: Counter[str] = Counter()
    _timed(parts, "feed", feed, "entries")
    _timed(parts, "feed", feed, "commit")
    _timed(parts, "enter", runner, "enter")
    _timed(parts, "run_due", runner, "run_due")
    _timed(parts, "facts (in enter and run_due)", runner.facts, "facts_of")
    _timed(parts, "actions (in run_due)", runner.actions, "run")
    ran: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    entered = steps = failed = 0
    rebuild_s = 0.0
    per_pass: list[float] = []
    try:
        began = time.perf_counter()
        for day in range(days):
            if day and day % REBUILD_DAYS == 0:
                t = time.perf_counter()
                moment = datetime.combine(first + timedelta(days=day), datetime.min.time())
                services.rebuild_map(as_of=moment)
                rebuild_s += time.perf_counter() - t
            at = datetime.combine(first + timedelta(days=day), datetime.min.time(),
                                  TALLINN).replace(hour=12)
            t = time.perf_counter()
            result = one_pass(runner, feed, at=at)
            per_pass.append(time.perf_counter() - t)
            entered += result.entered.entered
            steps += result.ran.ran
            failed += result.ran.failed
            ran.update(result.ran.outcomes)
            skipped.update(result.ran.skipped)
            if (day + 1) % progress == 0:
                spent = time.perf_counter() - began - rebuild_s
                print(f"  day {day + 1}: {spent:.1f} s, {steps:,} steps, entered {entered:,}; "
                      + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
                      + f"; load {_load()}", flush=True)
        wall = time.perf_counter() - began - rebuild_s
    finally:
        runner.store.close()  # type: ignore[attr-defined]
        services.stop()
        services.store.close()  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    with engine.connect() as c:
        journeys = c.execute(sa.text("SELECT count(*) FROM playbook_journeys")).scalar_one()
        states = dict(c.execute(sa.text(
            "SELECT state, count(*) FROM playbook_messages GROUP BY state")).all())
        reasons = dict(c.execute(sa.text(
            "SELECT reason, count(*) FROM playbook_messages WHERE state <> 'sent' "
            "GROUP BY reason")).all())
        tasks = c.execute(sa.text(
            "SELECT count(*) FROM tasks WHERE source = 'playbook'")).scalar_one()
        customers = c.execute(sa.text("SELECT count(*) FROM customers")).scalar_one()
    engine.dispose()
    return {"wall": wall, "rebuild": rebuild_s, "per_pass": per_pass, "entered": entered,
            "journeys": journeys, "steps": steps, "failed": failed, "outcomes": dict(ran),
            "skipped": dict(skipped), "messages": states, "reasons": reasons, "tasks": tasks,
            "sent": dict(outbox.count), "bytes": outbox.bytes, "repeats": outbox.repeats,
            "customers": customers, "first": first, "days": days, "parts": dict(parts)}


def _timed(parts: Counter[str], label: str, obj: Any, name: str) -> None:
    """Wrap ``obj.name`` (an instance's method) to add its wall time to ``parts[label]``."""
    inner = getattr(obj, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*args, **kw)
        finally:
            parts[label] += time.perf_counter() - t

    setattr(obj, name, wrapper)


def _machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split(" ", 3)[:3])


def _report(label: str, r: dict[str, Any]) -> None:
    p = sorted(r["per_pass"])
    print(f"\n## {label}: {r['days']} daily passes from {r['first']} "
          f"(12:00 Europe/Tallinn), {r['customers']:,} customer cards")
    print(f"- **year: {r['wall']:.1f} s** (map rebuilds every {REBUILD_DAYS} days apart: "
          f"{r['rebuild']:.1f} s, not counted)")
    print("- parts: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["parts"].items()))
    print(f"- per pass: median {p[len(p) // 2]:.3f} s, p90 {p[int(len(p) * 0.9)]:.3f} s, "
          f"max {p[-1]:.2f} s")
    print(f"- journeys {r['journeys']:,} (entered {r['entered']:,}), steps run {r['steps']:,}, "
          f"failed {r['failed']}")
    print(f"- outcomes {r['outcomes']}")
    print(f"- skipped (runner) {r['skipped']}")
    print(f"- messages by state {r['messages']}; not sent by reason {r['reasons']}")
    print(f"- composed and counted by channel {r['sent']} ({r['bytes'] / 1e6:.1f} MB), "
          f"repeats {r['repeats']}; tasks {r['tasks']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--store-cache", type=Path, default=None,
                        help="keep the built SQLite store here and reuse it")
    parser.add_argument("--peer", action="store_true",
                        help="also the bare schedule (bench_playbook_jobs.year) for the ratio")
    args = parser.parse_args()
    print(_machine())
    print(f"load average at start {_load()}", flush=True)
    cache = args.store_cache or Path(tempfile.gettempdir()) / f"year-{args.customers}.sqlite3"
    if not cache.exists():
        print(f"building the store at {cache}", flush=True)
        part = cache.with_suffix(".part")
        part.unlink(missing_ok=True)
        build(f"sqlite:///{part}", args.customers)
        part.rename(cache)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "year.sqlite3"
        shutil.copyfile(cache, db)
        url = f"sqlite:///{db}"
        result = year(url, args.days, _map_as_of(url))
    _report("SQLite", result)
    print(f"\nload average at end {_load()}")
    if args.peer:
        from bench_playbook_jobs import _migrated_sqlite
        from bench_playbook_jobs import year as bare_year

        with tempfile.TemporaryDirectory() as tmp:
            seconds, entered, ran = bare_year(_migrated_sqlite(Path(tmp), "p.sqlite3"),
                                              args.customers, 2000)
        print(f"\npeer, the bare schedule (bench_playbook_jobs --year {args.customers}, "
              f"no-op actions, weekly): {entered:,} journeys, {ran:,} steps in {seconds:.1f} s "
              f"({ran / seconds:,.0f} steps/s)")
        ours = result["steps"] / result["wall"]
        print(f"ours {ours:,.0f} steps/s ÷ peer {ran / seconds:,.0f} steps/s = "
              f"{ours / (ran / seconds):.2f}")


if __name__ == "__main__":
    main()
