"""The owner imports a file in a real browser, in Russian, Estonian and English: a small CSV
of orders with Russian headers and one bad row is uploaded, the recognised mapping and the
bad row (row, column) are shown, the import is confirmed and the result counted."""

from __future__ import annotations

import re

import pytest

LANGS = ("ru", "et", "en")
CHECK = {"ru": "Проверка импорта", "et": "Impordi kontroll", "en": "Check the import"}
DONE = {"ru": "Импортирован файл", "et": "Imporditud", "en": "Imported"}


def orders_csv(lang: str) -> bytes:
    """Three good orders and one whose date is not a date (row 3, line 4); the order
    numbers are the language's own, so each run adds its own rows to the shared store."""
    return (
        "Номер;Код клиента;Дата;Сумма\n"
        f"{lang}-1;C001;01.03.2025;1 200,50 руб.\n"
        f"{lang}-2;C002;02.03.2025;300,00 руб.\n"
        f"{lang}-3;C001;завтра;450,00 руб.\n"
        f"{lang}-4;NEW-{lang};04.03.2025;99,90 руб.\n"
    ).encode()


@pytest.mark.parametrize("lang", LANGS)
def test_the_owner_imports_a_file_of_orders(web, lang):
    tab = web(lang)
    tab.sign_in("owner")
    page = tab.page
    tab.goto("/import")
    assert page.locator("html").get_attribute("lang") == lang
    tab.assert_translated()
    tab.shoot("import-upload")

    page.set_input_files("#import-file", files=[{
        "name": f"orders-{lang}.csv", "mimeType": "text/csv", "buffer": orders_csv(lang)}])
    page.locator("form[action='/import'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/import/[\w-]+$"))
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name=CHECK[lang], exact=True).is_visible()
    # the mapping as recognised: each column of the file with its field chosen
    for i, field in enumerate(("order_id", "customer_id", "ordered_at", "amount"), start=1):
        assert page.locator(f"#field-{i}").input_value() == field
    # the bad row, named by row and column, with its value
    problem = page.locator("table.import-table tbody tr").filter(has_text="завтра")
    cells = problem.locator("td").all_inner_texts()
    assert cells[:4] == ["3", "4", "Дата (ordered_at)", "завтра"]
    counts = page.locator(".import-plan .value").all_inner_texts()
    assert counts == ["4", "3", "0", "1"]
    tab.assert_translated()
    tab.shoot("import-preview")
    page.set_viewport_size({"width": 360, "height": 900})
    assert tab.overflow() == 0  # the wide tables scroll inside their own box
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator(".import-confirm button[type=submit]").click()
    page.wait_for_url(re.compile(r"/import/[\w-]+/done$"))
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name=re.compile(DONE[lang])).is_visible()
    assert page.locator(".import-plan .value").all_inner_texts() == ["4", "3", "0", "1"]
    assert page.locator("a[href$='/problems.csv']").count() == 1
    tab.assert_translated()
    tab.shoot("import-done")
    page.set_viewport_size({"width": 360, "height": 900})
    assert tab.overflow() == 0
