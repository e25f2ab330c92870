"""How the CLI writes its files (whole or not at all), and the customers at risk it lists."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from regulars.entrypoints.cli.main import replacing
from regulars.entrypoints.cli.summary import at_risk
from regulars.services.analysis import Frame


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "map.csv"
    target.write_text("old", encoding="utf-8")
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("new", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old"  # not before it is whole
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["map.csv"]


def test_a_failed_write_leaves_the_earlier_file_and_no_scraps(tmp_path):
    target = tmp_path / "map.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(OSError), replacing(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.csv"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(OSError), replacing(target) as tmp:
        tmp.write_text("<html>", encoding="utf-8")
        raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []


CONTACTS = {
    "B": {"name": "Anna Tamm", "manager": "Mari Kask", "email": "anna@x.ee",
          "phone": "+372 5123 4567"},
    "E": {"name": "Aleksandra-Kristiina Põldmaa-Vahtramäe", "manager": "Mari Kask",
          "email": "aleksandra.poldmaa@example.com", "phone": None},
}


def _customers(contacts: bool = False) -> pa.Table:
    # (id, status, signals, value at risk, evidence codes)
    spec = [
        ("A", "lapsing", [], 5.0),
        ("B", "active", ["overdue"], 9.0),
        ("C", "active", [], 100.0),  # no warning
        ("D", "lost", ["overdue"], 50.0),  # lost: for win-back, not at risk
        ("E", "won_back", ["detractor"], 9.0),  # ties with B: by id
        ("F", None, [], None),  # a prospect
        ("G", "active", ["review_relationship"], 70.0),  # not a warning of leaving
    ]
    rows = []
    for cid, status, signals, var in spec:
        evidence = [{"about": "rung", "code": "regular"}]
        if status:
            evidence.append({"about": "status", "code": status})
        evidence += [{"about": "signal", "code": s} for s in signals]
        named = ({"name": None, "manager": None, "email": None, "phone": None,
                  **CONTACTS.get(cid, {})} if contacts else {})
        rows.append({"customer_id": cid, **named, "rung": "regular", "status": status,
                     "revenue": 10.0, "avg_order_value": 5.0, "typical_gap_days": 30.0,
                     "signals": signals, "evidence": json.dumps(evidence),
                     "value_at_risk": var})
    return pa.Table.from_pylist(rows)


def _words(table: pa.Table) -> pa.Table:
    texts = [[f"{i['about']} {i['code']}." for i in json.loads(e)]
             for e in table.column("evidence").to_pylist()]
    return table.append_column("evidence_text", pa.array(texts, pa.list_(pa.string())))


def test_at_risk_lists_lapsing_and_warned_customers_by_value_at_risk():
    risky = at_risk(_words(_customers()))
    assert [r["customer_id"] for r in risky] == ["B", "E", "A"]
    assert risky[0]["sentences"] == ["signal overdue."]  # not the status when it is active
    assert risky[2]["sentences"] == ["status lapsing."]
    assert [r["customer_id"] for r in at_risk(_words(_customers()), 2)] == ["B", "E"]


def test_at_risk_writes_the_sentences_of_the_customers_it_lists_only():
    seen: list[str] = []

    def words(table: pa.Table) -> pa.Table:
        seen.extend(table.column("customer_id").to_pylist())
        return _words(table)

    frame = Frame(_customers(), words)
    assert [r["customer_id"] for r in at_risk(frame, 2)] == ["B", "E"]
    assert seen == ["B", "E"]
    assert at_risk(frame, 2) == at_risk(_words(_customers()), 2)
    assert "evidence_text" in frame.arrow.column_names  # every row, on first use
    assert frame.arrow.column("customer_id").to_pylist() == list("ABCDEFG")


def _printed(width: int, contacts: bool = False) -> list[str]:
    from rich.console import Console

    from regulars.entrypoints.cli.summary import print_at_risk

    risky = at_risk(_words(_customers(contacts)))
    risky[0]["sentences"] = ["An order is overdue by 12 days (usual gap 30 days); "
                             "a reminder is due, and this sentence is long enough to wrap."]
    console = Console(record=True, width=width, soft_wrap=True)  # as the CLI's console
    print_at_risk(console, risky, 10)
    return console.export_text().splitlines()


def test_at_risk_on_a_narrow_terminal_puts_the_reasons_under_each_customer():
    lines = _printed(80)
    assert lines[0] == "customers at risk, by value at risk (top 10)"
    assert lines[1] == " 1. B  regular · active  revenue so far 10.00  value at risk 9.00"
    # the reason wraps within the width, indented under its customer, with no trailing blanks
    assert lines[2] == ("    An order is overdue by 12 days (usual gap 30 days); a reminder "
                        "is due, and")
    assert lines[3] == "    this sentence is long enough to wrap."
    assert lines[4].startswith(" 2. E  ")
    assert lines[5:7] == ["    status won_back.", "    signal detractor."]
    assert lines[7].startswith(" 3. A  ") and lines[8] == "    status lapsing."
    assert all(len(x) <= 80 for x in lines)


def test_at_risk_names_whom_to_call_when_the_map_knows_it():
    risky = at_risk(_words(_customers(contacts=True)))
    assert [(r["customer_id"], r["name"], r["manager"], r["phone"]) for r in risky] == [
        ("B", "Anna Tamm", "Mari Kask", "+372 5123 4567"),
        ("E", "Aleksandra-Kristiina Põldmaa-Vahtramäe", "Mari Kask", None),
        ("A", None, None, None),
    ]
    assert risky[1]["email"] == "aleksandra.poldmaa@example.com"
    assert "name" not in at_risk(_words(_customers()))[0]  # a map without a customers table


def test_at_risk_on_a_narrow_terminal_names_whom_to_call_on_one_line():
    lines = _printed(80, contacts=True)
    assert lines[0] == "customers at risk, by value at risk (top 10)"
    # the figures lose their labels to the contacts: one line under the title says them
    assert lines[1] == ("    rung · status · revenue so far / value at risk · manager · "
                        "phone or e-mail")
    assert lines[2] == (" 1. Anna Tamm (B)  regular · active  10.00 / 9.00  Mari Kask  "
                        "+372 5123 4567")
    assert lines[3].startswith("    An order is overdue") and lines[4].startswith("    this")
    # 123 characters: the longest of the name and the e-mail address lose one at a time
    # (38 and 32 to 13 and 14 characters, ellipsis included); the id and figures stay whole
    assert lines[5] == (" 2. Aleksandra-K… (E)  regular · won_back  10.00 / 9.00  Mari Kask  "
                        "aleksandra.…")
    assert lines[6:8] == ["    status won_back.", "    signal detractor."]
    # a customer with no card keeps the id alone, in the same layout
    assert lines[8:10] == [" 3. A  regular · lapsing  10.00 / 5.00", "    status lapsing."]
    assert len(lines) == 10 and all(len(x) <= 80 for x in lines)


def test_a_phone_number_is_never_cut_on_a_narrow_terminal():
    from rich.console import Console

    from regulars.entrypoints.cli.summary import print_at_risk

    risky = at_risk(_words(_customers(contacts=True)), 1)
    risky[0]["name"] = "Bartholomew Ignatius Fitzgerald-Montgomery"
    console = Console(record=True, width=60, soft_wrap=True)
    print_at_risk(console, risky, 1)
    lines = console.export_text().splitlines()
    # the legend wraps like the reasons, within 60 - 4 characters
    assert lines[1:3] == ["    rung · status · revenue so far / value at risk · manager",
                          "    · phone or e-mail"]
    # 4 + 42 + 4 + 28 + 4 + 11 + 16 = 109 characters for 60: the name and the manager go down
    # to six characters each (ellipsis included), and the rest cannot be cut: 68 characters,
    # left for the terminal to wrap rather than cut the number
    assert lines[3] == " 1. Barth… (B)  regular · active  10.00 / 9.00  Mar…  +372 5123 4567"


def test_at_risk_on_a_wide_terminal_is_a_table_with_the_reasons_in_a_column():
    lines = _printed(140)
    header = next(x for x in lines if "customer" in x and "why" in x)
    assert "revenue so far" in header and "value at risk" in header
    row = next(x for x in lines if "│ B " in x)
    assert "regular · active" in row and "9.00" in row and "An order is overdue" in row


def test_a_years_revenue_never_exceeds_what_a_short_history_supports():
    from datetime import datetime

    from regulars.entrypoints.cli.summary import revenue_at_stake

    rows = pa.Table.from_pylist([
        # 21,000 spent over 200 + 10 days, usual gap 5 days, 1,000 an order: the rhythm says
        # 73,000 a year, the history 21,000 × 365 / 365 (less than a year counts as a year)
        {"customer_id": "S", "avg_order_value": 1000.0, "typical_gap_days": 5.0,
         "revenue": 21000.0, "first_order_at": datetime(2024, 1, 1),
         "last_order_at": datetime(2024, 7, 19), "days_since_last_order": 10.0},
        # 730 days of history and 7,300 spent: 3,650 a year; the rhythm (gap 100) says 3,650
        {"customer_id": "L", "avg_order_value": 1000.0, "typical_gap_days": 100.0,
         "revenue": 7300.0, "first_order_at": datetime(2022, 1, 1),
         "last_order_at": datetime(2023, 12, 31), "days_since_last_order": 0.0},
    ])
    got = revenue_at_stake(rows).to_pylist()
    assert got[0] == pytest.approx(21000.0)
    assert got[1] == pytest.approx(3650.0)


def test_at_risk_on_a_wide_terminal_has_columns_for_manager_and_contacts():
    lines = _printed(160, contacts=True)
    header = next(x for x in lines if "customer" in x and "why" in x)
    assert "manager" in header and "phone · e-mail" in header
    row = next(x for x in lines if "Anna Tamm (B)" in x)
    assert "Mari Kask" in row and "+372 5123 4567" in row
    assert any("anna@x.ee" in x for x in lines)


def test_a_csv_cell_a_spreadsheet_would_run_is_made_text_and_lists_become_text():
    from regulars.entrypoints.cli.main import spreadsheet_table

    table = pa.table({
        "customer_id": ["=1+1", "-5", "+3.5e2", "ok", None, "\tx", "\rx", "@SUM(A1)", "-"],
        "revenue": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "signals": [["overdue", "detractor"], [], None, ["a"], ["b"], [], [], [], []],
        "evidence_text": [["One.", "Two."], [], [], [], [], [], [], [], []],
        "scores": pa.array([[1.5, 2.0]] + [[]] * 8, pa.list_(pa.float64())),
        "segment": pa.array(["=x", "y", "y", "y", "y", "y", "y", "y", "y"]
                            ).dictionary_encode(),
    })
    out = spreadsheet_table(table)
    assert out.column("customer_id").to_pylist() == [
        "'=1+1", "-5", "+3.5e2", "ok", None, "'\tx", "'\rx", "'@SUM(A1)", "'-"]
    assert out.column("revenue").to_pylist()[0] == -1.0  # numbers are not text
    assert out.column("signals").to_pylist()[:3] == ["overdue; detractor", "", None]
    assert out.column("evidence_text").to_pylist()[0] == "One. Two."
    assert out.column("scores").to_pylist()[0] == "1.5; 2"
    assert out.column("segment").to_pylist()[:2] == ["'=x", "y"]


def test_lost_customers_are_listed_for_win_back_not_at_risk():
    from regulars.entrypoints.cli.summary import at_risk, win_back

    table = _words(_customers())
    assert [r["customer_id"] for r in win_back(table)] == ["D"]
    assert "D" not in [r["customer_id"] for r in at_risk(table)]
