"""The owner sets a goal in a real browser and sees it tracked: the goal listed with its start's
reading, the readings recorded up to the data's last day, drawn in the goal's small chart, and
the goal on the dashboard; in Russian, the page wholly translated."""

from __future__ import annotations


def test_the_owner_sets_a_goal_and_sees_it_tracked(web):
    tab = web("en")
    tab.sign_in("owner")
    page = tab.page
    tab.goto("/goals")
    assert page.get_by_role("heading", name="Goals", exact=True).is_visible()
    # a target that is not a number: the form again, the problem next to the field
    page.locator("#f-metric").select_option("share_of_regulars")
    page.locator("#f-target").fill("lots")
    page.locator("#f-due_on").fill("2024-12-31")
    tab.allow(r"status of 422")  # the form refused once, as the browser logs it
    page.get_by_role("button", name="Set the goal").click()
    page.locator("#e-target").wait_for()

    # the small map's orders run from January to June 2024
    page.locator("#f-target").fill("60")
    page.locator("#f-starts_on").fill("2024-04-01")
    page.locator("#f-note").fill("more regulars")
    page.get_by_role("button", name="Set the goal").click()
    page.locator(".flashes").wait_for()
    assert "Goal set: Share of regulars: 60.0% by Dec 31, 2024." in page.locator(
        ".flashes").inner_text()
    row = page.locator("tr.goal").first
    assert "Share of regulars" in row.inner_text()
    assert row.locator("svg.goal-chart circle").count() == 1  # the start's reading

    page.get_by_role("button", name="Record the readings now").click()
    # recorded in the background: the page says so, and its goals section asks for itself
    # again until the readings are there (1 Apr, the ends of April and May, and the data's
    # last day in June), with no reload
    page.locator(".flashes", has_text="being recorded").wait_for()
    row = page.locator("tr.goal").first
    row.locator("svg.goal-chart circle").nth(3).wait_for(timeout=60_000)
    assert row.locator("svg.goal-chart circle").count() == 4
    assert page.locator("section#goals p.counting").count() == 0
    assert row.locator(".goal-state").inner_text() in ("on track", "behind", "achieved")
    tab.shoot("goals")

    tab.goto("/dashboard")
    block = page.locator("section#goals")
    assert "Share of regulars" in block.inner_text()
    assert block.locator("svg.goal-chart circle").count() == 4

    ru = web("ru")
    ru.sign_in("owner")
    ru.goto("/goals")
    assert ru.page.get_by_role("heading", name="Цели", exact=True).is_visible()
    ru.assert_translated()
    ru.shoot("goals")
