"""Today's worklist (issue 18): each rule on a small hand-made map, the figures computed by
hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.services import worklist as service

DAY = date(2025, 3, 5)  # a Wednesday
NOON = datetime(2025, 3, 5, 12)
POLICY = cp.ContactPolicy(quiet_hours=None, quiet_days=frozenset())
RULES = wl.WorklistRules(daily_capacity=3)


def customer(cid: str, *, status: str = "active", rung: str = "regular",
             signals: tuple[str, ...] = (), revenue: float = 500.0, money: float = 100.0,
             last_order: datetime | None = None, manager: str | None = "Anna",
             evidence: list[dict[str, Any]] | None = None, **profile: Any) -> dict[str, Any]:
    ev = evidence if evidence is not None else [
        {"about": "signal", "code": s, "days_overdue": 10} for s in signals]
    return {"customer_id": cid, "status": status, "rung": rung, "signals": list(signals),
            "revenue": revenue, "money_at_stake": money,
            "last_order_at": last_order or NOON - timedelta(days=20),
            "evidence": json.dumps(ev), "manager": manager,
            "name": profile.get("name", f"Name {cid}"), **profile}


def tables(rows: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    m = pa.Table.from_pylist([{k: r[k] for k in (
        "customer_id", "status", "rung", "signals", "revenue", "money_at_stake",
        "last_order_at", "evidence")} for r in rows])
    p = pa.Table.from_pylist([{
        "customer_id": r["customer_id"], "name": r["name"], "manager": r["manager"],
        "email": r.get("email"), "phone": r.get("phone", "+372 5000 0000"),
        **{f"consent_{c}": r.get(f"consent_{c}", True) for c in cp.CHANNELS},
        "do_not_contact": r.get("do_not_contact", False),
        "attributes": r.get("attributes")} for r in rows])
    return m, p


def contacts(*rows: tuple[str, datetime, str, str]) -> pa.Table:
    """(customer, at, channel, kind) outgoing contacts made by a manager."""
    return pa.Table.from_pylist([{"customer_id": c, "at": t, "channel": ch, "direction": "out",
                                  "kind": k, "manager": "Anna"} for c, t, ch, k in rows])


def build(rows: list[dict[str, Any]], *, rules: wl.WorklistRules = RULES,
          policy: cp.ContactPolicy = POLICY, **kw: Any) -> service.Worklist:
    m, p = tables(rows)
    kw.setdefault("on", DAY)
    return service.build(m, rules=rules, policy=policy, profiles=p, **kw)


def only(w: service.Worklist, manager: str = "Anna") -> service.ManagerList:
    return next(lst for lst in w.lists if lst.manager == manager)


def test_the_strongest_reason_decides_the_action():
    w = build([customer("A", signals=("overdue", "detractor")),
               customer("B", signals=("shrinking_orders", "overdue")),
               customer("C", signals=("dropped_addons",))])
    got = {s.customer_id: (s.reason, s.action) for s in only(w).items}
    assert got == {"A": ("detractor", "call_detractor"), "B": ("overdue", "reminder"),
                   "C": ("dropped_addons", "ask_addons")}


def test_buckets_then_money_at_stake_order_the_list():
    # B, overdue quarterly call (last order 120 days ago, due 30 days ago), comes before the
    # due-today reminders however much they are worth; those follow by money at stake
    w = build([customer("A", signals=("overdue",), money=50),
               customer("B", money=10, last_order=NOON - timedelta(days=120)),
               customer("C", signals=("overdue",), money=90)],
              rules=wl.WorklistRules(daily_capacity=5))
    assert [(s.customer_id, s.bucket) for s in only(w).items] == [
        ("B", "overdue"), ("C", "today"), ("A", "today")]
    assert only(w).items[0].due_on == date(2025, 3, 5) - timedelta(days=30)


def test_due_dates_of_a_detractor_a_quarterly_call_and_a_win_back():
    feedback = pa.Table.from_pylist([
        {"customer_id": "D1", "at": datetime(2025, 2, 28, 10), "nps": 3},  # 5 days ago
        {"customer_id": "D2", "at": datetime(2025, 3, 4, 10), "nps": 2},  # yesterday
    ])
    w = build([customer("D1", signals=("detractor",)), customer("D2", signals=("detractor",)),
               # last order 85 days ago: the quarterly call is due in 5 days
               customer("Q1", last_order=NOON - timedelta(days=85)),
               # 60 days ago: not due this week
               customer("Q2", last_order=NOON - timedelta(days=60)),
               customer("W", status="lost", revenue=900, last_order=NOON - timedelta(days=400))],
              rules=wl.WorklistRules(daily_capacity=10), feedback=feedback)
    due = {s.customer_id: (s.bucket, s.due_on) for s in only(w).items}
    assert due == {"D1": ("overdue", date(2025, 3, 2)), "D2": ("today", DAY),
                   "Q1": ("week", date(2025, 3, 10)), "W": ("week", date(2025, 3, 11))}


def test_no_one_below_the_median_buyer_unless_the_reason_says_why():
    # revenues 100, 200, 800, 900: the median buyer spent 500
    w = build([customer("small", signals=("overdue",), revenue=100, money=999),
               customer("small detractor", signals=("detractor",), revenue=200, money=1),
               customer("big", signals=("overdue",), revenue=800),
               customer("lost small", status="lost", revenue=900, money=5)],
              rules=wl.WorklistRules(daily_capacity=10))
    assert {s.customer_id for s in only(w).items} == {"small detractor", "big", "lost small"}


def test_a_lost_customer_below_the_revenue_quantile_gets_no_win_back():
    w = build([customer("lost", status="lost", revenue=100),
               customer("x", revenue=500), customer("y", revenue=700)],
              rules=wl.WorklistRules(daily_capacity=10, win_back_min_revenue_quantile=0.5))
    assert "lost" not in {s.customer_id for s in only(w).items}


def test_customers_without_a_manager_are_shared_out_in_turn_by_money():
    rows = [customer(f"U{i}", signals=("overdue",), money=100 - i, manager=None)
            for i in range(5)]
    rows += [customer("A1", manager="Anna"), customer("B1", manager="Boris")]
    w = build(rows, rules=wl.WorklistRules(daily_capacity=10))
    anna = [s.customer_id for s in only(w, "Anna").items if s.customer_id.startswith("U")]
    boris = [s.customer_id for s in only(w, "Boris").items if s.customer_id.startswith("U")]
    assert anna == ["U0", "U2", "U4"] and boris == ["U1", "U3"]
    owned = build(rows, rules=wl.WorklistRules(daily_capacity=10, default_owner="Boris"))
    assert not [s for s in only(owned, "Anna").items if s.customer_id.startswith("U")]


def test_capacity_and_limit_cut_each_list_and_each_customer_appears_once():
    rows = [customer(f"C{i}", signals=("overdue",), money=100 + i) for i in range(6)]
    w = build(rows)
    assert [s.customer_id for s in only(w).items] == ["C5", "C4", "C3"]
    assert len(only(build(rows, limit=1)).items) == 1
    per_manager = wl.WorklistRules(daily_capacity=3,
                                   managers={"Anna": wl.ManagerRules(daily_capacity=5)})
    assert len(only(build(rows, rules=per_manager)).items) == 5


def test_held_back_do_not_contact_and_recent_contact_say_why():
    rows = [customer("dnc", signals=("overdue",), money=300, do_not_contact=True),
            customer("recent", signals=("overdue",), money=200),
            customer("ok", signals=("overdue",), money=100)]
    w = build(rows, interactions=contacts(("recent", NOON - timedelta(days=10), "phone",
                                           "call")))
    lst = only(w)
    assert [s.customer_id for s in lst.items] == ["ok"]
    held = {s.customer_id: s for s in lst.held_back}
    assert held["dnc"].held_back_code == "do_not_contact"
    assert held["recent"].held_back_code == "recently_contacted"
    assert "10 days ago" in held["recent"].held_back
    assert "not again before Mar 25, 2025" in held["recent"].held_back  # Feb 23 + 30 days


def test_a_greeting_to_everyone_does_not_stop_a_managers_call():
    greeting = pa.Table.from_pylist([{"customer_id": "A", "at": NOON - timedelta(days=3),
                                      "channel": "email", "direction": "out",
                                      "kind": "greeting", "manager": None}])
    w = build([customer("A", signals=("overdue",))], interactions=greeting)
    assert [s.customer_id for s in only(w).items] == ["A"]


def test_a_former_customer_contacted_twice_this_year_is_held_back_with_the_articles_words():
    rows = [customer("F", status="lost", revenue=900, money=50,
                     last_order=NOON - timedelta(days=400)),
            customer("x", revenue=100)]
    sent = pa.Table.from_pylist([
        {"customer_id": "F", "at": datetime(2024, 6, 1, 12), "channel": ch,
         "direction": "out", "kind": "greeting", "manager": None} for ch in ("email",)] + [
        {"customer_id": "F", "at": datetime(2024, 12, 20, 12), "channel": "sms",
         "direction": "out", "kind": "greeting", "manager": None}])
    lst = only(build(rows, interactions=sent))
    assert [s.customer_id for s in lst.held_back] == ["F"]
    assert lst.held_back[0].held_back.startswith(
        "held back: 2 contacts in the last 365 days for a former customer")


def test_channels_are_those_consent_allows_for_the_action():
    rows = [customer("A", signals=("overdue",), consent_phone=False, consent_sms=None),
            customer("B", signals=("shrinking_orders",), consent_phone=False)]
    lst = only(build(rows))
    a = next(s for s in lst.items if s.customer_id == "A")
    assert a.channels == ("email", "messenger")  # reminder: phone, email, messenger, sms
    assert lst.held_back[0].customer_id == "B"  # a call needs the phone
    assert lst.held_back[0].held_back == "held back: no consent to contact by phone"


def test_an_open_task_takes_the_customers_place_and_is_not_suggested_again():
    tasks = pa.Table.from_pylist([
        {"task_id": "T1", "customer_id": "A", "owner": "Anna", "due_on": date(2025, 3, 4),
         "reason": "overdue", "action": "reminder", "channel": "phone", "evidence": None,
         "money_at_stake": 42.0, "state": "open", "snoozed_until": None},
        {"task_id": "T2", "customer_id": "B", "owner": "Anna", "due_on": date(2025, 3, 1),
         "reason": "overdue", "action": "reminder", "channel": "phone", "evidence": None,
         "money_at_stake": 1.0, "state": "snoozed", "snoozed_until": date(2025, 3, 9)},
        {"task_id": "T3", "customer_id": "C", "owner": "Anna", "due_on": date(2025, 3, 1),
         "reason": "overdue", "action": "reminder", "channel": "phone", "evidence": None,
         "money_at_stake": 1.0, "state": "done", "snoozed_until": None}])
    rows = [customer(c, signals=("overdue",)) for c in "ABC"]
    lst = only(build(rows, tasks=tasks))
    got = [(s.customer_id, s.task_id, s.bucket) for s in lst.items]
    # A as its task (due yesterday: overdue); B snoozed to Sunday: neither task nor
    # suggestion; C's task is done: suggested again
    assert got == [("A", "T1", "overdue"), ("C", None, "today")]


def test_a_managers_day_is_in_their_time_zone():
    rules = wl.WorklistRules(managers={"Anna": wl.ManagerRules(time_zone="Europe/Moscow")})
    late = datetime(2025, 3, 5, 22, 30, tzinfo=UTC)  # 01:30 on March 6 in Moscow
    w = build([customer("A", signals=("overdue",)), customer("B", manager="Boris",
                                                             signals=("overdue",))],
              rules=rules, on=late)
    assert only(w, "Anna").day == date(2025, 3, 6)
    assert only(w, "Boris").day == date(2025, 3, 5)


def test_quiet_hours_leave_a_customer_on_the_list_with_the_first_allowed_moment():
    policy = cp.ContactPolicy(quiet_days=frozenset(), zone="Europe/Tallinn")
    late = datetime(2025, 3, 5, 20, 0, tzinfo=UTC)  # 22:00 in Tallinn
    lst = only(build([customer("A", signals=("overdue",))], policy=policy, on=late))
    assert lst.items[0].contact_from == datetime(2025, 3, 6, 7, 0, tzinfo=UTC)  # 09:00 EET


def test_what_happened_since_the_last_contact():
    rows = [customer("A", signals=("overdue",), last_order=NOON - timedelta(days=5))]
    sent = contacts(("A", NOON - timedelta(days=40), "phone", "call"))
    s = only(build(rows, interactions=sent)).items[0]
    assert s.since == "ordered on Feb 28, 2025 after the contact on Jan 24, 2025"


def test_an_unknown_manager_is_an_error_naming_the_known_ones():
    with pytest.raises(service.UnknownManagerError, match=r"'Zoe'.*Anna, Boris"):
        build([customer("A"), customer("B", manager="Boris")], manager="Zoe")


def test_the_served_snapshot_reads_money_at_stake_from_the_evidence():
    stake = {"about": "stake", "code": "money_at_stake", "basis": "history",
             "horizon_days": 180, "money_at_stake": 123.45, "expected_revenue": 300}
    m = pa.table({"customer_id": ["A"], "status": ["active"], "rung": ["regular"],
                  "signals": ['["overdue"]'], "revenue": [500.0],
                  "last_order_at": [NOON], "evidence": [json.dumps(
                      [{"about": "signal", "code": "overdue"}, stake])]})
    w = service.build(m, rules=RULES, policy=POLICY, on=DAY)
    # without a customers table nobody has a manager, and consent is unknown: a reminder
    # (marketing) is held back, with the money at stake the snapshot's evidence says
    s = w.lists[0].held_back[0]
    assert (s.money_at_stake, s.reason, w.lists[0].manager) == (123.45, "overdue", None)
    assert s.held_back_code == "consent_unknown"


def test_a_time_zone_tag_names_the_customers_zone():
    assert service.time_zone_tag("segment=b2b;time_zone=Europe/Tallinn") == "Europe/Tallinn"
    assert service.time_zone_tag("time_zone=Mars/Olympus") is None
    assert service.time_zone_tag(None) is None


def test_every_reason_has_an_action_and_every_action_words_and_channels():
    assert set(wl.REASON_ACTION) == set(wl.REASON_ORDER) == set(wl.REASONS)
    assert set(wl.ACTIONS) == set(wl.ACTION_CHANNELS) == set(wl.ACTION_PURPOSE)
    assert wl.bucket_of(9, 10, 7) == "overdue" and wl.bucket_of(10, 10, 7) == "today"
    assert wl.bucket_of(16, 10, 7) == "week" and wl.bucket_of(17, 10, 7) is None
