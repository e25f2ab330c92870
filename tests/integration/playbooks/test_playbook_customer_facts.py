"""One customer's facts read from a real store for a playbook's preview (issue 20), on SQLite
and PostgreSQL: the customer's row, the map's, the loyalty membership and the tags, as the
mapping conditions and templates read."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from regulars import bootstrap
from regulars.adapters.db.tables import customer_tags, loyalty_members, map_customers
from regulars.domain.playbooks.conditions import evaluate
from regulars.domain.playbooks.model import Clause, Condition
from regulars.domain.tables import Kind

NOW = datetime(2026, 11, 30, 12, 0)


def _fill(url: str) -> None:
    services = bootstrap.open_api(bootstrap.load_settings(database_url=url,
                                                          api={"live_map": False}))
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "C1", "name": "Anna Tamm", "email": "anna@example.com",
                          "manager": "Mari", "consent_email": True,
                          "attributes": "disc=D;language=et;time_zone=Europe/Tallinn;vip"}),
        (Kind.CUSTOMERS, {"customer_id": "C2", "name": "Boris"}),
    ])
    services.stop()
    services.store.close()  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(map_customers.insert().values(
            customer_id="C1", orders=7, first_order_at=datetime(2024, 1, 5),
            last_order_at=datetime(2026, 9, 1), revenue=1234.5, rung="loyal", status="lapsing",
            signals=json.dumps(["overdue"]), traits=json.dumps(["golden"]), rfm_segment="At risk",
            evidence="{}", evidence_text="", as_of=NOW, updated_at=NOW, money_at_stake=321.0,
            days_since_last_order=90.0))
        conn.execute(loyalty_members.insert().values(
            member_id="C1", enrolled_at=NOW, consent=True, tier="gold", balance=150, pending=0,
            debt=0, deficit=0, earned_total=150, stored_value=0))
        conn.execute(customer_tags.insert().values(customer_id="C1", tag="fair_2026",
                                                   added_at=NOW, source="playbook"))
    engine.dispose()


def test_the_facts_of_one_customer(store_url: str) -> None:
    _fill(store_url)
    source = bootstrap.open_playbook_facts(bootstrap.load_settings(database_url=store_url))
    try:
        found = source.facts_of(["C1", "C2", "C9"])
    finally:
        source.close()
    assert set(found) == {"C1", "C2"}  # an unknown id is left out
    anna = found["C1"]
    assert (anna["name"], anna["manager"], anna["rung"], anna["status"]) == (
        "Anna Tamm", "Mari", "loyal", "lapsing")
    assert anna["signals"] == ["overdue"] and anna["traits"] == ["golden"]
    assert anna["tags"] == ["vip", "fair_2026"]
    assert (anna["tier"], anna["points"], anna["orders"]) == ("gold", 150, 7)
    assert anna["money_at_stake"] == 321.0
    assert anna["attribute.disc"] == "D" and anna["language"] == "et"
    assert anna["time_zone"] == "Europe/Tallinn"
    assert anna["consent_email"] is True
    assert anna["last_order_at"].date().isoformat() == "2026-09-01"
    boris = found["C2"]  # no map row, no membership: unknown, not zero
    assert (boris["rung"], boris["tier"], boris["money_at_stake"], boris["signals"]) == (
        None, None, None, [])
    win_back = Condition(all_=(Clause("traits", "has", "golden"),
                               Clause("money_at_stake", "gte", 100),
                               Clause("attribute.disc", "eq", "d")))
    assert evaluate(win_back, anna) and not evaluate(win_back, boris)
