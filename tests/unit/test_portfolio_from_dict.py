"""The served map keeps its portfolio as JSON (``map_state.portfolio``); the owner's dashboard
reads it back as a :class:`Portfolio` to draw the report's charts from it."""

from __future__ import annotations

import json

from regulars.analytics.portfolio import Portfolio

from .test_report_html import make_portfolio


def test_a_portfolio_read_back_from_its_json_is_the_same_portfolio():
    p = make_portfolio()
    again = Portfolio.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p
    assert again.flow is not None and again.flow.matrix.counts == p.flow.matrix.counts
    assert isinstance(again.concentration.curve[1].customer_share, float)


def test_missing_optional_parts_take_their_defaults_and_unknown_keys_are_ignored():
    data = make_portfolio(nps=None, flow=None).to_dict()
    data.pop("params")
    data["as_of_source"] = "clock"  # the API adds it beside the portfolio's own keys
    again = Portfolio.from_dict(data)
    assert (again.nps, again.flow, again.params) == (None, None, {})


def test_whole_numbers_written_as_integers_come_back_as_floats():
    data = make_portfolio().to_dict()
    data["revenue"]["total_revenue"] = 10000  # what JSON gives for 10000.0 from another writer
    assert isinstance(Portfolio.from_dict(data).revenue.total_revenue, float)
