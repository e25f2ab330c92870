"""The flows that cross pages, from issue 19's "Done when", in a real browser in Russian,
Estonian and English, each page checked by the harness (no other host, no console error, no
English left on a ru or et page) and screenshotted:

- the owner: the dashboard → a customer at risk clicked → that customer's card (200, their
  name as its heading);
- the marketer adds a reward on ``/loyalty/rewards/new`` → the cashier finds a member by
  phone at ``/till`` and the reward is there: among those they can afford now (with its
  Redeem button) for a member with the points, among the next ones (with the points
  missing) for a member without.

The other roles' flows are each page's own: the manager's worklist → outcome in
``test_worklist.py``, the cashier's find by phone → redeem in ``test_till.py``, the owner's
import of a file in ``test_import.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from ...support.till import MEMBERS, seed_members
from .conftest import WebPage, serving_store

LANGS = ("ru", "et", "en")
DASHBOARD = {"ru": "Сводка", "et": "Ülevaade", "en": "Dashboard"}
ADD = {"ru": "Добавить награду", "et": "Lisa preemia", "en": "Add the reward"}
MISSING = {"ru": "не хватает", "et": "puudu", "en": "missing"}
#: the reward each language's run adds: its name and cost (each cheaper than the shipped
#: rewards, and each language's its own, so a run finds its own whatever ran before)
REWARD = {"ru": ("Латте ru", 110), "et": ("Latte et", 120), "en": ("Latte en", 130)}
#: members at the till: one with points for every new reward, one with the sign-up bonus only
RICH, POOR = "M001", "M002"
PHONE = {cid: phone for cid, _name, phone, _card, _points in MEMBERS}
POOR_BALANCE = 100  # the shipped programme's sign-up bonus


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness's server, with loyalty members to find at the till."""
    with serving_store(tmp_path_factory.mktemp("web-flows"), seed_members) as url:
        yield url


@pytest.mark.parametrize("lang", LANGS)
def test_the_owner_goes_from_the_dashboard_to_the_card_of_a_customer_at_risk(web, lang):
    tab = web(lang)
    tab.sign_in("owner")
    page = tab.page
    assert urlsplit(page.url).path == "/dashboard"
    assert page.get_by_role("heading", name=DASHBOARD[lang], exact=True).is_visible()
    tab.assert_translated()
    tab.shoot("flow-owner-dashboard")

    link = page.locator("a.customer-link").first
    href = link.get_attribute("href") or ""
    name = link.inner_text()
    assert re.fullmatch(r"/customers/C\d{3}", href), href
    with page.expect_response(lambda r: urlsplit(r.url).path == href) as answer:
        link.click()
    assert answer.value.status == 200
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    assert page.locator("#card-heading").inner_text() == name
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#orders-timeline").is_visible()
    tab.assert_translated()
    tab.shoot("flow-owner-card")


def find_member(tab: WebPage, member: str) -> None:
    """The cashier's way to a member's panel: the phone typed in the till's search box."""
    tab.goto("/till")
    assert tab.page.evaluate("document.activeElement.id") == "till-q"
    tab.page.keyboard.type(PHONE[member])
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(f"**/till/members/{member}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_reward_the_marketer_adds_is_at_the_till(web, lang):
    name, points = REWARD[lang]
    marketer = web(lang)
    marketer.sign_in("marketer")
    page = marketer.page
    marketer.goto("/loyalty/rewards/new")
    page.locator("#f-name").fill(name)
    page.locator("#f-kind").select_option("free_item")
    page.locator("#f-points").fill(str(points))
    page.get_by_role("button", name=ADD[lang]).click()
    page.wait_for_url(re.compile(r"/loyalty/rewards$"))
    assert page.get_by_role("link", name=name).is_visible()
    marketer.assert_translated()
    marketer.shoot("flow-marketer-reward-added")

    cashier = web(lang)
    cashier.sign_in("cashier")
    assert urlsplit(cashier.page.url).path == "/till"
    # a member with the points: the reward is one they can afford, with its own form
    find_member(cashier, RICH)
    affordable = cashier.page.locator("form.till-reward").filter(has_text=name)
    assert affordable.count() == 1
    assert affordable.locator("button[type=submit]").is_visible()
    cashier.assert_translated()
    cashier.shoot("flow-till-new-reward")
    # a member with the sign-up bonus only: among the next rewards, with the points missing
    find_member(cashier, POOR)
    upcoming = cashier.page.locator("ul.till-next li").filter(has_text=name)
    assert upcoming.count() == 1
    text = upcoming.inner_text()
    assert MISSING[lang] in text and str(points - POOR_BALANCE) in text
    assert cashier.page.locator("form.till-reward").filter(has_text=name).count() == 0
    cashier.assert_translated()
    cashier.shoot("flow-till-next-reward")
