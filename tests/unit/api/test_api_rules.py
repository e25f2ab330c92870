"""The HTTP API's rules that need no server: keys, signatures, rate limit, fingerprints,
request models and error mapping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from regulars.domain.tables import SPECS, Kind
from regulars.entrypoints.http.problems import _field_errors
from regulars.entrypoints.http.schemas import CustomerIn, OrderIn, ReturnIn, typed_row
from regulars.services.api import RateLimiter, retry_after
from regulars.services.api.ingest import canonical, derived_id, request_hash, row_hash
from regulars.services.api.keys import GRANTS, KeyRing, Permission, Role, parse, secret_hash
from regulars.services.api.webhooks import sign, verify


class FakeKeys:
    """The key methods of the API store, in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}
        self.lookups = 0

    def add_key(self, record: dict[str, Any]) -> None:
        self.keys[record["key_id"]] = dict(record)

    def get_key(self, key_id: str) -> dict[str, Any] | None:
        self.lookups += 1
        found = self.keys.get(key_id)
        return dict(found) if found else None

    def list_keys(self) -> list[dict[str, Any]]:
        return list(self.keys.values())

    def update_key(self, key_id: str, values: dict[str, Any]) -> None:
        self.keys[key_id].update(values)


def test_a_key_verifies_only_with_its_own_secret_and_is_stored_hashed():
    store = FakeKeys()
    ring = KeyRing(store, ttl=0)  # type: ignore[arg-type]
    key, record = ring.create(Role.INTEGRATION, "till")
    key_id, secret = parse(key)  # type: ignore[misc]
    assert record["key_id"] == key_id and "secret_hash" not in record
    assert store.keys[key_id]["secret_hash"] == secret_hash(key_id, secret)
    assert secret not in str(store.keys)
    assert ring.verify(key).role is Role.INTEGRATION  # type: ignore[union-attr]
    assert ring.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert ring.verify("rgl_" + "0" * 16 + "_x") is None
    assert ring.verify("Bearer nonsense") is None


def test_rotation_revokes_the_old_key_and_keeps_the_role():
    ring = KeyRing(FakeKeys(), ttl=0)  # type: ignore[arg-type]
    old, record = ring.create("manager", "office")
    new, new_record = ring.rotate(record["key_id"])
    assert ring.verify(old) is None
    assert ring.verify(new).role is Role.MANAGER  # type: ignore[union-attr]
    assert new_record["name"] == "office"
    ring.revoke(new_record["key_id"])
    assert ring.verify(new) is None


def test_verified_keys_are_cached_for_the_ttl():
    store = FakeKeys()
    ring = KeyRing(store, ttl=60)  # type: ignore[arg-type]
    key, _r = ring.create("readonly")
    for _ in range(5):
        assert ring.verify(key) is not None
    assert store.lookups == 1


def test_roles_grant_what_the_issue_says():
    assert GRANTS[Role.ADMIN] == frozenset(Permission)
    assert GRANTS[Role.INTEGRATION] == {Permission.INGEST, Permission.READ_POINTS,
                                        Permission.QUOTE_POINTS, Permission.REDEEM_POINTS,
                                        Permission.ENROL_MEMBERS}
    assert Permission.ADJUST_POINTS in GRANTS[Role.MANAGER]
    assert Permission.ADJUST_POINTS not in GRANTS[Role.INTEGRATION] | GRANTS[Role.READONLY]
    assert Permission.INGEST not in GRANTS[Role.MANAGER] | GRANTS[Role.READONLY]
    assert Permission.ERASE not in GRANTS[Role.MANAGER]


def test_a_signature_verifies_and_tampering_or_age_breaks_it():
    body = b'{"type":"rung_changed"}'
    now = int(time.time())
    header = sign("whsec_s", now, body)
    assert header.startswith(f"t={now},v1=")
    assert verify("whsec_s", header, body)
    assert not verify("whsec_s", header, body + b"x")
    assert not verify("whsec_other", header, body)
    assert not verify("whsec_s", sign("whsec_s", now - 3600, body), body)
    assert not verify("whsec_s", "garbage", body)


