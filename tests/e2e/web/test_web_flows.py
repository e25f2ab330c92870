"""The web pages in a real browser: each role's way in, the refusals, signing out, the API's
docs offline, and every page screenshotted in every language."""

from __future__ import annotations

import re

import pytest

LANGS = ("ru", "et", "en")
DASHBOARD = {"ru": "Сводка", "et": "Ülevaade", "en": "Dashboard"}
REFUSED = {"ru": "Недоступно для вашей роли", "et": "Teie rollile pole see avatud",
           "en": "Not for your role"}
SIGN_IN = {"ru": "Войти", "et": "Logi sisse", "en": "Sign in"}


def test_the_owner_signs_in_in_russian_and_sees_the_key_figures(web):
    tab = web("ru")
    tab.sign_in("owner")
    page = tab.page
    assert page.url.endswith("/dashboard")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("heading", name="Сводка").is_visible()
    figures = page.locator(".figure")
    assert figures.count() >= 4  # the key figures (the dashboard shows more since)
    text = tab.text()
    for label in ("Клиенты", "Постоянные клиенты", "NPS"):
        assert label in text
    assert re.search(r"\d+,\d\u00a0%", text)  # a share, the Russian way
    # the owner's name is HTML, shown as text (no element made of it)
    assert page.locator(".who").inner_text().startswith('<script>alert("x")</script>')
    assert page.locator(".who b").count() == 0
    tab.assert_translated()


def test_a_cashier_is_refused_the_owners_page(web):
    tab = web("et")
    tab.allow(r"status of 403")  # the refusal itself, as the browser logs it
    tab.sign_in("cashier")
    assert tab.page.url.endswith("/till")  # the cashier lands on the till
    response = tab.goto("/dashboard")
    assert response.status == 403
    assert tab.page.get_by_role("heading", name=REFUSED["et"]).is_visible()
    # the menu offers the cashier no owner's page
    assert tab.page.locator("nav a[href='/dashboard']").count() == 0
    tab.assert_translated()


def test_signing_out_leaves_no_way_back_in(web):
    tab = web("en")
    tab.sign_in("manager")
    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.wait_for_url(re.compile(r"/sign-in$"))
    assert tab.page.get_by_text("You have signed out.").is_visible()
    tab.goto("/welcome")
    assert "/sign-in" in tab.page.url


def test_the_pages_work_with_scripts_off(web):
    # the marketer: the language chosen here is kept with the user, and no other test reads
    # the marketer's pages' words
    tab = web("en", scripts=False)
    tab.sign_in("marketer")
    assert tab.page.url.endswith("/welcome")
    tab.page.locator("#language-choice").select_option("et")
    tab.page.get_by_role("button", name="Change").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.get_by_role("heading", name="Tere tulemast, Marketer").is_visible()
    assert tab.page.locator("html").get_attribute("lang") == "et"
    tab.page.locator("#language-choice").select_option("en")
    tab.page.get_by_role("button", name="Muuda").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.get_by_role("heading", name="Welcome, Marketer").is_visible()


def test_the_skip_link_is_the_first_stop_of_the_keyboard(web):
    tab = web("en")
    tab.sign_in("manager")
    tab.goto("/welcome")  # a page with no field focused on arrival (sign-in's login is)
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert tab.page.locator(".skip-link").is_visible()


def test_the_api_docs_render_offline(web):
    tab = web("en")
    tab.goto("/docs")
    tab.page.locator(".swagger-ui .info .title").wait_for()
    assert "regulars" in tab.page.locator(".swagger-ui .info .title").inner_text()
    assert tab.page.locator(".opblock").count() > 10


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_in_every_language_is_translated_fits_360px_and_is_screenshotted(web, lang):
    tab = web(lang)
    tab.goto("/sign-in")
    assert tab.page.get_by_role("heading", name=SIGN_IN[lang]).is_visible()
    tab.assert_translated()
    tab.shoot("sign-in")
    tab.sign_in("owner")
    assert tab.page.get_by_role("heading", name=DASHBOARD[lang]).is_visible()
    tab.assert_translated()
    tab.shoot("dashboard")
    tab.goto("/welcome")
    tab.assert_translated()
    tab.shoot("welcome-owner")
    tab.goto("/nowhere")
    tab.allow(r"status of 404")
    tab.assert_translated()
    tab.shoot("not-found")

    narrow = web(lang, width=360)
    narrow.allow(r"status of 403")
    narrow.sign_in("cashier")
    assert narrow.overflow() <= 0
    narrow.assert_translated()
    narrow.shoot("till-cashier-360px")  # the cashier lands on the till
    narrow.goto("/dashboard")
    assert narrow.overflow() <= 0
    narrow.assert_translated()
    narrow.shoot("refused-360px")


def test_what_people_typed_is_not_read_as_the_pages_words(web):
    from .conftest import untranslated

    tab = web("ru")
    tab.sign_in("manager")  # named "Manager", login "manager": English words of the pages
    tab.goto("/account")
    assert "Manager" in tab.page.locator(".who").inner_text()
    assert "manager" in tab.page.locator(".account-facts").inner_text()
    tab.assert_translated()  # the name and the login are marked data-user-text
    # the same word outside a marked element is still caught, and the page is as it was
    tab.page.evaluate("document.querySelector('h1').append(' Manager')")
    assert untranslated(tab.pages_words(), "ru") == ["Manager"]
    assert tab.page.locator(".who [data-user-text]").is_visible()


def test_the_english_check_finds_a_source_string_left_in_english():
    from .conftest import untranslated

    assert untranslated("Сводка Клиенты 12 Sign out Выйти", "ru") == ["Sign out"]
    assert untranslated("Welcome, Anna", "et") == ["Welcome"]
    assert untranslated("Сводка Клиенты NPS 12 Anna", "ru") == []  # NPS is NPS in Russian
