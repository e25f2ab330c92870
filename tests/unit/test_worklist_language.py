"""Today's worklist and the tasks in the reader's language (issues 17 and 18): the table a
manager reads in Russian and Estonian, with the figures written their way, while the JSON and
CSV for machines stay the same in every language. The help in each language:
``tests/e2e/test_cli_language.py`` (the help is built as the process starts)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pyarrow as pa
import pytest
from rich.console import Console

from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.entrypoints.cli import worklist_cmd
from regulars.i18n import use_language
from regulars.services import worklist as service

from .test_worklist import DAY, NOON, POLICY, customer, tables

NBSP = "\u00a0"
RULES = wl.WorklistRules(daily_capacity=5)


def _lists(words: str | None = None) -> service.Worklist:
    """Anna's list: a reminder worth 1 234,50, a customer called two days ago (held back), and
    one who refused the phone (held back)."""
    rows = [customer("A", signals=("overdue",), money=1234.5, revenue=5000.0),
            customer("B", signals=("shrinking_orders",), money=300.0, revenue=5000.0),
            customer("C", signals=("shrinking_orders",), money=200.0, revenue=5000.0,
                     consent_phone=False)]
    m, p = tables(rows)
    called = pa.Table.from_pylist([
        {"customer_id": "B", "at": NOON - timedelta(days=2), "channel": "phone",
         "direction": "out", "kind": "call", "manager": "Anna"}])
    return service.build(m, rules=RULES, policy=POLICY, profiles=p, interactions=called,
                         on=DAY, words=words)


def _table(lang: str, monkeypatch: pytest.MonkeyPatch) -> str:
    buffer = io.StringIO()
    monkeypatch.setattr(worklist_cmd, "out", Console(file=buffer, width=250, soft_wrap=True))
    with use_language(lang):
        worklist_cmd.print_worklist(_lists(), "EUR")
    return buffer.getvalue()


def test_the_list_in_russian(monkeypatch):
    text = _table("ru", monkeypatch)
    for words in ("Список на 05.03.2025", "Anna: 1 из 5 на 05.03.2025 (UTC)", "когда",
                  "клиент", "сумма под угрозой", "почему", "что сделать", "сегодня",
                  "Напомнить о заказе: клиенту пора заказывать снова",
                  f"1{NBSP}234,50{NBSP}€", "Не в списке сегодня (2):",
                  "пока не связываться: уже связывались 2 дня назад (03.03.2025); снова — не "
                  "раньше 02.04.2025",
                  "пока не связываться: нет согласия на контакт по телефону"):
        assert words in text, words
    assert "held back" not in text and "remind" not in text


def test_the_list_in_estonian(monkeypatch):
    text = _table("et", monkeypatch)
    for words in ("Tööleht 05.03.2025", "millal", "ohus olev summa", "mida teha", "täna",
                  "Tuletage tellimust meelde: kliendil on aeg uuesti tellida",
                  f"1{NBSP}234,50{NBSP}€", "ootel: ühendust võeti 2 päeva tagasi (03.03.2025)",
                  "ootel: puudub nõusolek ühendust võtta telefoni teel"):
        assert words in text, words
    assert "held back" not in text


def test_the_list_in_english_keeps_its_words(monkeypatch):
    text = _table("en", monkeypatch)
    assert "Remind them of the order they are due to place" in text
    assert "€1,234.50" in text
    assert "held back: contacted 2 days ago (Mar 3, 2025); not again before Apr 2, 2025" in text
    assert "held back: no consent to contact by phone" in text


@pytest.mark.parametrize("lang", ["ru", "et"])
def test_json_and_csv_are_the_same_in_every_language(lang):
    """What machines read is built with ``words="en"`` whatever the reader's language."""

    def machine(reader: str) -> tuple[str, str]:
        with use_language(reader):
            result = _lists(words="en")
            return (json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str),
                    worklist_cmd.to_csv(result))

    assert machine(lang) == machine("en")
    body, _csv = machine(lang)
    held = [s["held_back"] for lst in json.loads(body)["lists"] for s in lst["held_back"]]
    assert held and all(h.startswith("held back: ") for h in held)


def test_a_quiet_day_and_a_cap_are_said_in_words():
    decision = cp.Decision(False, cp.QUIET_DAY, {"day": "sunday", "time_zone": "UTC"})
    cap = cp.Decision(False, cp.CAP, {"who": cp.FORMER, "count": 2, "days": 365})
    with use_language("ru"):
        assert service.decision_text(decision) == (
            "подождать: воскресенье — день без контактов (UTC)")
        assert service.decision_text(cap) == (
            "пока не связываться: 2 контакта за последние 365 дней — предел для бывшего клиента")
    with use_language("et"):
        assert service.decision_text(decision) == "oodake: pühapäev on vaikne päev (UTC)"
    with use_language("en"):
        assert service.decision_text(cap) == (
            "held back: 2 contacts in the last 365 days for a former customer")
