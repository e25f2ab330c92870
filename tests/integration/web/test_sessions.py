"""Signing in and out, the session cookie, CSRF on every form, the user's language, and
names that are HTML shown as text."""

from __future__ import annotations

import re

import pytest

from ...support.web import EVIL_NAME, PASSWORD, csrf_token, seed_map, sign_in


def _cookie_header(response) -> str:
    return next(v for k, v in response.headers.multi_items() if k.lower() == "set-cookie")


def test_the_session_cookie_is_httponly_lax_and_secure_only_over_https(browser):
    r = browser().get("/sign-in")
    cookie = _cookie_header(r).lower()
    assert cookie.startswith("regulars_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    # behind a TLS proxy on this host (uvicorn trusts 127.0.0.1's X-Forwarded-Proto)
    r = browser().get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "; secure" in _cookie_header(r).lower()


def test_a_wrong_password_an_unknown_login_and_a_disabled_user_read_alike(browser, users):
    users.disable("cashier")
    answers = []
    for login, password in (("owner", "wrong password"), ("nobody", PASSWORD),
                            ("cashier", PASSWORD)):
        r = sign_in(browser(), login, password)
        assert r.status_code == 401
        # the page but for the login typed in and the session's tokens
        answers.append(re.sub(r'(value="|"X-CSRF-Token": ")[^"]*"', "", r.text))
    assert "Wrong login or password" in answers[0]
    assert answers[1] == answers[2]  # nothing tells an unknown login from a disabled one


def test_a_form_without_the_sessions_token_is_refused(browser):
    client = browser()
    client.get("/sign-in")  # a session with a token
    for token in (None, "forged"):
        data = {"login": "owner", "password": PASSWORD}
        if token:
            data["csrf_token"] = token
        r = client.post("/sign-in", data=data)
        assert r.status_code == 403
        assert "The form has expired" in r.text
    # another session's token is no good here either
    other = browser()
    r = client.post("/sign-in", data={"login": "owner", "password": PASSWORD,
                                      "csrf_token": csrf_token(other.get("/sign-in").text)})
    assert r.status_code == 403


def test_htmx_sends_the_token_as_a_header(browser):
    client = browser("owner")
    page = client.get("/welcome").text
    token = csrf_token(page)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    r = client.post("/language", data={"lang": "et", "next": "/welcome"},
                    headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 303
    assert client.post("/language", data={"lang": "ru"},
                       headers={"X-CSRF-Token": "forged"}).status_code == 403


def test_signing_in_renews_the_token(browser):
    client = browser()
    before = csrf_token(client.get("/sign-in").text)
    sign_in(client, "owner")
    assert csrf_token(client.get("/welcome").text) != before


def test_signing_out_ends_the_session(browser):
    client = browser("manager")
    token = csrf_token(client.get("/welcome").text)
    r = client.post("/sign-out", data={"csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/sign-in")
    assert "You have signed out." in client.get("/sign-in").text
    assert client.get("/welcome").status_code == 303


def test_a_password_change_or_disabling_ends_every_session_of_the_user(browser, users):
    phone, laptop = browser("manager"), browser("manager")
    users.set_password("manager", "another good password")
    assert phone.get("/welcome").status_code == 303
    assert laptop.get("/welcome").status_code == 303
    assert sign_in(phone, "manager", "another good password").status_code == 303
    users.disable("manager")
    assert phone.get("/welcome").status_code == 303


def test_a_session_cookie_signed_with_another_key_is_no_session(browser, web):
    import itsdangerous

    forged = itsdangerous.TimestampSigner("not the server's key").sign(
        b"eyJ1aWQiOiAiYSIsICJlcG9jaCI6IDF9").decode()
    client = browser(cookies={"regulars_session": forged})
    assert client.get("/dashboard").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_sends_the_browser_to_another_site(browser, target):
    client = browser()
    page = client.get("/sign-in", params={"next": target})
    r = client.post("/sign-in", data={"login": "owner", "password": PASSWORD, "next": target,
                                      "csrf_token": csrf_token(page.text)})
    assert (r.status_code, r.headers["location"]) == (303, "/")


def test_the_users_language_wins_over_the_browsers(browser, users):
    client = browser("marketer", headers={"Accept-Language": "ru"})
    assert client.get("/welcome").headers["content-language"] == "ru"
    token = csrf_token(client.get("/welcome").text)
    client.post("/language", data={"lang": "et", "next": "/welcome", "csrf_token": token})
    page = client.get("/welcome")
    assert page.headers["content-language"] == "et"
    assert '<html lang="et">' in page.text and "Tere tulemast" in page.text
    assert users.get("marketer").language == "et"
    # kept with the user: a new session on another device starts in it
    other = browser("marketer", headers={"Accept-Language": "ru"})
    assert other.get("/welcome").headers["content-language"] == "et"


def test_before_signing_in_the_browsers_language_and_the_switch_decide(browser):
    client = browser(headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    page = client.get("/sign-in")
    assert page.headers["content-language"] == "ru" and "Войти" in page.text
    client.post("/language", data={"lang": "et", "next": "/sign-in",
                                   "csrf_token": csrf_token(page.text)})
    assert "Logi sisse" in client.get("/sign-in").text


def test_the_owners_dashboard_shows_the_key_figures_in_russian(browser, services):
    seed_map(services)
    client = browser("owner", headers={"Accept-Language": "ru"})
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = page.text
    for word in ("Сводка", "Клиенты", "Постоянные клиенты", "Доля продаж постоянным клиентам",
                 "NPS"):
        assert word in text, word
    assert re.search(r"\d+,\d\u00a0%", text)  # a share, the Russian way: 33,3 %


def test_the_dashboard_without_a_map_says_so(browser):
    page = browser("owner").get("/dashboard")
    assert "There is no customer map yet" in page.text


def test_names_that_are_html_are_shown_as_text(browser):
    page = browser("owner").get("/welcome").text
    assert EVIL_NAME not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Boss&lt;/b&gt;" in page


def test_an_htmx_request_for_a_part_gets_only_the_main_block(browser):
    client = browser("owner")
    whole = client.get("/welcome")
    part = client.get("/welcome", headers={"HX-Request": "true"})
    boosted = client.get("/welcome", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in whole.text and "<html" in boosted.text
    assert "<html" not in part.text and "Welcome" in part.text


def test_the_api_keeps_its_problems_and_the_pages_their_error_pages(browser):
    client = browser()
    api = client.get("/v1/nothing")
    assert (api.status_code, api.headers["content-type"]) == (404, "application/problem+json")
    page = client.get("/nothing")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text


def test_the_api_docs_load_nothing_from_another_host(browser):
    client = browser()
    docs = client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)""", docs.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_the_request_processes_of_serve_get_the_secret_key_itself(tmp_path):
    """``serve --workers N`` hands its settings to each process as JSON, where a secret
    dumps as stars: every process must sign with the key itself."""
    from regulars import bootstrap
    from regulars.entrypoints.http.app import read_settings, write_settings

    key = "k" * 40
    settings = bootstrap.load_settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                                       web={"secret_key": key})
    write_settings(settings, tmp_path / "settings.json")
    again = read_settings(tmp_path / "settings.json")
    assert again.web.secret_key is not None
    assert again.web.secret_key.get_secret_value() == key


def test_a_short_secret_key_is_refused():
    from regulars import bootstrap
    from regulars.config import ConfigError

    with pytest.raises(ConfigError, match="at least 32 characters"):
        bootstrap.load_settings(web={"secret_key": "short"})
