"""A year of the default plan on the demo business (issue 20): both shipped sets switched on,
the schedule run with ``--at`` steps through a simulated year while the map is rebuilt every
eight weeks (customers drift towards "lost" as no new orders come; the map without its
predictions, which cost seconds a rebuild: statuses come from the rhythm's rules alone),
e-mail to a real SMTP server on loopback and messenger/SMS to a real gateway receiver.

What must hold: every message that went out is allowed by the contact policy given the ones
before it (caps over rolling windows, quiet hours and days in the customer's zone, consent,
do-not-contact), each arrived once at its server, and former customers heard from us at most
twice in any 365 days. ``REGULARS_PLAN_YEAR_CUSTOMERS`` (default 400) sizes the business and
``REGULARS_PLAN_YEAR_OUT`` names a JSON file for the figures that docs/playbooks.md reports.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from regulars import api, bootstrap
from regulars.demo import DemoSpec, generate_business
from regulars.domain.contact_policy import Contact, CustomerFacts
from regulars.domain.tables import IMPORT_ORDER

pytestmark = pytest.mark.slow

WEEKS = 53
PASSES_PER_WEEK = 2  # Monday and Thursday, noon in Tallinn: a cron a business would set
REBUILD_WEEKS = 8


class Inbox:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.ids.append(line.split(":", 1)[1].strip())
        return "250 OK"


class Gateway:
    """A gateway for SMS and messenger: keeps each message's id (the body's)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.ids.append(body.get("message_id") or body.get("id") or "")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    customers = int(os.environ.get("REGULARS_PLAN_YEAR_CUSTOMERS", "400"))
    folder = tmp_path_factory.mktemp("plan-year")
    inbox, gateway, port = Inbox(), Gateway(), _port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = api.load_settings(
            None, database_url=f"sqlite:///{folder / 'demo.db'}",
            playbooks={"enabled": ["communication_plan", "retention"],
                       "business_name": "Demo OÜ"},
            analysis={"predictions": False},
            email={"host": "127.0.0.1", "port": port, "sender": "shop@demo.example",
                   "starttls": False},
            messages={"sms_url": gateway.url, "messenger_url": gateway.url,
                      "secret": "gateway-secret", "public_url": "https://demo.example"})
        tables = generate_business(DemoSpec(customers=customers, seed=42))
        for kind in IMPORT_ORDER:
            api.import_file(kind, tables[kind.value], settings=settings)
        services = bootstrap.open_api(settings)
        try:
            built = services.rebuild_map()
            start = _monday_noon(datetime.fromisoformat(str(built["as_of"])))
            statuses: list[tuple[datetime, dict[str, str | None]]] = []
            passes = []
            for week in range(WEEKS):
                if week % REBUILD_WEEKS == 0:  # the map as of that day
                    moment = start + timedelta(weeks=week)
                    services.rebuild_map(as_of=moment.replace(tzinfo=None))
                    statuses.append((moment, _statuses(settings)))
                for day in (0, 3)[:PASSES_PER_WEEK]:
                    at = start + timedelta(weeks=week, days=day)
                    passes.append(api.run_playbooks(settings, at=at))
        finally:
            services.stop()
            services.store.close()  # type: ignore[attr-defined]
        return {"settings": settings, "start": start, "statuses": statuses,
                "passes": passes, "inbox": inbox, "gateway": gateway,
                "customers": customers, "rows": _rows(settings)}
    finally:
        smtp.stop()


