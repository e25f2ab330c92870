"""The customer card's rules: tags, consent as a form sends it, the predictions and the tier
progress in words, and the timeline drawn on the server."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from regulars.entrypoints.web.pages.card import prediction_lines, tier_progress
from regulars.entrypoints.web.timeline import Mark, timeline
from regulars.i18n import use_language
from regulars.services.card import CardError, check_tag, parse_consent, tags_of


def test_tags_are_the_attributes_list_in_order_without_blanks():
    assert tags_of("vip; b2b;;decision=fast ") == ["vip", "b2b", "decision=fast"]
    assert tags_of(None) == []


def test_a_tag_is_trimmed_and_its_inner_spaces_folded():
    assert check_tag("  vip   client ") == "vip client"


@pytest.mark.parametrize("bad", ["", "   ", "a;b", "a,b", "a|b", "a\x01b", "x" * 65])
def test_a_tag_the_list_column_could_not_keep_is_refused_on_its_field(bad):
    with pytest.raises(CardError) as e:
        check_tag(bad)
    assert e.value.field == "tag"


def test_consent_is_yes_no_or_not_recorded():
    assert [parse_consent(v, "consent_sms") for v in ("yes", "NO", "", None)] == [
        True, False, None, None]
    with pytest.raises(CardError) as e:
        parse_consent("maybe", "consent_sms")
    assert e.value.field == "consent_sms"


def test_each_prediction_says_what_it_means():
    p = {"p_alive": 0.834, "expected_orders": 1.25, "expected_orders_days": 90,
         "next_order_expected_at": datetime(2024, 7, 1), "clv": 1234.4, "value_at_risk": 99.6}
    with use_language("en"):
        lines = prediction_lines(p, "EUR", 12)
    assert [(label, value) for label, value, _m in lines] == [
        ("Still a customer", "83%"), ("Orders expected", "1.2"),
        ("Next order", "Jul 1, 2024"), ("Customer lifetime value", "€1,234"),
        ("Value at risk", "€100")]
    assert lines[1][2] == "Orders expected in the next 90 days."
    assert lines[3][2].endswith("over the next 12 months (discounted).")
    with use_language("ru"):
        assert prediction_lines(p, "EUR", 1)[1][2] == \
            "Сколько заказов ожидается в ближайшие 90 дней."
    assert prediction_lines(None, "EUR", 12) == []


def test_the_tier_progress_is_money_or_points_by_the_programmes_basis():
    with use_language("en"):
        assert tier_progress({"next_tier": "gold", "to_next_tier": Decimal("150"),
                              "tier_basis": "spend"}, "EUR") == "€150 more to reach gold."
        assert tier_progress({"next_tier": "gold", "to_next_tier": Decimal("1"),
                              "tier_basis": "points_earned"}, "EUR") == \
            "1 point more to reach gold."
        assert tier_progress({"next_tier": None}, "EUR") is None


def test_the_timeline_marks_orders_returns_and_the_usual_gap_as_text_safe_svg():
    orders = [Mark(datetime(2024, 1, 1), 100.0, "<b>O1</b>"),
              Mark(datetime(2024, 2, 1), 200.0, "O2")]
    returns = [Mark(datetime(2024, 2, 10), 50.0, "R1")]
    svg = timeline("t", "Orders", "2 orders", orders, returns, until=datetime(2024, 2, 15),
                   gap_days=31, gap_label="usual gap: 31 days", money=lambda v: f"{v:.0f}",
                   day=lambda d: d.date().isoformat())
    assert svg.count("<circle") == 2
    assert svg.count("stroke-width=\"2\"") == 1  # the return's cross
    assert "usual gap: 31 days" in svg
    assert "<b>O1</b>" not in svg and "&lt;b&gt;O1&lt;/b&gt;" in svg
    # the x axis runs from the first order to the end of the usual gap after the last
    assert ">2024-01-01<" in svg and ">2024-03-03<" in svg
