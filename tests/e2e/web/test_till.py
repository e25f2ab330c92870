"""The cashier's flow in a browser (ru, et, en): signs in, lands on the till, finds a member by
phone, redeems a reward, and the balance drops by its cost; the owner's dashboard is refused;
the page fits 360 px and a tablet; with scripts off an order is accrued from the keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from ...support.till import seed_members
from .conftest import serving_store

# language -> (the phone as the cashier types it, the member, their balance)
FLOWS = {"ru": ("+372 5551 0001", "M001", 700), "et": ("5551 0003", "M003", 1100),
         "en": ("+372 5551 0006", "M006", 900)}
REWARD, COST = "discount-5", 500


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness's server (tests/e2e/web/conftest.py), with members at the till."""
    with serving_store(tmp_path_factory.mktemp("web-till"), seed_members) as url:
        yield url


def balance(tab) -> int:
    return int(re.sub(r"\D", "", tab.page.locator("#till-balance").inner_text()))


@pytest.mark.parametrize("lang", ["ru", "et", "en"])
def test_the_cashier_finds_a_member_by_phone_and_redeems(web, lang):
    phone, member, points = FLOWS[lang]
    tab = web(lang)
    tab.sign_in("cashier")
    assert urlsplit(tab.page.url).path == "/till"
    # keyboard first: the search box has the focus, Enter finds
    assert tab.page.evaluate("document.activeElement.id") == "till-q"
    tab.assert_translated()
    tab.shoot("till")
    tab.page.keyboard.type(phone)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(f"**/till/members/{member}")
    assert balance(tab) == points
    tab.assert_translated()
    tab.shoot("till-member")

    tab.page.locator(f"form.till-reward:has(input[value='{REWARD}']) button").click()
    tab.page.locator(".till-receipt").wait_for()
    assert balance(tab) == points - COST
    assert re.search(r"[A-Z0-9]{8,}", tab.page.locator(".till-receipt .till-code").inner_text())
    tab.assert_translated()
    tab.shoot("till-redeemed")

    tab.allow("status of 403")
    r = tab.goto("/dashboard")
    assert r.status == 403


def test_a_shared_phone_lists_names_and_nobody_found_offers_enrolment(web):
    tab = web("et")
    tab.sign_in("cashier")
    tab.page.locator("#till-q").fill("+372 5551 0044")
    tab.page.locator("#till-q").press("Enter")
    tab.page.locator(".till-matches").wait_for()
    text = tab.text()
    assert "Anna Kask" in text and "Peeter Kask" in text
    tab.assert_translated()
    tab.shoot("till-matches")
    tab.page.locator("#till-q").fill("+372 5559 1234")
    tab.page.locator("#till-q").press("Enter")
    tab.page.locator(".till-enrol").wait_for()
    tab.assert_translated()
    tab.shoot("till-enrol")


@pytest.mark.parametrize("width", [360, 768])
def test_the_till_fits_a_phone_and_a_tablet(web, width):
    tab = web("ru", width=width)
    tab.sign_in("cashier")
    assert tab.overflow() == 0
    tab.goto("/till?q=%2B372%205551%200044")
    assert tab.overflow() == 0
    tab.goto("/till/members/M003")
    assert tab.overflow() == 0
    assert "<img" not in tab.page.locator("h1").inner_html()  # the name is text
    tab.shoot(f"till-member-{width}px")
    tab.goto("/till?q=%2B372%205559%200000")
    assert tab.overflow() == 0


def test_with_scripts_off_an_order_is_accrued_from_the_keyboard(web):
    tab = web("en", scripts=False)
    tab.sign_in("cashier")
    tab.goto("/till/members/M005")
    tab.page.locator("#till-amount").fill("42.50")
    tab.page.locator("#till-reference").fill("E2E-1")
    tab.page.locator("#till-reference").press("Enter")
    tab.page.locator(".till-receipt").wait_for()
    assert "Order E2E-1" in tab.text()