def _monday_noon(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=(7 - moment.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)  # 12:00 or 13:00 Tallinn


def _engine(settings: Any) -> sa.Engine:
    return sa.create_engine(settings.database_url)


def _statuses(settings: Any) -> dict[str, str | None]:
    with _engine(settings).connect() as c:
        return dict(c.execute(sa.text("SELECT customer_id, status FROM map_customers")).all())


def _rows(settings: Any) -> dict[str, Any]:
    engine = _engine(settings)
    with engine.connect() as c:
        messages = [dict(r._mapping) for r in c.execute(sa.text(
            "SELECT message_id, customer_id, playbook, step_id, channel, purpose, state, "
            "reason, at FROM playbook_messages ORDER BY at, message_id"))]
        customers = {r.customer_id: dict(r._mapping) for r in c.execute(sa.text(
            "SELECT customer_id, consent_email, consent_sms, consent_messenger, "
            "do_not_contact, attributes FROM customers"))}
        journeys = [dict(r._mapping) for r in c.execute(sa.text(
            "SELECT playbook, arm, state, end_reason FROM playbook_journeys"))]
        tasks = c.execute(sa.text("SELECT count(*) FROM tasks WHERE source = 'playbook'"))\
            .scalar_one()
    engine.dispose()
    return {"messages": messages, "customers": customers, "journeys": journeys,
            "tasks": tasks}


def _at(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status_at(year: dict[str, Any], customer: str, moment: datetime) -> str | None:
    status = None
    for since, by_customer in year["statuses"]:
        if since <= moment:
            status = by_customer.get(customer)
    return status


def test_the_year_sends_something_on_every_channel_the_plan_uses(year):
    sent = [m for m in year["rows"]["messages"] if m["state"] == "sent"]
    assert {m["channel"] for m in sent} >= {"email", "messenger"}
    assert {m["playbook"] for m in sent} >= {"new_year_greeting"}
    assert year["rows"]["tasks"] > 0  # the quarterly calls and the retention calls
    assert sum(p.entered.entered for p in year["passes"]) == len(year["rows"]["journeys"])


def test_every_message_sent_arrived_once_at_its_server(year):
    sent = [m for m in year["rows"]["messages"] if m["state"] == "sent"]
    mail = [m for m in sent if m["channel"] == "email"]
    other = [m for m in sent if m["channel"] != "email"]
    assert len(year["inbox"].ids) == len(set(year["inbox"].ids)) == len(mail)
    assert len(year["gateway"].ids) == len(set(year["gateway"].ids)) == len(other)


def test_every_message_sent_was_allowed_by_the_policy_given_those_before_it(year):
    """The policy itself judges the whole year again, message by message, with only the
    year's own sends as history (the sender also counted the demo's earlier contacts, so
    it can only have been stricter)."""
    policy = year["settings"].contact_rules()
    customers = year["rows"]["customers"]
    history: dict[str, list[Contact]] = defaultdict(list)
    for m in year["rows"]["messages"]:
        if m["state"] != "sent":
            continue
        card = customers[m["customer_id"]]
        at = _at(m["at"])
        facts = CustomerFacts(
            customer_id=m["customer_id"], status=_status_at(year, m["customer_id"], at),
            consent={ch: _flag(card.get(f"consent_{ch}"))
                     for ch in ("email", "sms", "messenger", "phone")},
            do_not_contact=bool(_flag(card.get("do_not_contact"))),
            time_zone=_tag(card.get("attributes"), "tz"))
        decision = policy.check(facts, m["channel"], m["purpose"], at,
                                history[m["customer_id"]])
        assert decision.allowed, (m, decision)
        history[m["customer_id"]].append(Contact(at=at, channel=m["channel"],
                                                 purpose=m["purpose"]))


def test_former_customers_heard_from_us_at_most_twice_a_year(year):
    by_customer: dict[str, list[datetime]] = defaultdict(list)
    for m in year["rows"]["messages"]:
        at = _at(m["at"])
        if m["state"] == "sent" and _status_at(year, m["customer_id"], at) == "lost":
            by_customer[m["customer_id"]].append(at)
    for customer, times in by_customer.items():
        for t in times:
            in_window = [u for u in times if t - timedelta(days=365) < u <= t]
            assert len(in_window) <= 2, (customer, times)


def test_the_figures_of_the_year(year):
    """Not a check: the figures docs/playbooks.md reports, written where asked."""
    messages = year["rows"]["messages"]
    sent = [m for m in messages if m["state"] == "sent"]
    per_customer = Counter(m["customer_id"] for m in sent)
    figures = {
        "customers": year["customers"],
        "passes": len(year["passes"]),
        "journeys": len(year["rows"]["journeys"]),
        "control_journeys": sum(1 for j in year["rows"]["journeys"] if j["arm"] == "control"),
        "sent_by_playbook": dict(sorted(Counter(m["playbook"] for m in sent).items())),
        "sent_by_channel": dict(sorted(Counter(m["channel"] for m in sent).items())),
        "skipped_by_reason": dict(sorted(Counter(
            m["reason"] for m in messages if m["state"] != "sent").items())),
        "tasks": year["rows"]["tasks"],
        "customers_contacted": len(per_customer),
        "most_messages_to_one_customer": max(per_customer.values(), default=0),
    }
    out = os.environ.get("REGULARS_PLAN_YEAR_OUT")
    if out:
        Path(out).write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    assert figures["journeys"] > 0


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)


def _tag(attributes: Any, key: str) -> str | None:
    for part in str(attributes or "").split(";"):
        k, _, v = part.partition("=")
        if k.strip() == key and v.strip():
            return v.strip()
    return None
