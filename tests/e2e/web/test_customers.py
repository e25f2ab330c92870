"""The customer list in a real browser: the owner finds a customer by name and by filter
(htmx swaps the results and keeps the address), a manager sees their own customers, the
form works with scripts off, the page fits 360 px; every language screenshotted."""

from __future__ import annotations

import re

import pytest

LANGS = ("ru", "et", "en")
HEADING = {"ru": "Клиенты", "et": "Kliendid", "en": "Customers"}
SEARCH = {"ru": "Поиск", "et": "Otsing", "en": "Search"}
RUNG = {"ru": "Ступень", "et": "Aste", "en": "Rung"}


def rows(tab) -> list[str]:
    return tab.page.locator("table.customers tbody th a").all_inner_texts()


@pytest.mark.parametrize("lang", LANGS)
def test_the_owner_finds_customers_by_name_and_filter(web, lang):
    tab = web(lang)
    tab.sign_in("owner")
    tab.page.locator("nav a[href='/customers']").click()
    tab.page.wait_for_url(re.compile(r"/customers$"))
    page = tab.page
    assert page.get_by_role("heading", name=HEADING[lang]).is_visible()
    assert len(rows(tab)) == 12
    assert re.search(r"1–12", page.locator(".count").inner_text())
    tab.assert_translated()
    tab.shoot("customers")

    # typing searches (htmx: only the results change, the address follows)
    page.get_by_label(SEARCH[lang], exact=True).fill("Customer 1")
    page.wait_for_url(re.compile(r"q=Customer(%20|\+)1"))
    page.wait_for_function("document.querySelectorAll('table.customers tbody tr').length == 3")
    assert sorted(rows(tab)) == ["Customer 1", "Customer 10", "Customer 11"]
    # the field stayed as typed
    assert page.get_by_label(SEARCH[lang], exact=True).input_value() == "Customer 1"

    # a filter chosen from the list
    page.get_by_label(SEARCH[lang], exact=True).fill("")
    page.get_by_label(RUNG[lang]).select_option("regular")
    page.wait_for_url(re.compile(r"rung=regular"))
    page.wait_for_function("document.querySelector('.count')"
                           " && /1–3 /.test(document.querySelector('.count').innerText)")
    assert sorted(rows(tab)) == ["Customer 0", "Customer 3", "Customer 6"]  # the regulars
    tab.assert_translated()
    tab.shoot("customers-filtered")

    # a name leads to the card
    first = page.locator("table.customers tbody th a").first
    href = first.get_attribute("href")
    assert href and href.startswith("/customers/C")


def test_a_manager_sees_their_own_and_the_page_fits_360px(web):
    tab = web("et", width=360)
    tab.sign_in("manager")
    tab.goto("/customers?manager=Boris")
    page = tab.page
    assert page.get_by_role("heading", name="Kliendid").is_visible()
    assert page.locator("select[name=manager]").count() == 0
    names = rows(tab)
    assert len(names) == 6 and all(int(n.split()[-1]) % 2 == 1 for n in names)  # Anna K's
    assert tab.overflow() <= 0
    tab.shoot("customers-manager-360px")
    tab.assert_translated()


def test_the_form_works_with_scripts_off(web):
    tab = web("ru", scripts=False)
    tab.sign_in("owner")
    tab.goto("/customers")
    tab.page.get_by_label("Поиск", exact=True).fill("Customer 3")
    tab.page.get_by_label("Поиск", exact=True).press("Enter")
    tab.page.wait_for_url(re.compile(r"/customers\?q=Customer\+3"))
    assert rows(tab) == ["Customer 3"]
    tab.assert_translated()
