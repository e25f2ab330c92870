"""The loyalty admin in a real browser: the marketer adds a reward in Russian, Estonian and
English and sees it in the rewards list and in a new version of the programme; every page of
the family is screenshotted in each language and fits a 360 px screen."""

from __future__ import annotations

import re

import pytest

LANGS = ("ru", "et", "en")
LOYALTY = {"ru": "Программа лояльности", "et": "Lojaalsusprogramm", "en": "Loyalty programme"}
ADD = {"ru": "Добавить награду", "et": "Lisa preemia", "en": "Add the reward"}
SAVED = {"ru": "Сохранено как версия", "et": "Salvestatud programmi versioonina",
         "en": "Saved as version"}
ADDED = {"ru": "награда '{name}' добавлена", "et": "preemia '{name}' lisati",
         "en": "reward '{name}' added"}
PAGES = ("/loyalty", "/loyalty/rewards", "/loyalty/rewards/new", "/loyalty/rewards/discount-5",
         "/loyalty/tiers", "/loyalty/tiers/gold", "/loyalty/offers", "/loyalty/bonuses")


@pytest.mark.parametrize("lang", LANGS)
def test_the_marketer_adds_a_reward_and_sees_it_in_a_new_version(web, lang):
    tab = web(lang)
    tab.allow(r"status of 422")  # the form refused once, as the browser logs it
    tab.sign_in("marketer")
    page = tab.page
    page.get_by_role("link", name=LOYALTY[lang]).first.click()
    page.wait_for_url(re.compile(r"/loyalty$"))
    assert page.get_by_role("heading", name=LOYALTY[lang], exact=True).is_visible()
    tab.assert_translated()
    page.locator("a[href='/loyalty/rewards']").first.click()
    page.wait_for_url(re.compile(r"/loyalty/rewards$"))
    page.locator("a[href='/loyalty/rewards/new']").click()
    page.wait_for_url(re.compile(r"/loyalty/rewards/new$"))
    tab.assert_translated()
    # a bad field first: shown next to it, in the reader's language, nothing saved
    name = f"Coffee {lang}"
    page.locator("#f-name").fill(name)
    page.locator("#f-kind").select_option("free_item")
    page.locator("#f-points").fill("0")
    page.locator("#f-points").press("Enter")
    page.locator("#e-points").wait_for()
    assert page.locator("#f-points").get_attribute("aria-invalid") == "true"
    tab.assert_translated()
    tab.shoot("loyalty-reward-refused")
    page.locator("#f-points").fill("100")
    page.locator("#f-note").fill(f"added in {lang}")
    page.get_by_role("button", name=ADD[lang]).click()
    page.wait_for_url(re.compile(r"/loyalty/rewards$"))
    assert SAVED[lang] in tab.text()
    assert page.get_by_role("link", name=name).is_visible()
    tab.assert_translated()
    page.locator("a[href='/loyalty']").first.click()
    page.wait_for_url(re.compile(r"/loyalty$"))
    text = tab.text()
    assert ADDED[lang].format(name=name) in text and f"added in {lang}" in text
    tab.assert_translated()


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_in_every_language_fits_a_small_screen(web, lang):
    tab = web(lang, width=360)
    tab.sign_in("marketer")
    for path in PAGES:
        response = tab.goto(path)
        assert response.status == 200, path
        tab.assert_translated()  # the shipped perks ("personal manager") are data
        assert tab.overflow() == 0, path
        name = "loyalty" + path.removeprefix("/loyalty").replace("/", "-")
        tab.shoot(name)
