"""One vocabulary: every code the analytics emits has one name, the same in every channel."""

from __future__ import annotations

from regulars.analytics.portfolio import FLOW_STATES, RUNGS, STATUSES
from regulars.analytics.signals import SIGNALS
from regulars.entrypoints.labels import name, rung_names, signal_names, status_names


def test_every_rung_status_and_signal_the_analytics_emits_has_a_name():
    assert set(RUNGS) | set(FLOW_STATES) <= set(rung_names())
    assert set(STATUSES) == set(status_names())
    assert set(SIGNALS) == set(signal_names())


def test_names_are_words_not_codes():
    assert name(signal_names(), "complaints_returns") == "complaints and returns"
    assert name(status_names(), "won_back") == "won back"


def test_an_unknown_code_reads_with_spaces_and_none_as_a_dash():
    assert name(signal_names(), "a_new_signal") == "a new signal"
    assert name(rung_names(), None) == "—"


def test_names_are_translated_with_the_translator_given():
    assert rung_names(lambda m: f"[{m}]")["regular"] == "[regular]"
