"""The customer card in a real browser: the owner opens a card from its address in Russian,
Estonian and English, logs a call, creates a task and adds a tag (each form swapping its own
section through htmx), and the card fits a 360 px screen."""

from __future__ import annotations

import pytest

LANGS = ("ru", "et", "en")
CUSTOMER = {"ru": "C003", "et": "C005", "en": "C007"}  # one per language: the tests add to it
TAGGED = {"ru": "Метка «vip-ru» добавлена.", "et": "Silt „vip-et“ on lisatud.",
          "en": "Tag vip-en added."}
LOGGED = {"ru": "Звонок записан.", "et": "Kõne on kirja pandud.", "en": "The call is logged."}
CREATED = {"ru": "Задача создана.", "et": "Ülesanne on loodud.", "en": "The task is created."}


@pytest.mark.parametrize("lang", LANGS)
def test_the_owner_opens_a_card_logs_a_call_creates_a_task_and_tags(web, lang):
    tab = web(lang)
    tab.sign_in("owner")
    cid = CUSTOMER[lang]
    tab.goto(f"/customers/{cid}")
    page = tab.page
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#card-heading").inner_text() == f"Customer {int(cid[1:])}"
    assert page.locator("#orders-timeline").is_visible()  # the chart, server-side SVG
    assert page.locator("#evidence li").count() > 0
    tab.assert_translated()
    tab.shoot("card")

    # log a call: the contact history swaps in with the note
    page.select_option("#call-outcome", "reached")
    page.fill("#call-note", f"<b>called</b> in {lang}")
    page.locator("#contacts button[type=submit]").click()
    page.locator("#contacts .flash-success").wait_for()
    assert page.locator("#contacts .flash-success").inner_text() == LOGGED[lang]
    assert page.locator("#contacts td.note").first.inner_text() == f"<b>called</b> in {lang}"
    assert page.locator("#contacts td.note b").count() == 0  # text, not markup
    # the done task the call is shows in the tasks, swapped in beside it
    assert page.locator("#tasks tbody tr").count() == 1

    # create a task (today by default)
    page.fill("#task-note", "send the catalogue")
    page.locator("#tasks button[type=submit]").click()
    page.locator("#tasks .flash-success").wait_for()
    assert page.locator("#tasks .flash-success").inner_text() == CREATED[lang]
    assert page.locator("#tasks tbody tr").count() == 2

    # add a tag: Enter in the field submits it
    page.fill("#tag", f"vip-{lang}")
    page.locator("#tag").press("Enter")
    page.locator("#tags .flash-success").wait_for()
    assert page.locator("#tags .flash-success").inner_text() == TAGGED[lang]
    assert page.locator(".tag span").all_inner_texts() == [f"vip-{lang}"]
    assert page.url.endswith(f"/customers/{cid}")
    tab.assert_translated()
    tab.shoot("card-after-actions")


@pytest.mark.parametrize("lang", ("ru", "et"))
def test_a_bad_tag_is_shown_next_to_the_field(web, lang):
    tab = web(lang)
    tab.allow(r"status of 422")  # the refusal, as the browser logs it
    tab.sign_in("owner")
    tab.goto("/customers/C009")
    tab.page.fill("#tag", "a;b")
    tab.page.locator("#tag").press("Enter")
    tab.page.locator("#tag-error").wait_for()
    assert tab.page.locator("#tag").get_attribute("aria-invalid") == "true"
    tab.assert_translated()


@pytest.mark.parametrize("lang", LANGS)
def test_the_card_fits_a_phone(web, lang):
    tab = web(lang, width=360)
    tab.sign_in("owner")
    tab.goto("/customers/C000")
    assert tab.overflow() == 0
    tab.shoot("card-360")


def test_the_forms_work_with_scripts_off(web):
    tab = web("en", scripts=False)
    tab.sign_in("owner")
    tab.goto("/customers/C011")
    tab.page.fill("#tag", "no-script")
    tab.page.locator("#tags button[type=submit]").last.click()
    tab.page.wait_for_load_state("load")
    assert tab.page.url.endswith("/customers/C011#tags")
    assert "Tag no-script added." in tab.text()
