"""The owner's main flow in a real browser, in Russian, Estonian and English: sign in, the
dashboard with the report's charts and the programme's figures, the period chosen with the
form, a customer at risk clicked through to their card (``/customers/{id}``); every page
translated, screenshotted, and fitting a 360 px wide window."""

from __future__ import annotations

import re

import pytest

LANGS = ("ru", "et", "en")
DASHBOARD = {"ru": "Сводка", "et": "Ülevaade", "en": "Dashboard"}
AT_RISK = {"ru": "Клиенты в зоне риска", "et": "Lahkumisohus kliendid", "en": "Customers at risk"}
SHOW = {"ru": "Показать", "et": "Näita", "en": "Show"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_owner_goes_from_the_dashboard_to_a_customer_at_risk(web, lang):
    tab = web(lang)
    tab.sign_in("owner")
    page = tab.page
    assert page.url.endswith("/dashboard")
    assert page.get_by_role("heading", name=DASHBOARD[lang], exact=True).is_visible()
    for chart in ("chart-ladder", "chart-status", "chart-pareto", "chart-cohorts"):
        assert page.locator(f"svg#{chart}").is_visible(), chart
    assert page.locator("#concentration-alert").is_visible()
    assert page.get_by_role("heading", name=AT_RISK[lang]).is_visible()
    tab.assert_translated()
    tab.shoot("dashboard-full")

    # the period: a plain GET form
    page.locator("#days").select_option("90")
    page.get_by_role("button", name=SHOW[lang]).click()
    page.wait_for_url(re.compile(r"days=90"))
    assert page.locator("#days").input_value() == "90"
    tab.assert_translated()

    # a customer at risk, by name, to their card
    link = page.locator("a.customer-link").first
    href = link.get_attribute("href")
    name = link.inner_text()
    assert re.fullmatch(r"/customers/C\d{3}", href or ""), href
    assert name.startswith("Customer ")
    link.click()
    page.wait_for_url(re.compile(re.escape(href or "") + "$"))
    assert page.locator("#card-heading").inner_text() == name

    narrow = web(lang, width=360)
    narrow.sign_in("owner")
    assert narrow.page.locator("svg#chart-ladder").is_visible()
    assert narrow.overflow() <= 0
    narrow.assert_translated()
    narrow.shoot("dashboard-360px")


def test_the_dashboard_works_with_scripts_off(web):
    tab = web("en", scripts=False)
    tab.sign_in("owner")
    tab.page.locator("#days").select_option("30")
    tab.page.get_by_role("button", name="Show").click()
    tab.page.wait_for_load_state("load")
    assert "days=30" in tab.page.url
    assert tab.page.locator("svg#chart-ladder").is_visible()
