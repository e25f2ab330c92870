"""Playbooks' sending (issue 20): what one Send step costs, decided and sent for real.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_pbsend.py [--customers 2000]

Builds a store (SQLite, and PostgreSQL with ``--postgres-url``) with ``--customers`` customers
with e-mail consent and ``--history`` outgoing interactions each, then measures:

- **decide** (dry run): the contact policy at send time for every customer — the card's
  consent read fresh, the customer's contacts and in-flight messages, the policy's check,
  the template rendered — nothing written;
- **send**: ``--sends`` e-mails for real through aiosmtpd on loopback, each with its two
  commits (``sending`` before the SMTP call, ``sent`` with its interaction after) and one
  SMTP connection.

Per-message costs are what the runner pays on top of claiming and completing a job.
"""

from __future__ import annotations

import argparse
import platform
import socket
import string
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from regulars import bootstrap
from regulars.domain.playbooks.model import Playbook, Send, Template, Trigger
from regulars.domain.tables import Kind
from regulars.services.playbooks.ports import Job, Journey, Rendered, StepContext

AT = datetime(2026, 12, 8, 10, tzinfo=UTC)  # a Tuesday, 12:00 in Tallinn
STEP = Send(id="mail", channel="email", template="hello")
PLAYBOOK = Playbook(name="bench", title="Bench", set="x",
                    trigger=Trigger(kind="cadence", every="quarter"), steps=(STEP,))


class Engine:
    def check(self, template: Template) -> list[str]:
        return []

    def render(self, template: Template, context: Any) -> Rendered:
        flat = {f"{k}_{kk}": vv for k, v in context.items() if isinstance(v, dict)
                for kk, vv in v.items()}
        return Rendered(string.Template(template.subject or "").safe_substitute(flat),
                        string.Template(template.text).safe_substitute(flat), None)


class Templates:
    def choose(self, name: str, language: str | None) -> Template:
        return Template(name, "et", "Tere, $customer_first_name!", subject="Tere")


class Inbox:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def _ctx(i: int, cid: str, dry: bool) -> StepContext:
    journey = Journey(f"jr{i}", "bench", PLAYBOOK.version, cid, "k", "treated", AT, "active")
    facts = {"customer_id": cid, "name": f"Klient {i}", "email": f"c{i}@example.ee",
             "language": "et", "time_zone": "Europe/Tallinn", "status": "active"}
    return StepContext(journey, Job(f"job{i}-{dry}", journey.journey_id, "bench", cid, "mail",
                                    1, AT, "claimed"), PLAYBOOK, STEP, facts, AT, dry)


def run(url: str, customers: int, history: int, sends: int, port: int) -> dict[str, float]:
    settings = bootstrap.load_settings(
        database_url=url, timezone="Europe/Tallinn", api={"live_map": False},
        email={"host": "127.0.0.1", "port": port, "sender": "shop@kohvik.ee"},
        messages={"public_url": "https://crm.example.ee"})
    services = bootstrap.open_api(settings)
    rows: list[tuple[Kind, dict[str, Any]]] = [
        (Kind.CUSTOMERS, {"customer_id": f"C{i:06d}", "email": f"c{i}@example.ee",
                          "consent_email": True}) for i in range(customers)]
    # contacts old enough that the cap (4 marketing in 30 days) lets the send through
    rows += [(Kind.INTERACTIONS, {"interaction_id": f"I{i}-{k}", "customer_id": f"C{i:06d}",
                                  "at": (AT - timedelta(days=40 + 20 * k)).replace(tzinfo=None),
                                  "channel": "email", "direction": "out", "kind": "offer"})
             for i in range(customers) for k in range(history)]
    for start in range(0, len(rows), 5000):
        services.ingest.run(rows[start:start + 5000])
    services.stop()
    services.store.close()  # type: ignore[attr-defined]

    store = bootstrap.open_api_store(settings)
    sender = bootstrap.playbook_sender(settings, templates=Templates(), engine=Engine(),
                                       store=store)
    t = time.perf_counter()
    outcomes = [sender.run(_ctx(i, f"C{i:06d}", True)).outcome for i in range(customers)]
    decide = time.perf_counter() - t
    assert set(outcomes) == {"dry_run"}, set(outcomes)
    # the same, with the contacts of each pass of 500 customers read at once (a runner's
    # prefetch of its claimed jobs' customers); a fresh sender: no would-be sends counted
    batched = bootstrap.playbook_sender(settings, templates=Templates(), engine=Engine(),
                                        store=store)
    t = time.perf_counter()
    for start in range(0, customers, 500):
        ids = range(start, min(start + 500, customers))
        batched.prefetch([f"C{i:06d}" for i in ids])
        outcomes = [batched.run(_ctx(i, f"C{i:06d}", True)).outcome for i in ids]
        batched.forget()
    prefetched = time.perf_counter() - t
    assert set(outcomes) == {"dry_run"}, set(outcomes)
    t = time.perf_counter()
    sent = [sender.run(_ctx(i, f"C{i:06d}", False)).outcome for i in range(sends)]
    send = time.perf_counter() - t
    assert set(sent) == {"sent"}, set(sent)
    store.close()
    return {"decide_s": decide, "decide_per_s": customers / decide,
            "batched_s": prefetched, "batched_per_s": customers / prefetched,
            "send_s": send, "send_per_s": sends / send}


def _on_postgres(server: str, work: Any) -> dict[str, float]:
    """``work(url)`` on a database of its own on ``server``, dropped afterwards."""
    import uuid

    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    base = make_url(server)
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"regulars_bench_pbsend_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        result: dict[str, float] = work(base.set(drivername="postgresql+psycopg",
                                                 database=name).render_as_string(
            hide_password=False))
        return result
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--history", type=int, default=5)
    ap.add_argument("--sends", type=int, default=300)
    ap.add_argument("--postgres-url", default=None)
    a = ap.parse_args()
    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            results["SQLite"] = run(url, a.customers, a.history, a.sends, port)
        if a.postgres_url:
            results["PostgreSQL"] = _on_postgres(a.postgres_url, lambda url: run(
                url, a.customers, a.history, a.sends, port))
    finally:
        controller.stop()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"{a.customers} customers, {a.history} past contacts each, {a.sends} sends; "
          f"mails received: {inbox.count}")
    print("| store | decide (dry run) | decisions/s | prefetched by 500 | decisions/s "
          "| send (SMTP, loopback) | sends/s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['decide_s']:.2f} s | {r['decide_per_s']:,.0f} | "
              f"{r['batched_s']:.2f} s | {r['batched_per_s']:,.0f} | "
              f"{r['send_s']:.2f} s | {r['send_per_s']:,.0f} |")


if __name__ == "__main__":
    main()
