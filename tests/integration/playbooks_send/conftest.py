"""Fixtures of the sending part's tests (issue 20): a real SMTP server (aiosmtpd on
loopback), a real HTTP receiver (http.server in a thread), a migrated store with customers,
and a stand-in template engine (string.Template: the Jinja2 engine is another part's)."""

from __future__ import annotations

import socket
import string
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from regulars import bootstrap
from regulars.domain.playbooks.model import Playbook, Send, Template, Trigger
from regulars.domain.tables import Kind
from regulars.services.playbooks.ports import Job, Journey, Rendered, StepContext

# a Tuesday: 12:00 in Tallinn, 13:00 in Moscow — outside the default quiet hours and days
AT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


class StandInEngine:
    """``$customer_first_name``, ``$unsubscribe_url``: the context flattened with ``_``; an
    unknown name fails to render (as a real engine's undefined variable would)."""

    def check(self, template: Template) -> list[str]:
        return []

    def render(self, template: Template, context: Mapping[str, object]) -> Rendered:
        flat: dict[str, object] = {}
        for key, value in context.items():
            if isinstance(value, Mapping):
                flat.update({f"{key}_{k}": "" if v is None else v for k, v in value.items()})
            else:
                flat[key] = "" if value is None else value

        def sub(text: str | None) -> str | None:
            return None if text is None else string.Template(text).substitute(flat)

        return Rendered(sub(template.subject), sub(template.text) or "", sub(template.html))


class StandInTemplates:
    def __init__(self, templates: list[Template]) -> None:
        self.by = {(t.name, t.language): t for t in templates}

    def choose(self, name: str, language: str | None) -> Template | None:
        for lang in (language, "en"):
            if (name, lang) in self.by:
                return self.by[(name, lang)]
        return next((t for (n, _l), t in self.by.items() if n == name), None)


TEMPLATES = StandInTemplates([
    Template("hello", "ru", subject="Здравствуйте, $customer_first_name!",
             text="Здравствуйте, $customer_first_name! Отписаться: $unsubscribe_url",
             html="<p>Здравствуйте, <b>$customer_first_name</b>!</p>"
                  "<a href=\"$unsubscribe_url\">Отписаться</a>"),
    Template("hello", "et", subject="Tere, $customer_first_name!",
             text="Tere, $customer_first_name! Loobu: $unsubscribe_url",
             html="<p>Tere, <b>$customer_first_name</b>!</p>"),
    Template("hello", "en", subject="Hello, $customer_first_name!",
             text="Hello, $customer_first_name!"),
    Template("sms", "ru", text="$business_name: скидка для вас, $customer_first_name"),
    Template("broken", "en", subject="x", text="Hello $no_such_thing"),
    Template("offer", "et", subject="Kingitus", text="Teie kood: $coupon_code ($coupon_reward)"),
])


class Smtp:
    """What the SMTP server received: one envelope per message."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Smtp, int]]:
    handler = Smtp()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


class Receiver:
    """A webhook receiver: answers the statuses of ``answers`` in turn (then 200), keeps
    every request (path, headers, body)."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


CUSTOMERS = [
    {"customer_id": "RU1", "name": "Иван Петров", "email": "ivan@example.ru",
     "phone": "+79161234567", "manager": "Mari", "consent_email": True, "consent_sms": True,
     "consent_messenger": True},
    {"customer_id": "ET1", "name": "Mari Tamm", "email": "mari@example.ee",
     "phone": "+3725551234", "manager": "Mari", "consent_email": True, "consent_sms": True},
    {"customer_id": "NOC", "name": "No Consent", "email": "noc@example.ee"},
    {"customer_id": "NOM", "name": "No Manager", "email": "nom@example.ee",
     "consent_email": True},
]
FACTS: dict[str, dict[str, object]] = {
    "RU1": {"language": "ru", "time_zone": "Europe/Moscow", "status": "active",
            "rung": "regular"},
    "ET1": {"language": "et", "time_zone": "Europe/Tallinn", "status": "active",
            "rung": "regular"},
    "NOC": {"language": "en", "time_zone": "Europe/Tallinn", "status": "active"},
    "NOM": {"language": "en", "time_zone": "Europe/Tallinn", "status": "active"},
}


def facts(cid: str) -> dict[str, object]:
    card = next(c for c in CUSTOMERS if c["customer_id"] == cid)
    return {**card, **FACTS[cid], "attributes": {}}


def make_settings(store_url: str, smtp_port: int | None = None,
                  **extra: Any) -> Any:
    values: dict[str, Any] = {"database_url": store_url, "api": {"live_map": False},
                              "timezone": "Europe/Tallinn",
                              "worklist": {"managers": {"Mari": {}}},
                              "messages": {"public_url": "https://crm.example.ee"}}
    if smtp_port is not None:
        values["email"] = {"host": "127.0.0.1", "port": smtp_port,
                           "sender": "shop@kohvik.ee", "sender_name": "Kohvik"}
    for key, value in extra.items():
        values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
    return bootstrap.load_settings(**values)


def add_customers(settings: Any) -> None:
    services = bootstrap.open_api(settings)
    try:
        services.ingest.run([(Kind.CUSTOMERS, dict(c)) for c in CUSTOMERS])
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]


def step_context(step: Any, cid: str, *, job: str = "job-1", at: datetime = AT,
                 arm: str = "treated", dry_run: bool = False, attempts: int = 0,
                 customer_facts: Mapping[str, object] | None = None,
                 journey: str | None = None) -> StepContext:
    playbook = Playbook(name="greet", title="Greeting", set="communication_plan",
                        trigger=Trigger(kind="cadence", every="quarter"), steps=(step,))
    jr = Journey(journey or f"jr-{job}", "greet", playbook.version, cid,
                 "cadence:quarter:2026Q4", arm, at, "active")
    j = Job(job, jr.journey_id, "greet", cid, step.id, 1, at, "claimed", attempts)
    return StepContext(jr, j, playbook, step,
                       customer_facts if customer_facts is not None else facts(cid), at,
                       dry_run)


SEND_EMAIL = Send(id="mail", channel="email", template="hello")


class Kit:
    """The helpers above, for the tests (conftest modules are not imported by name)."""

    AT = AT
    TEMPLATES = TEMPLATES
    SEND_EMAIL = SEND_EMAIL
    Receiver = Receiver
    engine = StandInEngine()
    facts = staticmethod(facts)
    make_settings = staticmethod(make_settings)
    add_customers = staticmethod(add_customers)
    step_context = staticmethod(step_context)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
