"""Rows as the runner (journeys, jobs) and the sender (messages) will write them, and orders,
for the report's tests. The expected report is worked out by hand in the tests' comments.

Playbook ``win_back`` (goal: an order within 30 days), as of 2026-06-01:

- 20 treated entrants on 2026-03-01 10:00 (T00..T19; T00-T09 version 1, T10-T19 version 2);
  8 ordered within the window: T00 twice (70 + 30), T01..T07 100 each; T01 returned 40 of
  its order within the window, T02 returned 25 after it (still counted). Per entrant: seven
  of 100, one of 60, twelve of 0: 760 in all, 38 per entrant; goal rate 8/20 = 0.40;
  9 orders, 0.45 per entrant.
  Orders that must not count: T08's at the very moment it entered (the trigger's own order),
  T09's 31 days after, T10's the day before entering.
- 5 control entrants at the same moment (K0..K4, version 1): K0 ordered 50 within the window.
  Goal rate 1/5 = 0.20, 10 per entrant, 0.2 orders per entrant.
- 3 treated entrants on 2026-05-20 (O0..O2): their window closes on 2026-06-19, after the
  as-of: open, not compared, though O0 ordered on 2026-05-25.

Steps of win_back: ``wait`` (seq 0), ``email`` (seq 1), ``call`` (seq 2). Jobs: ``wait`` done for
all 25 closed entrants (the control ones' with outcome control); ``email`` done for the 20
treated (15 sent, 5 skipped), control for the 5; ``call`` pending for 3, failed for 1.
Messages of ``email``: 15 sent, 3 skipped cap, 2 skipped no_consent, and 5 control rows (reason
control) that are the control entrants' steps, not skips.

Playbook ``birthday``: 4 entrants on 2026-05-25, all still open: no comparison yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.tables import (
    INPUT_TABLES,
    playbook_jobs,
    playbook_journeys,
    playbook_messages,
)
from regulars.domain.tables import Kind

AS_OF = datetime(2026, 6, 1)
ENTERED = datetime(2026, 3, 1, 10, 0)
LATE = datetime(2026, 5, 20, 10, 0)
ORDERS = INPUT_TABLES[Kind.ORDERS]
RETURNS = INPUT_TABLES[Kind.RETURNS]

TREATED_REVENUE = [100.0] * 7 + [60.0] + [0.0] * 12
CONTROL_REVENUE = [50.0, 0.0, 0.0, 0.0, 0.0]
TREATED_ORDERS = [2] + [1] * 7 + [0] * 12  # T00 ordered twice in its window
CONTROL_ORDERS = [1, 0, 0, 0, 0]


def _journey(jid: str, playbook: str, customer: str, arm: str, at: datetime,
             version: str = "1") -> dict[str, Any]:
    return {"journey_id": jid, "playbook": playbook, "version": version,
            "customer_id": customer, "entry_key": f"change:status:{at:%Y-%m-%d}", "arm": arm,
            "entered_at": at, "state": "active", "ended_at": None, "end_reason": None,
            "goal_at": None}


def _job(journey: str, playbook: str, customer: str, step: str, seq: int, status: str,
         outcome: str | None) -> dict[str, Any]:
    return {"job_id": f"{journey}:{seq}", "journey_id": journey, "playbook": playbook,
            "customer_id": customer, "step_id": step, "seq": seq, "due_at": ENTERED,
            "status": status, "lease_owner": None, "lease_until": None, "attempts": 1,
            "outcome": outcome, "detail": None, "done_at": ENTERED}


def _message(journey: str, customer: str, state: str, reason: str | None) -> dict[str, Any]:
    return {"message_id": f"{journey}:1", "journey_id": journey, "playbook": "win_back",
            "step_id": "email", "customer_id": customer, "channel": "email",
            "purpose": "marketing", "template": "win_back", "language": "en",
            "state": state, "reason": reason, "detail": None, "at": ENTERED,
            "provider_id": None}


def _order(oid: str, customer: str, at: datetime, amount: float) -> dict[str, Any]:
    return {"order_id": oid, "customer_id": customer, "ordered_at": at, "amount": amount,
            "row_hash": oid.ljust(32, "0")[:32]}


def fill(engine: sa.Engine) -> None:
    journeys, jobs, messages, orders, returns = [], [], [], [], []
    for i in range(20):
        jid, cid = f"jt{i:02d}", f"T{i:02d}"
        journeys.append(_journey(jid, "win_back", cid, "treated", ENTERED,
                                 "1" if i < 10 else "2"))
        jobs.append(_job(jid, "win_back", cid, "wait", 0, "done", "waited"))
        sent = i < 15
        jobs.append(_job(jid, "win_back", cid, "email", 1, "done",
                         "sent" if sent else "skipped"))
        reason = None if sent else ("cap" if i < 18 else "no_consent")
        messages.append(_message(jid, cid, "sent" if sent else "skipped", reason))
        if i < 3:
            jobs.append(_job(jid, "win_back", cid, "call", 2, "pending", None))
        elif i == 3:
            jobs.append(_job(jid, "win_back", cid, "call", 2, "failed", "failed"))
    for i in range(5):
        jid, cid = f"jk{i}", f"K{i}"
        journeys.append(_journey(jid, "win_back", cid, "control", ENTERED))
        jobs.append(_job(jid, "win_back", cid, "wait", 0, "done", "control"))
        jobs.append(_job(jid, "win_back", cid, "email", 1, "done", "control"))
        messages.append(_message(jid, cid, "skipped", "control"))
    for i in range(3):
        journeys.append(_journey(f"jo{i}", "win_back", f"O{i}", "treated", LATE))
    for i in range(4):
        journeys.append(_journey(f"jb{i}", "birthday", f"B{i}", "treated" if i else "control",
                                 datetime(2026, 5, 25)))
    day = timedelta(days=1)
    orders += [
        _order("o-t00a", "T00", ENTERED + 2 * day, 70.0),
        _order("o-t00b", "T00", ENTERED + 29 * day, 30.0),
        *(_order(f"o-t0{i}", f"T0{i}", ENTERED + i * day, 100.0) for i in range(1, 8)),
        _order("o-t08", "T08", ENTERED, 500.0),               # the trigger's own order
        _order("o-t09", "T09", ENTERED + 31 * day, 500.0),    # after the window
        _order("o-t10", "T10", ENTERED - day, 500.0),         # before entering
        _order("o-k0", "K0", ENTERED + 10 * day, 50.0),
        _order("o-o0", "O0", datetime(2026, 5, 25), 80.0),    # open window
    ]
    returns += [
        {"return_id": "r1", "order_id": "o-t01", "returned_at": ENTERED + 5 * day,
         "amount": 40.0, "row_hash": "r1".ljust(32, "0")},
        {"return_id": "r2", "order_id": "o-t02", "returned_at": ENTERED + 40 * day,
         "amount": 25.0, "row_hash": "r2".ljust(32, "0")},
    ]
    with engine.begin() as conn:
        conn.execute(playbook_journeys.insert(), journeys)
        conn.execute(playbook_jobs.insert(), jobs)
        conn.execute(playbook_messages.insert(), messages)
        conn.execute(ORDERS.insert(), orders)
        conn.execute(RETURNS.insert(), returns)
