"""Every page and form refuses what it must: no session → the sign-in page (303), the wrong
role → the 403 page; the matrix lists every route of the web app, so a page added without
its roles fails here."""

from __future__ import annotations

import pytest

from ...support.web import WEB_ROLES, csrf_token

ALL = set(WEB_ROLES)
# (method, path, form, roles admitted); None: open to everyone, signed in or not
PAGES: list[tuple[str, str, dict[str, str] | None, set[str] | None]] = [
    ("GET", "/", None, ALL),
    ("GET", "/dashboard", None, {"owner"}),
    ("GET", "/welcome", None, ALL),
    ("GET", "/sign-in", None, None),
    ("POST", "/sign-in", {"login": "nobody", "password": "x" * 12}, None),
    ("POST", "/sign-out", {}, None),
    ("POST", "/language", {"lang": "et"}, None),
    ("GET", "/customers", None, {"owner", "manager", "marketer"}),
    ("GET", "/customers/export.csv", None, {"owner", "manager", "marketer"}),
]


def test_the_matrix_covers_every_route_of_the_web_app(sqlite_url):
    from regulars import bootstrap
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.web.app import WebMount

    settings = bootstrap.load_settings(database_url=sqlite_url)
    app = create_app(settings, rebuild_on_start=False, background=False)
    mount = next(r for r in app.router.routes if isinstance(r, WebMount))
    # the web app publishes no schema, but builds one on demand: every route, as the API's
    routes = {(m.upper(), path) for path, ops in mount.app.openapi()["paths"].items()
              for m in ops}
    assert routes == {(m, p) for m, p, _f, _r in PAGES}
    app.state.services.store.close()


@pytest.mark.parametrize(("method", "path", "form", "admitted"),
                         [p for p in PAGES if p[3] is not None],
                         ids=[f"{m} {p}" for m, p, _f, a in PAGES if a is not None])
def test_a_page_admits_its_roles_and_refuses_the_others(browser, method, path, form,
                                                        admitted):
    anonymous = browser()
    r = anonymous.request(method, path, data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in")
    for role in WEB_ROLES:
        client = browser(role)
        data = None if form is None else {**form, "csrf_token": csrf_token(
            client.get("/welcome").text)}
        r = client.request(method, path, data=data, follow_redirects=False)
        if role in admitted:
            assert r.status_code in (200, 303), (role, r.status_code)
        else:
            assert r.status_code == 403, (role, r.status_code)
            assert "text/html" in r.headers["content-type"]
            assert "Not for your role" in r.text


def test_an_htmx_request_without_a_session_is_sent_to_sign_in_by_header(browser):
    r = browser().get("/dashboard", headers={"HX-Request": "true"})
    assert r.status_code == 204
    assert r.headers["HX-Redirect"] == "/sign-in?next=/dashboard"


def test_the_sign_in_page_comes_back_to_the_page_asked_for(browser):
    client = browser()
    r = client.get("/dashboard?x=1", follow_redirects=False)
    assert r.headers["location"] == "/sign-in?next=/dashboard%3Fx%3D1"
    page = client.get(r.headers["location"])
    assert 'name="next" value="/dashboard?x=1"' in page.text
    r = client.post("/sign-in", data={"login": "owner", "password": "correct horse battery",
                                      "next": "/dashboard?x=1",
                                      "csrf_token": csrf_token(page.text)})
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard?x=1")
