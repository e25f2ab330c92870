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
    assert "the last 3 average 50, against 100 before (50% of it)" in text


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
