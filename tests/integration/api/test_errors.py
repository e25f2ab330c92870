"""Every error is application/problem+json (RFC 9457); size and rate limits."""

from __future__ import annotations

import re

import pytest

from .conftest import order

PROBLEM = "application/problem+json"


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["type"].startswith("/problems/")
    assert body["title"] and body["instance"]
    return body


def test_unknown_routes_methods_and_ids_are_problems(call):
    assert_problem(call("readonly", "GET", "/v1/nothing"), 404)
    assert_problem(call("readonly", "PUT", "/v1/customers"), 405)
    assert_problem(call("readonly", "GET", "/v1/customers/NOBODY"), 404)
    assert_problem(call("readonly", "GET", "/v1/portfolio"), 404)  # no map built yet


def test_query_validation_names_the_parameter(call):
    body = assert_problem(call("readonly", "GET", "/v1/customers",
                               params={"limit": 0, "rung": "vip"}), 422)
    assert {e["field"] for e in body["errors"]} == {"query.limit", "query.rung"}
    assert_problem(call("readonly", "GET", "/v1/customers", params={"cursor": "@@"}), 422)


def test_malformed_json_is_a_problem(call):
    body = assert_problem(call("integration", "POST", "/v1/orders", content=b"{oops",
                               headers={"content-type": "application/json"}), 422)
    assert body["errors"] == [{"field": "body", "message": "not valid JSON"}]


@pytest.fixture
def api_overrides():
    # one token every 5 s: the test's requests never earn a new one, however slow the machine
    return {"max_body_bytes": 2048, "rate_limit": 0.2, "rate_burst": 10}


def test_bodies_over_the_limit_are_refused_with_413(call):
    big = [order(i) for i in range(40)]
    assert_problem(call("integration", "POST", "/v1/orders", json=big), 413)

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(10):
            yield b" " * 1000

    assert_problem(call("integration", "POST", "/v1/orders", content=chunks(),
                        headers={"content-type": "application/json"}), 413)
    assert call("integration", "POST", "/v1/orders", json=order(1)).status_code == 201


def test_a_key_over_its_rate_gets_429_with_retry_after(call):
    codes = [call("readonly", "GET", "/v1/customers").status_code for _ in range(10)]
    assert codes == [200] * 10
    r = call("readonly", "GET", "/v1/customers")
    body = assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1 and body["type"] == "/problems/rate-limited"
    assert int(r.headers["retry-after"]) <= 5
    # other keys are not affected (the refill is tested in tests/unit/api)
    assert call("manager", "GET", "/v1/customers").status_code == 200


def test_a_nul_character_is_a_422_naming_the_field_not_a_server_error(call):
    """PostgreSQL text cannot hold NUL: schemathesis once got a 500 from one in attributes."""
    body = assert_problem(call("integration", "POST", "/v1/customers",
                               json={"customer_id": "N1", "attributes": "a\x00b"}), 422)
    assert any("attributes" in str(e.get("field", "")) for e in body["errors"]), body
    assert call("integration", "POST", "/v1/customers",
                json={"customer_id": "N1", "attributes": "ab"}).status_code in (200, 201)


def test_method_not_allowed_names_every_method_of_the_path(call):
    """GET /v1/customers (the list) and POST /v1/customers (ingest) live in two routers;
    Starlette's own 405 named only POST (schemathesis ST205)."""
    r = call("readonly", "PUT", "/v1/customers")
    assert_problem(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    r = call("readonly", "DELETE", "/v1/keys")
    assert_problem(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    # DELETE /v1/webhooks/{id} would match "deliveries" as an id: not this resource's method
    r = call("admin", "PUT", "/v1/webhooks/deliveries")
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET"


def test_the_document_promises_what_the_validators_accept(call):
    """schemathesis ST201/ST202: `"amount": ""` was valid by the document and refused; `"at":
    0` was invalid by the document and taken for 1970; `[]` was a valid body and refused."""
    doc = call("readonly", "GET", "/openapi.json").json()
    amount = doc["components"]["schemas"]["OrderIn"]["properties"]["amount"]
    text = next(a for a in amount["anyOf"] if a["type"] == "string")
    assert re.fullmatch(text["pattern"], "12.50") and re.fullmatch(text["pattern"], "+3")
    for bad in ("", "-1", "1e3", "1.23456", "1" * 15):
        assert not re.fullmatch(text["pattern"], bad), bad
    order = {"customer_id": "C1", "ordered_at": "2025-03-01T10:00:00Z"}
    assert call("integration", "POST", "/v1/orders",
                json={**order, "amount": "12.50"}).status_code == 201
    for bad in ({"amount": ""}, {"amount": "12", "ordered_at": 0}):
        body = assert_problem(call("integration", "POST", "/v1/orders",
                                   json={**order, **bad}), 422)
        assert body["errors"][0]["field"] in ("amount", "ordered_at")
    assert_problem(call("admin", "POST", "/v1/loyalty/run", json={"at": 0}), 422)
    assert_problem(call("integration", "POST", "/v1/orders", json=[]), 422)
    body_schema = doc["paths"]["/v1/orders"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    many = [s for s in body_schema.get("anyOf", body_schema.get("oneOf", []))
            if s.get("type") == "array"]
    assert [s["minItems"] for s in many] == [1], body_schema


def test_odd_json_values_are_refused_as_the_document_says_or_read_exactly(call):
    """schemathesis: a 1.8e308 amount was a 500 (a float too large to round), `quantity:
    false` was taken for 0, and a webhook host no resolver can look up was accepted and then
    failed every delivery."""
    order = {"customer_id": "C1", "ordered_at": "2025-03-01T10:00:00Z"}
    body = assert_problem(call("integration", "POST", "/v1/orders",
                               json={**order, "amount": 1.7976931348623157e308}), 422)
    assert body["errors"][0]["field"] == "amount"
    assert_problem(call("integration", "POST", "/v1/orders",
                        json={**order, "amount": 5, "quantity": False}), 422)
    # a JSON number is a binary fraction: 0.1 + 0.2 is read to the store's four places
    r = call("integration", "POST", "/v1/orders",
             json={**order, "order_id": "F1", "amount": 0.1 + 0.2})
    assert r.status_code == 201, r.text
    assert call("integration", "POST", "/v1/orders",
                json={**order, "order_id": "F1", "amount": "0.3"}).json()["already_present"] == 1
    body = assert_problem(call("admin", "POST", "/v1/webhooks", json={
        "url": "https://" + "a" * 70 + ".example/hook", "events": ["tier_changed"]}), 422)
    assert body["errors"][0]["field"] == "url"
