"""Every page and form refuses what it must: no session → the sign-in page (303), the wrong
role → the 403 page; the matrix lists every route of the web app, so a page added without
its roles fails here."""

from __future__ import annotations

import re

import pytest

from ...support.web import PASSWORD, WEB_ROLES, csrf_token, seed_map

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
    # the customer card (C001: the manager's own customer in seed_map)
    ("GET", "/customers/{customer_id}", None, {"owner", "manager", "marketer"}),
    ("POST", "/customers/{customer_id}/tasks", {"action": "call"}, {"owner", "manager"}),
    ("POST", "/customers/{customer_id}/calls", {"outcome": "reached"}, {"owner", "manager"}),
    ("POST", "/customers/{customer_id}/tags", {"tag": "x"}, {"owner", "manager"}),
    ("POST", "/customers/{customer_id}/tags/remove", {"tag": "x"}, {"owner", "manager"}),
    ("POST", "/customers/{customer_id}/consent", {"consent_email": "yes"},
     {"owner", "manager"}),
    ("GET", "/worklist", None, {"manager", "owner"}),
    # a path with an id: asked for a record that is not there (the 404 page, once admitted)
    ("POST", "/worklist/tasks/{task_id}/done", {"outcome": "reached"}, {"manager", "owner"}),
    ("POST", "/worklist/tasks/{task_id}/snooze", {"when": "tomorrow"}, {"manager", "owner"}),
    ("GET", "/account", None, ALL),
    ("POST", "/account/password", {"current": PASSWORD, "new": "another long password",
                                   "repeat": "another long password"}, ALL),
    # the loyalty admin (a form sent again by the next role changes nothing: 303 both times)
    ("GET", "/loyalty", None, {"owner", "marketer"}),
    ("GET", "/loyalty/rewards", None, {"owner", "marketer"}),
    ("GET", "/loyalty/rewards/new", None, {"owner", "marketer"}),
    ("POST", "/loyalty/rewards/new", {"name": "Matrix gift", "kind": "gift", "points": "10",
                                      "base_version": "1"}, {"owner", "marketer"}),
    ("GET", "/loyalty/rewards/{code}", None, {"owner", "marketer"}),
    ("POST", "/loyalty/rewards/{code}", {"name": "5 off your next order", "points": "500",
                                         "kind": "discount_coupon", "value": "5",
                                         "active": "on", "base_version": "1"},
     {"owner", "marketer"}),
    ("GET", "/loyalty/tiers", None, {"owner", "marketer"}),
    ("GET", "/loyalty/tiers/new", None, {"owner", "marketer"}),
    ("POST", "/loyalty/tiers/new", {"name": "bronze", "threshold": "100",
                                    "base_version": "1"}, {"owner", "marketer"}),
    ("GET", "/loyalty/tiers/{name}", None, {"owner", "marketer"}),
    ("POST", "/loyalty/tiers/{name}", {"threshold": "2000", "multiplier": "1.5",
                                       "discount_percent": "10", "perks": "free delivery",
                                       "base_version": "1"}, {"owner", "marketer"}),
    ("GET", "/loyalty/offers", None, {"owner", "marketer"}),
    ("GET", "/loyalty/offers/new", None, {"owner", "marketer"}),
    ("POST", "/loyalty/offers/new", {"name": "matrix", "kind": "tenure",
                                     "reward": "discount-5", "base_version": "1"},
     {"owner", "marketer"}),
    ("GET", "/loyalty/offers/{name}", None, {"owner", "marketer"}),
    ("POST", "/loyalty/offers/{name}", {"kind": "tenure", "reward": "discount-5",
                                        "active": "on", "base_version": "1"},
     {"owner", "marketer"}),
    ("GET", "/loyalty/bonuses", None, {"owner", "marketer"}),
    ("POST", "/loyalty/bonuses", {"bonus_sign_up": "100", "bonus_birthday": "200",
                                  "bonus_first_order": "0", "bonus_review": "50",
                                  "bonus_nps_answer": "20", "referrer_points": "500",
                                  "referee_points": "250", "referral_min_order_amount": "0",
                                  "max_referrals_per_referrer": "20", "base_version": "1"},
     {"owner", "marketer"}),
    # the import page: no upload is called "{token}", so the owner is sent back to /import;
    # a POST /import without a file is the upload page again with its message (422)
    ("GET", "/import", None, {"owner"}),
    ("POST", "/import", {}, {"owner"}),
    ("GET", "/import/{token}", None, {"owner"}),
    ("POST", "/import/{token}", {}, {"owner"}),
    ("POST", "/import/{token}/confirm", {}, {"owner"}),
    ("GET", "/import/{token}/done", None, {"owner"}),
    ("POST", "/import/{token}/profile", {"name": "x"}, {"owner"}),
    ("POST", "/import/{token}/rebuild", {}, {"owner"}),
    ("GET", "/import/{token}/problems.csv", None, {"owner"}),
    ("GET", "/till", None, {"cashier", "owner"}),
    ("GET", "/till/members/{member_id}", None, {"cashier", "owner"}),
    ("POST", "/till/accrue", {"member_id": "NOBODY", "key": "abcdefgh12", "amount": "10"},
     {"cashier", "owner"}),
    ("POST", "/till/redeem", {"member_id": "NOBODY", "key": "abcdefgh12",
                              "reward": "discount-5"}, {"cashier", "owner"}),
    ("POST", "/till/coupon", {"member_id": "NOBODY", "key": "abcdefgh12", "code": "NOPE"},
     {"cashier", "owner"}),
    ("POST", "/till/card", {"member_id": "NOBODY", "card": "12345"}, {"cashier", "owner"}),
    ("POST", "/till/enrol", {"key": "abcdefgh12", "name": "Matrix", "phone": "+372 5550 0000",
                             "consent": "yes"}, {"cashier", "owner"}),
    ("GET", "/customers", None, {"owner", "manager", "marketer"}),
    ("GET", "/customers/export.csv", None, {"owner", "manager", "marketer"}),
    # the maturity self-assessment: the owner's alone
    ("GET", "/maturity", None, {"owner"}),
    ("GET", "/maturity/{assessment_id}", None, {"owner"}),
    ("GET", "/maturity/questions", None, {"owner"}),
    ("GET", "/maturity/questions/{parameter}", None, {"owner"}),
    ("POST", "/maturity/questions/{parameter}", {"level": "3"}, {"owner"}),
    ("POST", "/maturity/restart", {}, {"owner"}),
    # the goals (a target that is not a number: the form again, 422, nothing measured)
    ("GET", "/goals", None, {"owner"}),
    ("POST", "/goals", {"metric": "rotation", "target": "many", "due_on": "2099-01-01"},
     {"owner"}),
    ("POST", "/goals/track", {}, {"owner"}),
    ("POST", "/goals/{goal_id}/retire", {}, {"owner"}),
]
# what an admitted role may get besides 200 and 303: a page about a record not there
ADMITTED_STATUS: dict[tuple[str, str], set[int]] = {
    ("GET", "/till/members/{member_id}"): {404},
    ("POST", "/till/accrue"): {404},
    ("POST", "/till/redeem"): {404},
    ("POST", "/till/coupon"): {404},
    ("POST", "/till/card"): {404},
}
# what a path's {placeholders} are when it is requested (a route with one needs the seeded map)
SAMPLES = {"customer_id": "C001"}
# a route with a parameter is asked at this address (a record the test server has)
EXAMPLE_PATHS = {"/maturity/questions/{parameter}": "/maturity/questions/goal_setting",
                 "/loyalty/rewards/{code}": "/loyalty/rewards/discount-5",
                 "/loyalty/tiers/{name}": "/loyalty/tiers/gold",
                 "/loyalty/offers/{name}": "/loyalty/offers/matrix"}