def test_the_rate_limiter_allows_a_burst_then_the_rate():
    limiter = RateLimiter(rate=10.0, burst=3)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert 0 < wait <= 0.1 and retry_after(wait) == 1
    assert limiter.take("other") == 0.0
    time.sleep(0.12)
    assert limiter.take("k") == 0.0


def test_fingerprints_follow_the_importers_canonical_text():
    spec = SPECS[Kind.ORDERS]
    row = canonical(spec, {"customer_id": " C1 ", "ordered_at": datetime(
        2024, 1, 2, 3, 4, 5, 250000, tzinfo=timezone(timedelta(hours=2))),
        "amount": Decimal("7"), "categories": ["a", " b", ""]}, "EUR")
    assert row["customer_id"] == "C1" and row["currency"] == "EUR"
    assert row["ordered_at"] == datetime(2024, 1, 2, 1, 4, 5, 250000)  # UTC, no offset
    assert row["categories"] == "a;b" and row["amount"] == Decimal("7.0000")
    same = canonical(spec, {**row, "ordered_at": row["ordered_at"].replace(tzinfo=UTC),
                            "categories": "a|b"}, "EUR")
    assert row_hash(spec, row) == row_hash(spec, same)
    h = row_hash(spec, row)
    assert derived_id(spec, h, 1).startswith("O-") and derived_id(spec, h, 1) != derived_id(
        spec, h, 2)


def test_the_idempotency_fingerprint_ignores_spacing_and_key_order():
    assert request_hash("POST", "/v1/orders", {"a": 1, "b": [1, 2]}) == request_hash(
        "POST", "/v1/orders", {"b": [1, 2], "a": 1})
    assert request_hash("POST", "/v1/orders", {"a": 1}) != request_hash(
        "POST", "/v1/returns", {"a": 1})


@pytest.mark.parametrize(("model", "kind"), [(CustomerIn, Kind.CUSTOMERS),
                                             (OrderIn, Kind.ORDERS), (ReturnIn, Kind.RETURNS)])
def test_request_models_are_the_column_contract(model, kind):
    spec = SPECS[kind]
    assert set(model.model_fields) == set(spec.names)
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    assert required == {c.name for c in spec.columns if c.required} | (
        set() if spec.derived_id else {spec.id_column})


def test_validation_errors_name_the_field_and_the_index():
    # the messages are ours, by the error's type, never pydantic's English
    raw = [{"loc": ("body", "many", 3, "amount"), "msg": "too small", "type": "greater_than_equal",
            "ctx": {"ge": 0}},
           {"loc": ("body", "one", "ordered_at"), "msg": "bad", "type": "datetime_parsing"},
           {"loc": ("body", "many", 0, "feedback", "nps"), "msg": "big", "type": "x"},
           {"loc": ("query", "limit"), "msg": "ge 1", "type": "missing"},
           {"loc": ("body", 7), "msg": "JSON decode error", "type": "json_invalid"}]
    assert _field_errors(raw) == [
        {"field": "amount", "message": "must be at least 0", "index": 3},
        {"field": "ordered_at",
         "message": "not a valid date and time: write it as 2026-03-31T14:05:00Z"},
        {"field": "nps", "message": "not a valid value", "index": 0},
        {"field": "query.limit", "message": "field required"},
        {"field": "body", "message": "not valid JSON"}]


def test_an_http_record_is_typed_once_by_its_check_and_its_currency_filled_later():
    spec = SPECS[Kind.ORDERS]
    sent = {"order_id": "O1", "customer_id": " C1 ", "ordered_at": "2024-01-02T03:04:05+02:00",
            "amount": "7", "categories": "a| b"}
    row = typed_row(OrderIn.model_validate(sent))
    # what the ingest would have typed from the model's values, but the currency: left for
    # the ingest to fill with the store's
    assert row == {**canonical(spec, OrderIn.model_validate(sent).model_dump(), "EUR"),
                   "currency": None}
    assert row["customer_id"] == "C1" and row["categories"] == "a;b"
    assert row["ordered_at"] == datetime(2024, 1, 2, 1, 4, 5)
    # typing a typed row again changes nothing (a replay types the rows it kept)
    assert canonical(spec, row, None) == row
    assert canonical(spec, row, "EUR")["currency"] == "EUR"
