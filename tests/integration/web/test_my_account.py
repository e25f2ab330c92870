"""My account: who one is, one's language, and one's own change of password (the current one
required, the rules of ``users password``; the other sessions end, this one goes on)."""

from __future__ import annotations

import re

from ...support.web import PASSWORD, csrf_token, sign_in

NEW = "a new long password"


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else None


def test_the_page_says_who_one_is(browser):
    html = browser("manager").get("/account").text
    # the login and the role; the login and the names are what people typed (data-user-text)
    assert re.findall(r"<dd[^>]*>manager</dd>", html) == ["<dd data-user-text>manager</dd>",
                                                           "<dd>manager</dd>"]
    assert "<dd data-user-text>Anna K</dd>" in html  # the manager's name
    owner = browser("owner").get("/account").text
    assert "&lt;script&gt;" in owner and "<script>alert" not in owner
    assert "Manager&#39;s name" not in owner


def test_a_password_change_keeps_this_session_and_ends_the_others(browser):
    here, there = browser("manager"), browser("manager")
    token = csrf_token(here.get("/account").text)
    r = here.post("/account/password", data={"current": PASSWORD, "new": NEW, "repeat": NEW,
                                             "csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/account")
    page = here.get("/account")
    assert page.status_code == 200
    assert "Your password is changed. Your other sessions have ended." in page.text
    assert csrf_token(page.text) != token  # a fresh session
    assert there.get("/account", follow_redirects=False).status_code == 303  # ended
    fresh = browser()
    assert sign_in(fresh, "manager", PASSWORD).status_code == 401
    assert sign_in(fresh, "manager", NEW).status_code == 303


def test_bad_fields_are_shown_next_to_them_and_nothing_changes(browser):
    client = browser("cashier")
    token = csrf_token(client.get("/account").text)
    cases = [({"current": PASSWORD, "new": NEW, "repeat": NEW + "x"}, "repeat", "differ"),
             ({"current": "not my password", "new": NEW, "repeat": NEW}, "current",
              "not your current password"),
             ({"current": PASSWORD, "new": "short", "repeat": "short"}, "new",
              "at least 10 characters")]
    for form, field, words in cases:
        r = client.post("/account/password", data={**form, "csrf_token": token})
        assert r.status_code == 422
        assert words in (field_error(r.text, field) or ""), (field, r.text[-3000:])
    assert sign_in(browser(), "cashier", PASSWORD).status_code == 303


def test_wrong_current_passwords_count_as_failed_sign_ins(browser):
    client = browser("marketer")
    token = csrf_token(client.get("/account").text)
    for _n in range(5):
        client.post("/account/password", data={"current": "guess " * 3, "new": NEW,
                                                "repeat": NEW, "csrf_token": token})
    r = client.post("/account/password", data={"current": PASSWORD, "new": NEW, "repeat": NEW,
                                                "csrf_token": token})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


def test_the_language_is_kept_with_the_user(browser, users):
    client = browser("manager")
    token = csrf_token(client.get("/account").text)
    r = client.post("/language", data={"lang": "et", "next": "/account", "csrf_token": token},
                    follow_redirects=False)
    assert r.headers["location"] == "/account"
    assert users.get("manager").language == "et"
    page = client.get("/account").text
    assert '<html lang="et">' in page
    assert '<option value="et" lang="et" selected>' in page.split('id="account-language"')[1]
