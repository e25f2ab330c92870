"""The loyalty admin's pages on a real server (SQLite and PostgreSQL): a reward added on the
page is in the API's catalogue at once; bad fields are shown next to their field (422) and
nothing is saved; a stale edit is refused (409) and loses no one's change; deactivating takes
a reward off the catalogue; versions and what changed are listed; text is escaped."""

from __future__ import annotations

import re

import httpx

from ...support.web import EVIL_NAME, csrf_token


def _api_rewards(web: str, key: str) -> dict[str, dict]:
    r = httpx.get(f"{web}/v1/loyalty/rewards", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["code"]: item for item in items}


def _post(client: httpx.Client, url: str, form: dict[str, str]) -> httpx.Response:
    page = client.get(url)
    base = re.search(r'name="base_version" value="(\d+)"', page.text)
    assert base, page.text[:300]
    return client.post(url, data={"base_version": base.group(1), **form,
                                  "csrf_token": csrf_token(page.text)})


COFFEE = {"name": "Coffee", "kind": "free_item", "points": "100", "value": "2,50",
          "note": "new on the menu"}


def test_a_reward_added_on_the_page_is_in_the_api_at_once(browser, web, keys):
    marketer = browser("marketer")
    assert "coffee" not in _api_rewards(web, keys["readonly"])
    r = _post(marketer, "/loyalty/rewards/new", COFFEE)
    assert (r.status_code, r.headers["location"]) == (303, "/loyalty/rewards")
    listed = _api_rewards(web, keys["readonly"])["coffee"]
    assert (listed["name"], listed["points"], listed["kind"]) == ("Coffee", 100, "free_item")
    page = marketer.get("/loyalty/rewards")
    assert "Saved as version 2 of the programme." in page.text
    assert "Coffee" in page.text
    overview = marketer.get("/loyalty").text
    assert "Version 2, in force from" in overview
    assert "edited on the web by Marketer" in overview and "new on the menu" in overview
    assert "reward &#39;Coffee&#39; added" in overview


def test_an_edit_is_a_new_version_with_what_changed(browser, web, keys):
    marketer = browser("marketer")
    _post(marketer, "/loyalty/rewards/new", COFFEE)
    r = _post(marketer, "/loyalty/rewards/coffee",
              {**COFFEE, "points": "120", "stock": "50", "active": "on"})
    assert r.status_code == 303
    assert _api_rewards(web, keys["readonly"])["coffee"]["points"] == 120
    overview = marketer.get("/loyalty").text
    assert "reward &#39;Coffee&#39;: cost 100 points → 120 points" in overview
    assert "reward &#39;Coffee&#39;: stock no limit → 50" in overview
    # the same form again changes nothing: no version
    r = _post(marketer, "/loyalty/rewards/coffee",
              {**COFFEE, "points": "120", "stock": "50", "active": "on"})
    assert "Nothing changed" in marketer.get(r.headers["location"]).text
    assert "Version 4" not in marketer.get("/loyalty").text


def test_bad_fields_are_shown_next_to_them_and_nothing_is_saved(browser, web, keys):
    marketer = browser("marketer")
    r = _post(marketer, "/loyalty/rewards/new",
              {"name": "", "kind": "free_item", "points": "-5", "stock": "lots"})
    assert r.status_code == 422
    assert 'id="e-points"' in r.text and "must be greater than 0" in r.text
    assert 'id="e-stock"' in r.text and "not a whole number" in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'value="lots"' in r.text  # what was typed is kept
    assert "Version 2" not in browser("marketer").get("/loyalty").text
    # a rule across the programme, in Estonian
    marketer.post("/language", data={"lang": "et", "csrf_token": csrf_token(
        marketer.get("/loyalty").text)})
    r = _post(marketer, "/loyalty/rewards/new", {"name": "X", "kind": "gift", "points": "5",
                                                 "code": "discount-5"})
    assert r.status_code == 422 and 'id="e-code"' in r.text
    assert "discount-5" in r.text and "a reward with the code" not in r.text


