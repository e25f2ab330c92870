"""Helpers of the web pages' tests (integration and browser): people of every role, a small
served map, and signing in over HTTP as a browser does (the CSRF token read off the page)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from regulars.services.api import ApiServices
    from regulars.services.users import User, Users

PASSWORD = "correct horse battery"
WEB_ROLES = ("owner", "manager", "marketer", "cashier")
#: A name that is HTML: every page must show it as text
EVIL_NAME = '<script>alert("x")</script> & <b>Boss</b>'
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_people(users: Users) -> dict[str, User]:
    """One user per role, whose login is the role; the owner's name is :data:`EVIL_NAME`."""
    made = {}
    for role in WEB_ROLES:
        made[role] = users.create(
            role, role, PASSWORD, name=EVIL_NAME if role == "owner" else role.title(),
            manager="Anna K" if role == "manager" else None)
    return made


def seed_map(services: ApiServices, *, customers: int = 12,
             extra: list[tuple[Any, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A few customers with orders (every third a regular) and NPS answers, and ``extra``
    records, and the map built on them (once: a map costs seconds)."""
    from regulars.domain.tables import Kind

    start = datetime(2024, 1, 1, 10)
    records: list[tuple[Kind, dict[str, Any]]] = []
    for c in range(customers):
        cid = f"C{c:03d}"
        records.append((Kind.CUSTOMERS, {"customer_id": cid, "name": f"Customer {c}",
                                         "manager": "Anna K" if c % 2 else "Boris"}))
        n = 6 if c % 3 == 0 else 1 + c % 2
        for i in range(n):
            records.append((Kind.ORDERS, {
                "order_id": f"O{c:03d}-{i}", "customer_id": cid,
                "ordered_at": start + timedelta(days=30 * i + c), "amount": 100 + 10 * c}))
        records.append((Kind.FEEDBACK, {"customer_id": cid, "at": start + timedelta(days=100),
                                        "nps": 10 if c % 2 else 6}))
    services.ingest.run(records)
    if extra:
        services.ingest.run(extra)  # after the orders they may name
    return rebuild_map_once_per_input(services)


#: the full computation's results by what it read (this process: an xdist worker)
_COMPUTED: dict[tuple[Any, ...], Any] = {}


def rebuild_map_once_per_input(services: ApiServices) -> dict[str, Any]:
    """``services.rebuild_map()``, whose computation (seconds, mostly Ibis compiling SQL) runs
    once per distinct input in this process: the map is a function of the store's input tables
    and the map's settings, both in the key, so a page's test on the same few customers as the
    last one gets the same snapshot written into its own store. The map's rules are tested
    elsewhere; what is cached here is only the pages' tests' waiting for them."""
    import hashlib

    import pyarrow as pa

    from regulars.services.api.live import rebuild

    computer = services.full_compute.__self__  # type: ignore[attr-defined]
    digest = hashlib.sha256()
    for kind, table in sorted(computer.tables().items(), key=lambda kv: kv[0].value):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(kind.value.encode() + sink.getvalue().to_pybytes())
    key = (digest.hexdigest(), repr(computer.params), computer.map_as_of, repr(computer.rules),
           computer.today())
    if key not in _COMPUTED:
        _COMPUTED[key] = services.full_compute(None)
    result = _COMPUTED[key]
    return rebuild(services.store, lambda as_of: result)


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, login: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in as a browser does: the form's page first (its token), then the form."""
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"login": login, "password": password,
                                         "csrf_token": csrf_token(page.text)})
