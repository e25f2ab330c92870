"""The HTML report: one self-contained, escaped, accessible file with every chart."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import ibis
import pyarrow as pa
import pytest

import regulars.entrypoints.report as report
from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import (
    BUYER_RUNGS,
    FLOW_STATES,
    RUNGS,
    STATUSES,
    BaseMetrics,
    Breakdown,
    Cohort,
    CohortRetention,
    Concentration,
    CrossTab,
    CurvePoint,
    LadderFlow,
    Nps,
    Period,
    Portfolio,
    Retention,
    RevenueSplit,
    Slice,
    portfolio,
)
from regulars.entrypoints.report import headline_sentences, render_report

AS_OF = datetime(2024, 12, 31)
PERIOD = Period(AS_OF - timedelta(days=365), AS_OF)
CHARTS = ("chart-ladder", "chart-status", "chart-flow", "chart-pareto", "chart-cohorts")


def breakdown(labels: tuple[str, ...], counts: list[int]) -> Breakdown:
    total = sum(counts)
    return Breakdown(
        total=total,
        total_revenue=100.0 * total,
        items=tuple(
            Slice(label, n, n / total, 100.0 * n, n / total)
            for label, n in zip(labels, counts, strict=True)
        ),
    )


def flow_matrix() -> CrossTab:
    counts = [[0] * len(FLOW_STATES) for _ in FLOW_STATES]
    i = FLOW_STATES.index
    counts[i("absent")][i("newcomer")] = 5
    counts[i("newcomer")][i("returning")] = 3
    counts[i("regular")][i("loyal")] = 2
    counts[i("loyal")][i("lost")] = 1
    counts[i("lost")][i("regular")] = 1
    return CrossTab(FLOW_STATES, FLOW_STATES, tuple(tuple(r) for r in counts))


def make_portfolio(**changes: Any) -> Portfolio:
    p = Portfolio(
        as_of=AS_OF,
        period=PERIOD,
        ladder=breakdown(RUNGS, [5, 40, 20, 20, 10, 5]),
        statuses=breakdown(STATUSES, [60, 20, 10, 5]),
        status_by_rung=CrossTab(
            BUYER_RUNGS,
            STATUSES,
            ((20, 10, 8, 2), (12, 4, 2, 2), (14, 3, 0, 3), (9, 1, 0, 0), (5, 0, 0, 0)),
        ),
        revenue=RevenueSplit(
            buyers=95,
            total_revenue=10_000,
            regulars=35,
            regulars_customer_share=35 / 95,
            regulars_revenue=7_000,
            regulars_revenue_share=0.7,
            loyal=15,
            loyal_customer_share=15 / 95,
            loyal_revenue=5_500,
            loyal_revenue_share=0.55,
            pareto_customer_share=0.2,
            pareto_revenue_share=0.5,
            pareto_passed=True,
        ),
        concentration=Concentration(
            window=PERIOD,
            customers=3,
            total_revenue=1_000,
            largest_customer_id="big<co>",
            largest_share=0.5,
            alert_share=0.2,
            alert=True,
            top10_share=1.0,
            hhi=0.38,
            hhi_points=3800,
            curve=(
                CurvePoint(0, 0),
                CurvePoint(1 / 3, 0.5),
                CurvePoint(2 / 3, 0.8),
                CurvePoint(1, 1),
            ),
        ),
        metrics=BaseMetrics(
            customers=100,
            buyers=95,
            repeat_buyers=55,
            repeat_purchase_rate=55 / 95,
            orders=300,
            revenue=10_000,
            average_order_value=10_000 / 300,
            purchase_frequency=300 / 95,
            regulars=35,
            regulars_share=35 / 95,
            regulars_average_tenure_days=420.0,
        ),
        cohorts=CohortRetention(
            months=2,
            cohorts=(
                Cohort("2024-10", 10, (1.0, 0.3, 0.2)),
                Cohort("2024-11", 8, (1.0, 0.25, None)),
                Cohort("2024-12", 4, (1.0, None, None)),
            ),
        ),
        retention=Retention(PERIOD, 100, 90, 20, 30, 70.0, 0.3),
        nps=Nps(PERIOD, 10, 5, 3, 2, 0.5, 0.3, 0.2, 30.0),
        flow=LadderFlow(
            matrix=flow_matrix(),
            moved_up=5,
            moved_down=0,
            stayed=0,
            became_lost=1,
            won_back=1,
            still_lost=0,
            new_entrants=5,
            left_map=0,
        ),
        params=dataclasses.asdict(MapParams()),
    )
    return dataclasses.replace(p, **changes)


AT_RISK = [
    {
        "customer_id": "small",
        "rung": "regular",
        "status": "lapsing",
        "revenue": 200.0,
        "signals": ["overdue"],
        "sentences": ["Usual gap 30 days, last order 52 days ago."],
    },
    {
        "customer_id": "<script>alert('x')</script>",
        "name": 'Café "Aroma" & Co',
        "rung": "loyal",
        "status": "lapsing",
        "revenue": 5_000.0,
        "signals": ["shrinking_orders", "a_new_signal"],
        "sentences": ["Last 3 orders each smaller: 120 → 90 → 60 <b>!</b>"],
    },
]


def render(**kwargs: Any) -> str:
    portfolio = kwargs.pop("portfolio", make_portfolio())
    rows = kwargs.pop("rows", AT_RISK)
    return render_report(portfolio, rows, title="Demo <shop>", as_of=AS_OF, **kwargs)


def svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no SVG {chart_id}"
    return match.group(0)


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


class TagBalance(HTMLParser):
    VOID = frozenset({"meta", "br"})  # HTML void elements the report uses; SVG ones self-close

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_report_is_one_html_document_with_every_chart_as_inline_svg():
    html = render()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<html") == 1
    for chart_id in CHARTS:
        chart = svg(html, chart_id)
        assert f'<title id="{chart_id}-title">' in chart
        assert 'role="img"' in chart
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in chart


def test_report_references_no_external_resource():
    html = render()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the page itself forbids fetching anything


def test_report_markup_is_balanced():
    parser = TagBalance()
    parser.feed(render())
    assert parser.errors == []
    assert parser.stack == []


def test_every_chart_has_a_table_of_its_numbers_beside_it():
    html = render()
    for section_id in ("ladder", "status", "flow", "concentration", "cohorts"):
        assert "<table>" in section(html, section_id)


def test_data_is_escaped_everywhere():
    html = render()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Café &quot;Aroma&quot; &amp; Co" in html
    assert "<b>!</b>" not in html and "&lt;b&gt;!&lt;/b&gt;" in html
    assert "<title>Demo &lt;shop&gt;</title>" in html
    assert "big&lt;co&gt;" in html


def test_customers_at_risk_are_ranked_by_revenue_at_stake_with_their_evidence():
    at_risk = section(render(), "at-risk")
    assert at_risk.index("Café") < at_risk.index("small")
    assert "Usual gap 30 days, last order 52 days ago." in at_risk
    assert '<span class="chip">shrinking orders</span>' in at_risk
    assert '<span class="chip">a new signal</span>' in at_risk  # unknown codes still shown


def test_each_customer_at_risk_shows_what_they_have_spent_beside_the_stake():
    rows = [{**AT_RISK[0], "customer_id": "a", "revenue": 1234.5, "value_at_risk": 80.0}]
    at_risk = section(render(rows=rows), "at-risk")
    assert "Revenue so far" in at_risk and "Value at risk" in at_risk
    assert at_risk.index("1,234.50") < at_risk.index(">80<")


def test_revenue_at_stake_ranks_ahead_of_lifetime_revenue_when_given():
    rows = [
        {**AT_RISK[0], "customer_id": "a", "revenue": 10.0, "revenue_at_stake": 900.0},
        {**AT_RISK[0], "customer_id": "b", "revenue": 500.0, "revenue_at_stake": 100.0},
    ]
    at_risk = section(render(rows=rows), "at-risk")
    assert at_risk.index(">a<") < at_risk.index(">b<")


def test_at_risk_list_is_capped_and_says_how_many_are_left_out():
    rows = [{**AT_RISK[0], "customer_id": f"c{i}", "revenue": float(i)} for i in range(5)]
    at_risk = section(render(rows=rows, max_at_risk=2), "at-risk")
    assert ">c4<" in at_risk and ">c3<" in at_risk and ">c2<" not in at_risk
    assert "3 more not shown." in at_risk


def test_no_customers_at_risk_is_said_plainly():
    assert "No customer shows a warning signal." in section(render(rows=[]), "at-risk")


def test_flow_without_an_earlier_map_explains_instead_of_drawing():
    html = render(portfolio=make_portfolio(flow=None, nps=None))
    assert 'id="chart-flow"' not in html
    assert "needs the customer map at an earlier date" in section(html, "flow")
    for chart_id in set(CHARTS) - {"chart-flow"}:
        svg(html, chart_id)


def test_headlines_are_built_from_the_portfolio_unless_given():
    sentences = headline_sentences(make_portfolio())
    assert any("Pareto check passes" in s for s in sentences)
    assert any("Concentration alert" in s and "big<co>" in s for s in sentences)
    assert any("70.0%" in s for s in sentences)  # CRR
    assert any("NPS +30.0" in s for s in sentences)
    p = make_portfolio()
    big = dataclasses.replace(p, revenue=dataclasses.replace(p.revenue, regulars=15_170,
                                                             buyers=18_992))
    assert any(s.startswith("15,170 of 18,992 buyers") for s in headline_sentences(big))
    html = render(sentences=["Our own <headline>."])
    assert "<li>Our own &lt;headline&gt;.</li>" in html
    assert "Pareto check passes" not in html


def test_key_figures_show_the_metrics():
    summary = section(render(), "summary")
    for figure in ("70.0%", "30.0%", "+30.0", "57.9%", "420", "33.33", "3.16"):
        assert figure in summary
    assert '<span class="badge bad">alert</span>' in summary


def test_cohort_cells_not_yet_observed_are_left_blank():
    cohorts = section(render(), "cohorts")
    assert "not yet observed" in cohorts
    assert "25%" in cohorts


def test_user_facing_text_goes_through_i18n(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(report, "_", lambda message: f"⟦{message}⟧")
    monkeypatch.setattr(report, "ngettext",
                        lambda singular, plural, n: f"⟦{singular if n == 1 else plural}⟧")
    html = render()
    for text in (
        "⟦The loyalty ladder⟧",
        "⟦Activity status by rung⟧",
        "⟦Ladder flow between two dates⟧",
        "⟦Pareto curve⟧",
        "⟦Cohort retention⟧",
        "⟦Customers at risk⟧",
        "⟦regular⟧",
        "⟦won back⟧",
    ):
        assert text in html
    visible = re.sub(r"<style>.*?</style>|<[^>]+>", "\n", html, flags=re.S)
    words = {
        w
        for line in visible.splitlines()
        for w in re.findall(r"[A-Za-z]{4,}", line)
        if "⟦" not in line
    }
    # what remains untranslated is data (ids, names, evidence sentences), not the report's text
    allowed = {
        "Demo",
        "shop",
        "small",
        "script",
        "alert",
        "Café",
        "Aroma",
        "Usual",
        "days",
        "last",
        "order",
        "orders",
        "each",
        "smaller",
        "Last",
        "signal",
        "quot",
    }
    assert words <= allowed, words - allowed


def test_report_of_an_empty_base_renders_every_section_without_numbers():
    empty_map = ibis.memtable(
        pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "orders": pa.array([], pa.int64()),
                "first_order_at": pa.array([], pa.timestamp("us")),
                "revenue": pa.array([], pa.float64()),
                "rung": pa.array([], pa.string()),
                "status": pa.array([], pa.string()),
            }
        )
    )
    no_orders = ibis.memtable(
        pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "ordered_at": pa.array([], pa.timestamp("us")),
                "amount": pa.array([], pa.float64()),
            }
        )
    )
    empty = portfolio(empty_map, no_orders, as_of=AS_OF, params=MapParams(), previous_map=empty_map)
    html = render(portfolio=empty, rows=[])
    for section_id in ("summary", "ladder", "status", "flow", "concentration", "cohorts"):
        section(html, section_id)
    assert "No orders yet." in section(html, "cohorts")
    parser = TagBalance()
    parser.feed(html)
    assert parser.errors == [] and parser.stack == []


def test_what_was_not_evaluated_has_its_own_section_with_the_reasons():
    html = render(not_evaluated={"loyal:full_price": "no discount data (orders.discount_amount)",
                                 "detractor": "no feedback data <feedback table>"})
    part = section(html, "not-evaluated")
    assert "loyal:full_price" in part and "no discount data (orders.discount_amount)" in part
    assert "no feedback data &lt;feedback table&gt;" in part
    assert 'id="not-evaluated"' not in render()


def test_the_definitions_are_written_from_the_thresholds_used():
    params = dataclasses.asdict(MapParams(loyal_min_evidence=4, lapsing_gap_factor=2.0,
                                          lost_max_days=400, won_back_min_gap_days=120))
    glossary = section(render(portfolio=make_portfolio(params=params)), "glossary")
    assert "at least 4 pieces of current evidence" in glossary
    assert "lapsing after 2.0 × their usual gap" in glossary
    assert "400 days without an order" in glossary
    assert "at least 120 days long" in glossary
    # the old fixed definition contradicted the rhythm rule
    assert "ordered within the last" not in glossary


def test_customers_at_risk_show_manager_and_contacts_escaped():
    rows = [
        {**AT_RISK[0], "name": "<script>alert(1)</script>", "manager": "Mari <b>Kask</b>",
         "phone": "+372 5123 4567", "email": "a&b@x.ee"},
        {**AT_RISK[1], "manager": None, "phone": None, "email": None},
    ]
    at_risk = section(render(rows=rows), "at-risk")
    assert "<script>" not in at_risk and "<b>Kask" not in at_risk
    assert ">Manager</th>" in at_risk and ">Phone · e-mail</th>" in at_risk
    # Café (5,000 spent) first: its manager and contact cells are there, empty
    assert ("<th scope=\"row\">1</th><td>Café &quot;Aroma&quot; &amp; Co<br><small>"
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</small></td><td></td><td></td>"
            ) in at_risk
    assert ("<td>&lt;script&gt;alert(1)&lt;/script&gt;<br><small>small</small></td>"
            "<td>Mari &lt;b&gt;Kask&lt;/b&gt;</td><td>+372 5123 4567<br>a&amp;b@x.ee</td>"
            ) in at_risk


def test_customers_at_risk_have_no_contact_columns_when_no_one_listed_has_any():
    at_risk = section(render(), "at-risk")
    assert "Manager" not in at_risk and "Phone" not in at_risk


def test_lost_customers_worth_winning_back_have_their_own_section():
    lost = [{"customer_id": "L1", "name": "Lost <Ltd>", "rung": "regular", "status": "lost",
             "revenue": 9000.0, "money_at_stake": 800.0, "signals": [],
             "sentences": ["Lost: last order 400 days ago."]}]
    part = section(render(win_back_rows=lost), "win-back")
    assert "Lost &lt;Ltd&gt;" in part and "Lost: last order 400 days ago." in part
    assert "most money at stake first" in part
    assert "No lost customer to win back." in section(render(win_back_rows=[]), "win-back")
    assert 'id="win-back"' not in render()
