"""The manager's main flow in a real browser, in Russian, Estonian and English: sign in, land
on the worklist, record an outcome with a note on a task (the row is replaced in place), and
the task has left today's list with its outcome recorded; the snooze with scripts off; My
account; screenshots of both pages in each language; nothing wider than a 360 px phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ...support.web import PASSWORD, seed_map

LANGS = ("ru", "et", "en")
WORKLIST = {"ru": "Список на сегодня", "et": "Tööleht", "en": "Worklist"}
ACCOUNT = {"ru": "Мой профиль", "et": "Minu konto", "en": "My account"}
DONE = {"ru": "выполнено", "et": "tehtud", "en": "done"}
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness's server, with tasks: Anna K's due today (one per language flow, and one
    to snooze), and one of Boris's."""
    from regulars import bootstrap
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    folder = tmp_path_factory.mktemp("web-worklist")
    settings = bootstrap.load_settings(database_url=f"sqlite:///{folder / 'store.db'}",
                                       api={"live_map": False})
    services = bootstrap.open_api(settings)
    users = bootstrap.open_users(settings, services=services,
                                 hasher=bootstrap.password_hasher(cheap=True))
    # a manager of their own: only Anna K's user is needed here
    users.create("anna", "manager", PASSWORD, name="Anna Kask", manager="Anna K")
    seed_map(services)
    for n, cid in enumerate(("C001", "C003", "C005", "C007")):
        services.tasks.add(customer_id=cid, action="call", owner="Anna K",
                           money_at_stake=1000 - 100 * n)
    services.tasks.add(customer_id="C002", action="call", owner="Boris")
    STATE["services"] = services
    app = create_app(settings, services=services, rebuild_on_start=False, background=False,
                     users=users)
    try:
        with serving(app) as url:
            yield url
    finally:
        services.stop()


def task(task_id: str) -> dict[str, Any]:
    return next(t for t in STATE["services"].tasks.list() if t["task_id"] == task_id)


@pytest.mark.parametrize("lang", LANGS)
def test_the_manager_records_an_outcome_from_the_worklist(web, lang):
    tab = web(lang)
    tab.sign_in("anna")
    page = tab.page
    assert page.url.endswith("/worklist")  # the manager's day starts here
    assert page.get_by_role("heading", name=WORKLIST[lang], exact=True).is_visible()
    first = page.locator("section.wl-today li.wl-task").first
    row_id = first.get_attribute("id") or ""
    task_id = row_id.removeprefix("task-")
    name = first.locator(".wl-name").inner_text()
    assert re.fullmatch(r"Customer \d+", name)
    assert first.locator(".wl-name").get_attribute("href", timeout=1000).startswith(
        "/customers/C")
    tab.assert_translated()
    tab.shoot("worklist")
    first.locator("textarea").fill(f"called in {lang}")
    first.locator("button[value=reached]").click()
    done = page.locator(f"#{row_id}.wl-gone")
    done.wait_for()
    assert name in done.inner_text() and DONE[lang] in done.inner_text()
    recorded = task(task_id)
    assert (recorded["state"], recorded["outcome"], recorded["note"]) == (
        "done", "reached", f"called in {lang}")
    tab.goto("/worklist")
    assert page.locator(f"#{row_id}").count() == 0  # it has left today's list
    tab.assert_translated()

    narrow = web(lang, width=360)
    narrow.sign_in("anna")
    assert narrow.overflow() == 0
    narrow.shoot("worklist-360")
    narrow.goto("/account")
    assert narrow.page.get_by_role("heading", name=ACCOUNT[lang]).is_visible()
    assert narrow.overflow() == 0
    narrow.assert_translated()
    narrow.shoot("account")


def test_with_scripts_off_a_snooze_posts_and_the_page_comes_back(web):
    tab = web("en", scripts=False)
    tab.sign_in("anna")
    first = tab.page.locator("section.wl-today li.wl-task").first
    task_id = (first.get_attribute("id") or "").removeprefix("task-")
    first.get_by_role("button", name="Tomorrow").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.url.endswith("/worklist")
    assert tab.page.get_by_text(re.compile(r"snoozed to")).is_visible()
    assert tab.page.locator(f"#task-{task_id}").count() == 0
    assert task(task_id)["state"] == "snoozed"
