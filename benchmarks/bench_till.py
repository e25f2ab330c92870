"""The till (issue 19) on 100 000 members: a search and a member's panel at p95 <= 200 ms.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_till.py DATABASE_URL [--members N]

Fills the store once (customers with names and phones, members enrolled through the loyalty
service, a card each), then times, for random members, :class:`regulars.services.till.Till`'s
``find`` (by phone, card, id) and ``panel``, and the pages as a signed-in cashier gets them
over HTTP (``GET /till?q=…``, answered by a redirect to the one member found, and
``GET /till/members/{id}``). Prints the median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import httpx
import sqlalchemy as sa

from regulars import bootstrap
from regulars.services.till import Till

PASSWORD = "correct horse battery"


def timed(f: Callable[[int], object], members: int, n: int = 200) -> tuple[float, float]:
    ts = []
    for _ in range(n):
        i = random.randrange(members)
        t = time.perf_counter()
        f(i)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return round(statistics.median(ts), 1), round(ts[int(len(ts) * 0.95)], 1)


def fill(url: str, services, members: int) -> None:  # type: ignore[no-untyped-def]
    from regulars.adapters.db.tables import INPUT_TABLES, loyalty_members
    from regulars.domain.tables import Kind

    engine = sa.create_engine(url)
    with engine.connect() as c:
        have = c.execute(sa.select(sa.func.count()).select_from(loyalty_members)).scalar()
    if have and have >= members:
        return
    t = time.perf_counter()
    customers = INPUT_TABLES[Kind.CUSTOMERS]
    with engine.begin() as c:
        c.execute(customers.insert(), [
            {"customer_id": f"B{i:06d}", "name": f"Bench {i}", "phone": f"+372 5{i:07d}",
             "phone_norm": f"3725{i:07d}", "row_hash": f"h{i}", "stub": False}
            for i in range(members)])
    services.loyalty.service.enrol_many(
        [{"member_id": f"B{i:06d}", "phone": f"+372 5{i:07d}"} for i in range(members)])
    with engine.begin() as c:
        c.execute(sa.text("UPDATE loyalty_members SET card_number = 'K' || substr(member_id, 2)"))
    print(f"filled {members} members in {time.perf_counter() - t:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    settings = bootstrap.load_settings(database_url=args.database_url, api={"live_map": False})
    services = bootstrap.open_api(settings)
    n = args.members
    fill(args.database_url, services, n)
    till = Till(services.loyalty, services.ingest)
    print("find by phone", timed(lambda i: till.find(f"+372 5{i:07d}"), n))
    print("find by card ", timed(lambda i: till.find(f"K{i:06d}"), n))
    print("find by id   ", timed(lambda i: till.find(f"B{i:06d}"), n))
    print("panel        ", timed(lambda i: till.panel(f"B{i:06d}"), n))
    users = bootstrap.open_users(settings, services=services,
                                 hasher=bootstrap.password_hasher(cheap=True))
    if users.store.user_by_login("benchcash") is None:
        users.create("benchcash", "cashier", PASSWORD)
    app = create_app(settings, services=services, rebuild_on_start=False, background=False,
                     users=users)
    with serving(app) as base, httpx.Client(base_url=base) as client:
        page = client.get("/sign-in").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/sign-in", data={"login": "benchcash", "password": PASSWORD,
                                      "csrf_token": token})
        print("GET /till?q=phone   ", timed(
            lambda i: client.get("/till", params={"q": f"+372 5{i:07d}"}), n))
        print("GET /till?q=card    ", timed(
            lambda i: client.get("/till", params={"q": f"K{i:06d}"}), n))
        print("GET /till/members/id", timed(lambda i: client.get(f"/till/members/B{i:06d}"), n))
    services.stop()


if __name__ == "__main__":
    main()
