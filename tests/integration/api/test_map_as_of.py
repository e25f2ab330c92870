"""The served map is as of the same moment `regulars analyze` picks (the end of the day of the
last order) unless configured otherwise, every map answer says its moment and how it was
chosen, and every list names the customer, the manager and the contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import regulars
from regulars.config import ApiSettings

I = "integration"  # noqa: E741
CARDS = [
    {"customer_id": "A", "name": "Anna <Tamm>", "manager": "Mari", "email": "anna@example.ee",
     "phone": "+372 5123 4567"},
    {"customer_id": "B", "name": "Boris"},
]
# A orders every month from January to May 2024; B once, on 20 May: the last order
ORDERS = [{"order_id": f"A{m}", "customer_id": "A", "ordered_at": f"2024-0{m}-05T10:00:00",
           "amount": "20.00"} for m in range(1, 6)] + [
    {"order_id": "B1", "customer_id": "B", "ordered_at": "2024-05-20T09:00:00",
     "amount": "15.00"}]
LAST_ORDER_DAY = "2024-05-20T23:59:59.999999Z"


def shop(call: Any) -> None:
    assert call(I, "POST", "/v1/customers", json=CARDS).status_code == 201
    assert call(I, "POST", "/v1/orders", json=ORDERS).status_code == 201


def test_the_default_is_the_last_order_rule_of_the_cli():
    assert ApiSettings().map_as_of == "last_order"


def test_the_map_is_as_of_the_last_order_as_in_the_cli_and_says_so(call):
    shop(call)
    state = call("admin", "POST", "/v1/map/rebuild").json()
    assert (state["as_of"], state["as_of_source"]) == (LAST_ORDER_DAY, "last order")
    assert call("readonly", "GET", "/v1/map").json()["as_of_source"] == "last order"
    health = call("readonly", "GET", "/v1/health").json()
    assert (health["map_as_of"], health["map_as_of_source"]) == (LAST_ORDER_DAY, "last order")
    page = call("readonly", "GET", "/v1/customers").json()
    assert (page["as_of"], page["as_of_source"]) == (LAST_ORDER_DAY, "last order")
    portfolio = call("readonly", "GET", "/v1/portfolio").json()
    assert portfolio["as_of_source"] == "last order"
    assert portfolio["as_of"].startswith("2024-05-20T23:59:59")
    assert call("readonly", "GET", "/v1/ladder/flow").json()["as_of_source"] == "last order"

    # the same labels as `regulars analyze` of the same rows: A, 15 days after a monthly
    # order, is active (by the clock, two years on, A would be lost)
    cli = regulars.analyze(pa.Table.from_pylist(ORDERS),
                           customers=pa.Table.from_pylist(CARDS)).customers.to_arrow()
    expected = {r["customer_id"]: (r["rung"], r["status"]) for r in cli.to_pylist()}
    assert expected["A"][1] == "active"  # (its rung is the ladder's business, not this test's)
    served = {c["customer_id"]: (c["rung"], c["status"]) for c in page["items"]}
    assert served == expected

    # whom to call: in the list and on the card, as the card has them now
    a = page["items"][0]
    assert (a["name"], a["manager"], a["email"], a["phone"]) == (
        "Anna <Tamm>", "Mari", "anna@example.ee", "+372 5123 4567")
    assert (page["items"][1]["name"], page["items"][1]["phone"]) == ("Boris", None)
    card = call("manager", "GET", "/v1/customers/A").json()
    assert (card["name"], card["manager"], card["email"], card["phone"]) == (
        "Anna <Tamm>", "Mari", "anna@example.ee", "+372 5123 4567")
    assert (card["map_as_of"], card["map_as_of_source"]) == (LAST_ORDER_DAY, "last order")


def test_an_erased_name_leaves_every_list_at_once(call):
    shop(call)
    call("admin", "POST", "/v1/map/rebuild")
    assert call("admin", "POST", "/v1/customers/A/erase").status_code == 200
    a = call("readonly", "GET", "/v1/customers").json()["items"][0]
    assert (a["customer_id"], a["name"], a["email"], a["phone"]) == ("A", None, None, None)


def test_a_given_moment_is_said_to_be_given(call):
    shop(call)
    state = call("admin", "POST", "/v1/map/rebuild",
                 json={"as_of": "2024-03-31T23:59:59"}).json()
    assert (state["as_of"], state["as_of_source"]) == ("2024-03-31T23:59:59Z", "given")
    card = call("readonly", "GET", "/v1/customers/A").json()
    assert (card["map_as_of_source"], card["facts"]["orders"]) == ("given", 3)


@pytest.mark.parametrize("api_overrides", [{"map_as_of": "now"}])
def test_a_live_till_business_may_keep_the_clock(call):
    shop(call)
    before = datetime.now(UTC)
    state = call("admin", "POST", "/v1/map/rebuild").json()
    assert state["as_of_source"] == "clock"
    moment = datetime.fromisoformat(state["as_of"])
    assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC)
    # by the clock, a monthly customer silent since May 2024 is lost
    a = call("readonly", "GET", "/v1/customers").json()["items"][0]
    assert (a["customer_id"], a["status"]) == ("A", "lost")


@pytest.mark.parametrize("api_overrides", [{"live_map": True}])
def test_a_live_refresh_moves_a_customer_to_a_later_last_order_and_says_how(call, services):
    shop(call)
    assert services.live.flush(60)
    call("admin", "POST", "/v1/map/rebuild")
    later = {"order_id": "B2", "customer_id": "B", "ordered_at": "2024-06-10T12:00:00",
             "amount": "15.00"}
    assert call(I, "POST", "/v1/orders", json=[later]).status_code == 201
    assert services.live.flush(60)
    b = call("readonly", "GET", "/v1/customers/B").json()
    assert (b["map_as_of"], b["map_as_of_source"]) == ("2024-06-10T23:59:59.999999Z",
                                                       "last order")
    assert b["facts"]["orders"] == 2
    a = call("readonly", "GET", "/v1/customers/A").json()  # untouched: the snapshot's
    assert (a["map_as_of"], a["map_as_of_source"]) == (LAST_ORDER_DAY, "last order")


def test_the_live_refresh_gives_the_columns_of_the_full_map(call, services, api_settings):
    import json

    from regulars import api
    from regulars.domain.tables import Kind

    shop(call)
    call("admin", "POST", "/v1/map/rebuild")
    state = services.store.map_state()
    everyone = {k: services.store.read_table(k) for k in Kind}
    full, at = api.compute_customer_map(api_settings, tables=everyone)
    touched = {k: services.store.read_rows(k, ["A"]) for k in Kind}
    live, live_at = api.refresh_map(api_settings, touched, json.loads(state["baseline"]),
                                    None, state["as_of"])
    assert at == live_at == state["as_of"]
    assert live.column_names == full.column_names
    assert full.column_names[:5] == ["customer_id", "name", "manager", "email", "phone"]
    row = live.filter(pc.equal(live.column("customer_id"), "A")).to_pylist()[0]
    assert (row["name"], row["manager"], row["phone"]) == ("Anna <Tamm>", "Mari",
                                                          "+372 5123 4567")
