"""End to end: a demo business sent over HTTP (a real client on loopback) yields the same
customer map as ``regulars analyze`` computes from its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from regulars.demo import DemoSpec
from regulars.demo.files import write_demo
from regulars.domain.tables import IMPORT_ORDER, SPECS, Kind

EVENT_TYPES = {Kind.INVOICES: "invoice", Kind.INTERACTIONS: "interaction",
               Kind.FEEDBACK: "feedback", Kind.REFERRALS: "referral"}
PATHS = {Kind.CUSTOMERS: "/v1/customers", Kind.ORDERS: "/v1/orders",
         Kind.RETURNS: "/v1/returns"}


def records(path: Path, kind: Kind) -> list[dict[str, Any]]:
    names = SPECS[kind].names
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=True))
    out = []
    for row in table.to_pylist():
        rec = {k: v for k, v in row.items() if v not in (None, "")}
        if kind in EVENT_TYPES:
            rec["type"] = EVENT_TYPES[kind]
        out.append(rec)
    return out


@pytest.mark.slow
def test_the_demo_business_over_http_gives_the_clis_customer_map(tmp_path, regulars, client,
                                                                 keys):
    files = write_demo(tmp_path / "demo", DemoSpec(customers=300, seed=11), fmt="csv")
    headers = {"Authorization": f"Bearer {keys['integration']}"}
    sent = 0
    for kind in IMPORT_ORDER:
        rows = records(files[kind.value], kind)
        path = PATHS.get(kind, "/v1/events")
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            r = client.post(path, json=chunk, headers=headers,
                            timeout=httpx.Timeout(120))
            assert r.status_code in (200, 201), r.text[:2000]
            sent += len(chunk)
    assert sent > 1000
    r = client.post("/v1/map/rebuild", headers={"Authorization": f"Bearer {keys['admin']}"},
                    timeout=300)
    assert r.status_code == 200, r.text

    cli = regulars(tmp_path, "analyze", str(tmp_path / "demo"), "--out", "map.parquet")
    assert cli.returncode == 0, cli.stderr
    expected = {r["customer_id"]: r for r in pq.read_table(tmp_path / "map.parquet").to_pylist()}

    got: dict[str, dict[str, Any]] = {}
    cursor = None
    reader = {"Authorization": f"Bearer {keys['readonly']}"}
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/customers", params=params, headers=reader).json()
        got.update({c["customer_id"]: c for c in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(got) == set(expected)
    assert page["as_of_source"] == "last order"  # the CLI's rule, by default
    assert sum(c["phone"] is not None for c in got.values()) > 100  # whom to call, too
    for cid, want in expected.items():
        have = got[cid]
        for col in ("rung", "status", "signals", "traits", "rfm_segment", "orders",
                    "name", "manager", "email", "phone"):
            assert have[col] == want[col], (cid, col, have[col], want[col])
        assert have["revenue"] == pytest.approx(want["revenue"])
    # the evidence too, on a sample of cards
    for cid in sorted(expected)[::25]:
        card = client.get(f"/v1/customers/{cid}", headers=reader).json()
        assert card["evidence"] == json.loads(expected[cid]["evidence"])
        assert card["evidence_text"] == list(expected[cid]["evidence_text"])