def test_a_stale_edit_is_refused_and_loses_nothing(browser, web, keys):
    anna, boris = browser("marketer"), browser("owner")
    page_a = anna.get("/loyalty/rewards/discount-5")
    page_b = boris.get("/loyalty/rewards/discount-5")
    form = {"name": "5 off your next order", "kind": "discount_coupon", "value": "5",
            "active": "on", "base_version": "1"}
    r = anna.post("/loyalty/rewards/discount-5", data={
        **form, "points": "600", "csrf_token": csrf_token(page_a.text)})
    assert r.status_code == 303
    r = boris.post("/loyalty/rewards/discount-5", data={
        **form, "points": "400", "csrf_token": csrf_token(page_b.text)})
    assert r.status_code == 409
    assert "changed in version 2 by Marketer" in r.text
    assert 'name="base_version" value="2"' in r.text and 'value="600"' in r.text
    assert _api_rewards(web, keys["readonly"])["discount-5"]["points"] == 600


def test_a_deactivated_reward_leaves_the_catalogue(browser, web, keys):
    marketer = browser("marketer")
    r = _post(marketer, "/loyalty/rewards/discount-5", {
        "name": "5 off your next order", "kind": "discount_coupon", "points": "500",
        "value": "5"})  # no "active": the box unticked
    assert r.status_code == 303
    assert "discount-5" not in _api_rewards(web, keys["readonly"])
    page = marketer.get("/loyalty/rewards").text
    assert "deactivated" in page and "5 off your next order" in page
    assert "reward &#39;5 off your next order&#39; deactivated" in marketer.get(
        "/loyalty").text


def test_tiers_offers_and_bonuses_are_edited_too(browser):
    marketer = browser("marketer")
    r = _post(marketer, "/loyalty/tiers/new", {"name": "bronze", "threshold": "100",
                                               "multiplier": "1,1", "perks": "a\nb"})
    assert r.status_code == 303
    tiers = marketer.get("/loyalty/tiers").text
    assert "bronze" in tiers and "a, b" in tiers
    r = _post(marketer, "/loyalty/tiers/gold", {"threshold": "100"})
    assert r.status_code == 422 and 'id="e-threshold"' in r.text
    r = _post(marketer, "/loyalty/offers/new", {"name": "old friends", "kind": "tenure",
                                                "reward": "discount-5",
                                                "min_tenure_days": "730"})
    assert r.status_code == 303
    assert "old friends" in marketer.get("/loyalty/offers").text
    values = {"bonus_sign_up": "150", "bonus_birthday": "200", "bonus_first_order": "0",
              "bonus_review": "50", "bonus_nps_answer": "20", "referrer_points": "500",
              "referee_points": "250", "referral_min_order_amount": "0",
              "max_referrals_per_referrer": ""}
    assert _post(marketer, "/loyalty/bonuses", values).status_code == 303
    overview = marketer.get("/loyalty").text
    assert "sign-up bonus: 100 points → 150 points" in overview
    assert "referrals per member: 20 → no limit" in overview
    r = _post(marketer, "/loyalty/bonuses", {**values, "bonus_review": "-1"})
    assert r.status_code == 422 and "must be at least 0" in r.text


def test_a_missing_record_is_the_404_page(browser):
    marketer = browser("marketer")
    for url in ("/loyalty/rewards/nope", "/loyalty/tiers/nope", "/loyalty/offers/nope"):
        r = marketer.get(url)
        assert r.status_code == 404 and "Page not found" in r.text
    token = csrf_token(marketer.get("/loyalty").text)
    r = marketer.post("/loyalty/rewards/nope", data={"base_version": "1", "name": "x",
                                                    "csrf_token": token})
    assert r.status_code == 404


def test_a_form_without_its_token_is_refused(browser):
    marketer = browser("marketer")
    r = marketer.post("/loyalty/rewards/new", data={"name": "x", "base_version": "1"})
    assert r.status_code == 403 and "The form has expired" in r.text


def test_names_and_notes_are_text(browser, web, keys):
    owner = browser("owner")  # named EVIL_NAME: the author of the version
    r = _post(owner, "/loyalty/rewards/new", {"name": EVIL_NAME, "kind": "gift",
                                              "points": "10",
                                              "note": '<img src=x onerror="alert(1)">'})
    assert r.status_code == 303
    for url in ("/loyalty", "/loyalty/rewards"):
        text = owner.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text
    assert EVIL_NAME in {v["name"] for v in _api_rewards(web, keys["readonly"]).values()}
