"""Reading the served customer map, and the privacy rights: export and erasure."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from regulars.domain.errors import InputError
from regulars.i18n import _
from regulars.services.api.ports import ApiStore, CustomerFilter
from regulars.services.audit import Caller, Outcome

_JSON_COLUMNS = ("signals", "traits", "evidence", "evidence_text")


CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"
"""base64url without padding: a length of 1 modulo 4 is never one."""


def encode_cursor(customer_id: str) -> str:
    return base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a page starts after. Any well-formed cursor is a position in the id order, even
    one no page handed out (it names an id that sorts where its bytes say); only text that is
    not base64url is refused, as the API document's pattern says (:data:`CURSOR_PATTERN`)."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(_("invalid cursor: pass next_cursor of the previous page")) from e
    return raw.decode(errors="replace").replace("\x00", "")


def map_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A ``map_customers`` row with its JSON columns decoded."""
    out = dict(row)
    for c in _JSON_COLUMNS:
        if c in out and isinstance(out[c], str):
            out[c] = json.loads(out[c])
    return out


def list_customers(store: ApiStore, f: CustomerFilter, cursor: str | None
                   ) -> tuple[list[dict[str, Any]], str | None]:
    """A page of customers and the cursor of the next page (None on the last)."""
    after = decode_cursor(cursor) if cursor else None
    want = f.limit
    rows = store.list_customers(CustomerFilter(**{**f.__dict__, "after": after,
                                                  "limit": want + 1}))
    more = len(rows) > want
    rows = rows[:want]
    items = []
    for r in rows:
        e = map_entry(r)
        items.append({k: e[k] for k in (
            "customer_id", "name", "email", "phone", "manager", "tier", "rung", "status",
            "signals", "traits",
            "rfm_segment", "orders", "revenue", "last_order_at", "days_since_last_order")})
    return items, (encode_cursor(rows[-1]["customer_id"]) if more and rows else None)


def snapshot_as_of(store: ApiStore) -> dict[str, Any]:
    """The moment the served map describes and how it was chosen (nulls before a map)."""
    state = store.map_state()
    return {"as_of": state["as_of"] if state else None,
            "as_of_source": state.get("as_of_source") if state else None}


def card(store: ApiStore, customer_id: str) -> dict[str, Any] | None:
    cid = store.resolve_alias(customer_id)
    found = store.customer_card(cid)
    if found is None:
        return None
    m = map_entry(found["map"]) if found["map"] else None
    returns_by_order: dict[str, list[dict[str, Any]]] = {}
    for r in found["returns"]:
        returns_by_order.setdefault(r["order_id"], []).append(r)
    timeline = [{**o, "returns": returns_by_order.get(o["order_id"], [])}
                for o in found["orders"]]
    profile = found["profile"]
    return {
        "customer_id": cid,
        **{k: profile.get(k) for k in ("name", "manager", "email", "phone")},
        "profile": profile,
        "rung": m["rung"] if m else None,
        "status": m["status"] if m else None,
        "signals": m["signals"] if m else [],
        "traits": m["traits"] if m else [],
        "rfm": ({"r": m["rfm_r"], "f": m["rfm_f"], "m": m["rfm_m"],
                 "segment": m["rfm_segment"]} if m else None),
        "facts": ({k: m[k] for k in ("orders", "revenue", "avg_order_value",
                                     "typical_gap_days", "days_since_last_order",
                                     "first_order_at", "last_order_at")} if m else None),
        "predictions": _predictions(m),
        "evidence": m["evidence"] if m else [],
        "evidence_text": m["evidence_text"] if m else [],
        "map_as_of": m["as_of"] if m else None,
        "map_as_of_source": m.get("as_of_source") if m else None,
        "orders": timeline,
    }


def _predictions(m: dict[str, Any] | None) -> dict[str, Any] | None:
    """The card's predictions, when the map was built with them (P(alive) is always there
    then)."""
    if not m or m.get("p_alive") is None:
        return None
    return {k: m.get(k) for k in ("p_alive", "expected_orders", "expected_orders_days",
                                  "next_order_expected_at", "clv", "value_at_risk")}


def export(store: ApiStore, customer_id: str) -> dict[str, Any] | None:
    """Everything the store holds about one customer (the right of access)."""
    cid = store.resolve_alias(customer_id)
    rows = store.customer_rows(cid)
    if not rows["customers"]:
        return None
    rows["customer_map"] = [map_entry(r) for r in rows["customer_map"]]
    return {"customer_id": cid, "exported_at": datetime.now(UTC).replace(tzinfo=None),
            "tables": rows}


def erase(store: ApiStore, customer_id: str, *, key_id: str = "",
          action: str = "POST /v1/customers/{id}/erase",
          caller: Caller | None = None) -> dict[str, Any] | None:
    """Remove the personal data of one customer; orders, amounts and aggregates stay
    (docs/http-api.md#privacy). ``caller`` (or, for the command line's ``cli:ACTOR``,
    ``key_id`` and ``action``) says who did it in the audit log, in the erasure's own
    transaction."""
    if caller is None:
        cli = key_id.startswith("cli:")
        caller = (Caller.cli(action, key_id.split(":", 1)[1]) if cli
                  else Caller.http(key_id, action=action))
    cid = store.resolve_alias(customer_id)
    rows = store.customer_rows(cid)
    if not rows["customers"] and not rows.get("loyalty_members"):  # a member without a card too
        return None
    counts = store.erase_customer(cid, key_id=caller.key_id, action=caller.action or action,
                                  at=datetime.now(UTC).replace(tzinfo=None),
                                  channel=caller.channel, status=caller.status(Outcome.DONE))
    return {"customer_id": cid, "erased": counts}
