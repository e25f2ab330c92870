"""Evidence in words: every label analytics can raise has its own sentence with the facts."""

from __future__ import annotations

import pytest

from regulars.analytics.ladder import RUNGS, STATUSES
from regulars.analytics.signals import SIGNALS
from regulars.analytics.traits import TRAITS
from regulars.services.explain import sentence

ALL = (
    [("rung", c) for c in RUNGS]
    + [("status", c) for c in STATUSES]
    + [("signal", c) for c in SIGNALS]
    + [("trait", c) for c in TRAITS]
)


@pytest.mark.parametrize(("about", "code"), ALL)
def test_every_label_has_a_sentence_of_its_own(about, code):
    text = sentence({"about": about, "code": code})
    assert text and not text.startswith(f"{code}:"), text


def test_a_lapsing_customer_is_told_with_their_rhythm_and_the_days_since():
    text = sentence({"about": "status", "code": "lapsing", "typical_gap_days": 30,
                     "gap_source": "own", "days_since_last_order": 52,
                     "lapsing_after_days": 45, "lost_after_days": 90})
    assert text == "Lapsing: usual gap 30 days, last order 52 days ago (lapsing after 45 days)."


def test_a_customer_without_a_rhythm_of_their_own_is_told_the_base_gap_was_used():
    text = sentence({"about": "status", "code": "active", "typical_gap_days": 41.2,
                     "gap_source": "base", "days_since_last_order": 3})
    assert "whole base is 41 days" in text and "too few orders" in text


def test_shrinking_orders_says_how_much_smaller_the_recent_orders_are():
    text = sentence({"about": "signal", "code": "shrinking_orders", "recent_orders": 3,
                     "recent_avg": 50, "earlier_avg": 100, "by": "average_drop"})
    assert "the last 3 average 50.00, against 100 before (50% of it)" in text


def test_slower_payments_with_an_unpaid_latest_invoice_says_so():
    text = sentence({"about": "signal", "code": "slower_payments", "first_delay_days": 8,
                     "last_delay_days": None, "by": "delay_growing"})
    assert "not paid yet" in text


def test_unknown_codes_fall_back_to_their_facts_rather_than_failing():
    assert sentence({"about": "signal", "code": "new_thing", "x": 1}) == "new_thing: x 1"


def test_sentences_of_parses_as_json_loads_does_whatever_the_layout():
    import json

    from regulars.services.explain import sentence, sentences_of

    item = {"about": "trait", "code": "diverse", "categories": 4}
    compact = json.dumps([item], separators=(",", ":"))
    expected = [sentence(item)]
    assert sentences_of([compact, f"  {compact} \n", None, ""]) == [expected, expected, [], []]
    with pytest.raises(json.JSONDecodeError):
        sentences_of([compact + "[]"])


@pytest.mark.parametrize(("source", "said"), [
    ("own", "An order is overdue by 75 days (usual gap 39 days); a reminder is due."),
    ("base", "An order is overdue by 75 days (the usual gap of the whole base, 39 days); "
             "a reminder is due."),
])
def test_an_overdue_order_is_told_with_the_rhythm_it_is_late_against(source, said):
    text = sentence({"about": "signal", "code": "overdue", "days_overdue": 75.4,
                     "typical_gap_days": 39.19, "gap_source": source})
    assert text == said


# --- the reader's language -------------------------------------------------------------------

LAPSING = {"about": "status", "code": "lapsing", "typical_gap_days": 30, "gap_source": "own",
           "days_since_last_order": 52, "lapsing_after_days": 45, "lost_after_days": 90}


def test_the_same_evidence_reads_in_russian_inside_the_block_and_in_english_outside():
    from regulars.i18n import use_language

    english = sentence(LAPSING)
    with use_language("ru"):
        russian = sentence(LAPSING)
    assert russian == ("Уходящий: обычный интервал между заказами — 30 дней, последний заказ "
                       "52 дня назад (уходящим считается через 45 дней без заказа).")
    assert sentence(LAPSING) == english
    assert english.startswith("Lapsing: usual gap 30 days")


def test_memoised_translations_do_not_leak_between_languages():
    import json

    from regulars.i18n import use_language
    from regulars.services.explain import sentences_of
    text = json.dumps([LAPSING])
    with use_language("et"):
        estonian = sentences_of([text])[0][0]
    with use_language("ru"):
        russian = sentences_of([text])[0][0]
    assert sentences_of([text])[0][0].startswith("Lapsing:")
    assert estonian.startswith("Eemalduv:") and "52 päeva tagasi" in estonian
    assert russian.startswith("Уходящий:")


@pytest.mark.parametrize(("days", "said"), [(1, "1 день назад"), (2, "2 дня назад"),
                                            (5, "5 дней назад"), (21, "21 день назад"),
                                            (112, "112 дней назад"), (0, "сегодня")])
def test_russian_days_take_their_plural_form(days, said):
    from regulars.i18n import use_language

    with use_language("ru"):
        text = sentence({"about": "status", "code": "active", "typical_gap_days": 30,
                         "gap_source": "own", "days_since_last_order": days})
    assert f"последний заказ {said};" in text


def test_russian_orders_and_money_read_the_russian_way():
    from regulars.i18n import use_language

    with use_language("ru"):
        loyal = sentence({"about": "rung", "code": "loyal", "orders": 2,
                          "evidence": ["tenure"]})
        risk = sentence({"about": "signal", "code": "churn_risk", "p_alive": 0.256,
                         "revenue": 2571769.4}, currency="EUR")
    assert loyal == "Лояльный клиент: 2 заказа, привязан: клиент больше года."
    assert risk.endswith("— 26\xa0%, а клиент ценный (выручка 2\xa0571\xa0769\xa0€).")


def test_estonian_counts_take_their_form():
    from regulars.i18n import use_language

    with use_language("et"):
        one = sentence({"about": "signal", "code": "slower_payments", "by": "overdue_now",
                        "overdue_invoices": 1, "max_days_overdue": 1})
        many = sentence({"about": "signal", "code": "slower_payments", "by": "overdue_now",
                         "overdue_invoices": 3, "max_days_overdue": 23})
    assert one == "Maksed: praegu on tähtaja ületanud 1 arve, suurim hilinemine on 1 päev."
    assert many == "Maksed: praegu on tähtaja ületanud 3 arvet, suurim hilinemine on 23 päeva."


def test_english_says_one_day_and_amounts_in_the_currency():
    text = sentence({"about": "signal", "code": "churn_risk", "p_alive": 0.2,
                     "revenue": 1234.5}, currency="EUR")
    assert text.endswith("20% chance they are still a customer, and they are valuable "
                         "(revenue €1,234).")
    assert "1 day ago" in sentence({"about": "status", "code": "active",
                                     "typical_gap_days": 30, "days_since_last_order": 1})


@pytest.mark.parametrize("lang", ["ru", "et"])
@pytest.mark.parametrize(("about", "code"), ALL)
def test_every_label_reads_without_english_in_ru_and_et(lang, about, code):
    from regulars.i18n import use_language

    with use_language(lang):
        text = sentence({"about": about, "code": code})
    english = sentence({"about": about, "code": code})
    assert text != english, text


def test_reasons_from_analytics_are_translated_clause_by_clause():
    from regulars.i18n import use_language
    from regulars.services.explain import reason

    both = "no return data (returns table); no feedback data (feedback table)"
    assert reason(both) == both
    with use_language("ru"):
        assert reason(both) == ("нет данных о возвратах (таблица returns); "
                                "нет данных обратной связи (таблица feedback)")
