"""The owner's dashboard over HTTP: the served map's figures and the report's charts, the
customers at risk with their names linking to their cards, the loyalty programme's figures
over the period chosen, and what it says when there is nothing to show."""

from __future__ import annotations

import re
import time
from datetime import datetime

from ...support.web import EVIL_NAME, seed_map


def _shown(client, path: str = "/dashboard") -> str:
    """The page once its figures are counted (a loaded machine may take longer than the
    page waits; the page then says it is still counting, and is asked again)."""
    for _ in range(100):
        html = client.get(path).text
        if "Still counting" not in html:
            return html
        time.sleep(0.1)
    raise AssertionError("still counting after 10 s")


def _enrolled_on(services, when: datetime) -> None:
    """Members as if they had joined on ``when`` (the seeded orders are of 2024)."""
    import sqlalchemy as sa

    from regulars.adapters.db.tables import loyalty_members

    engine = sa.create_engine(services.store.url)
    with engine.begin() as conn:
        conn.execute(sa.update(loyalty_members).values(enrolled_at=when))
    engine.dispose()


def test_the_dashboard_shows_the_report_live_with_its_charts(browser, services):
    seed_map(services)
    page = browser("owner").get("/dashboard")
    assert page.status_code == 200
    html = page.text
    for chart in ("chart-ladder", "chart-status", "chart-pareto", "chart-cohorts"):
        assert f'<svg id="{chart}"' in html, chart
    for words in ("Customers", "Regulars", "Revenue from regulars", "NPS",
                  "Customer retention (CRR)", "The loyalty ladder", "Activity status",
                  "Cohort retention", "Concentration and the Pareto curve"):
        assert words in html, words
    assert 'id="concentration-alert"' in html
    assert "The customer map as of" in html


def test_customers_at_risk_are_listed_by_name_with_a_link_to_their_card(browser, services):
    seed_map(services)
    html = _shown(browser("owner"))
    links = re.findall(r'<a href="/customers/([^"]+)" class="customer-link">([^<]+)</a>', html)
    assert links, "no customer at risk listed"
    for cid, name in links:
        assert name == f"Customer {int(cid[1:])}"


def test_a_customers_name_that_is_html_is_shown_as_text(browser, services):
    from regulars.domain.tables import Kind
    from regulars.services.api.ports import CustomerFilter

    seed_map(services)
    # every customer gets a name made of HTML
    rows = services.store.list_customers(CustomerFilter(limit=100))
    services.ingest.run([(Kind.CUSTOMERS, {"customer_id": r["customer_id"],
                                           "name": '<img src=x onerror="alert(1)">' + EVIL_NAME})
                         for r in rows])
    html = _shown(browser("owner"))
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=" in html


def test_without_a_map_the_dashboard_says_what_to_do(browser):
    html = _shown(browser("owner"))
    assert "There is no customer map yet" in html
    assert "regulars import orders" in html
    assert "<svg" not in html


def test_without_members_the_programme_figures_say_so(browser, services):
    seed_map(services)
    html = _shown(browser("owner"))
    assert 'id="no-programme"' in html
    assert 'id="members-table"' not in html


def test_the_programme_figures_compare_members_with_the_others(browser, services):
    seed_map(services)
    loyalty = services.loyalty.service
    loyalty.enrol("C000")
    loyalty.enrol("C003")
    _enrolled_on(services, datetime(2023, 12, 1))  # before the seeded orders
    client = browser("owner")
    html = _shown(client, "/dashboard?days=365")
    assert 'id="members-table"' in html
    assert "Points liability" in html and "Redemption rate" in html
    assert "Cost of rewards" in html
    assert re.search(r'<option value="365" selected>', html)
    # the period is a plain GET form; an unknown period is the default one
    assert '<form method="get" action="/dashboard#programme"' in html
    assert re.search(r'<option value="365" selected>', _shown(client, "/dashboard?days=7"))
    assert re.search(r'<option value="30" selected>', _shown(client, "/dashboard?days=30"))


def test_the_dashboard_is_the_owners_alone(browser, services):
    seed_map(services)
    for role in ("manager", "marketer", "cashier"):
        assert browser(role).get("/dashboard").status_code == 403


def test_a_rebuilt_map_is_shown_at_once(browser, services):
    seed_map(services, customers=6)
    client = browser("owner")
    assert ">6<" in _shown(client).replace("\u00a0", "")
    seed_map(services, customers=9)
    assert ">9<" in _shown(client).replace("\u00a0", "")


def test_dates_are_written_the_languages_way(browser, services):
    seed_map(services)
    html = _shown(browser("owner", headers={"Accept-Language": "ru"}))
    assert re.search(r"\d\d\.\d\d\.\d{4}", html)