@pytest.fixture(autouse=True)
def _an_offer(monkeypatch):
    """The programme has an offer, for the offer's page (EXAMPLE_PATHS)."""
    monkeypatch.setenv("REGULARS_LOYALTY__OFFERS",
                       '[{"name": "matrix", "kind": "tenure", "reward": "discount-5"}]')


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
def test_a_page_admits_its_roles_and_refuses_the_others(browser, services, method, path, form,
                                                        admitted):
    # a path with a fixed example, or placeholders: a sample is a real record of seed_map; any
    # other placeholder is asked for a record that is not there (the 404 page, once admitted)
    route = path
    expected = (200, 303)
    if path in EXAMPLE_PATHS:
        path = EXAMPLE_PATHS[path]
    elif "{" in path:
        names = re.findall(r"\{(\w+)\}", path)
        if any(name in SAMPLES for name in names):
            seed_map(services)  # only for a real record: a map costs seconds
        if any(name not in SAMPLES for name in names):
            expected = (200, 303, 404)
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLES.get(m.group(1), "no-such-record"), path)
    anonymous = browser()
    # a form with its token (of the sign-in page's session): refused for want of a user
    data = None if form is None else {**form, "csrf_token": csrf_token(
        anonymous.get("/sign-in").text)}
    r = anonymous.request(method, path, data=data, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in")
    for role in WEB_ROLES:
        client = browser(role)
        data = None if form is None else {**form, "csrf_token": csrf_token(
            client.get("/welcome").text)}
        r = client.request(method, path, data=data, follow_redirects=False)
        if role in admitted:
            # 422: admitted, and the (empty) form shown again with its message
            assert r.status_code in {*expected, 422} | ADMITTED_STATUS.get((method, route),
                                                                           set()), (
                role, r.status_code)
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


# each role's menu, in its order: the pages meant for the role; the start page only for a
# role that lands on it (the manager lands on the worklist, the cashier on the till)
MENUS = {
    "owner": ["/dashboard", "/goals", "/customers", "/till", "/worklist", "/loyalty", "/maturity",
              "/import",
              "/account"],
    "manager": ["/customers", "/worklist", "/account"],
    "marketer": ["/welcome", "/customers", "/loyalty", "/account"],
    "cashier": ["/till", "/account"],
}


@pytest.mark.parametrize("role", WEB_ROLES)
def test_the_menu_holds_the_roles_pages_each_of_which_admits_it(browser, role):
    client = browser(role)
    landing = client.get("/", follow_redirects=False).headers["location"]
    menu = re.search(r'<nav aria-label="Main menu">(.*?)</nav>', client.get("/account").text,
                     re.S)
    assert menu
    hrefs = re.findall(r'href="([^"]+)"', menu.group(1))
    assert hrefs == MENUS[role]
    assert landing in hrefs  # the first page of the role's day is in its menu
    admitted = {path for method, path, _f, roles in PAGES
                if method == "GET" and roles is not None and role in roles}
    assert set(hrefs) <= admitted
