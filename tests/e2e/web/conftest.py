"""The browser harness of the web pages: a real server, Debian's Chromium, and the checks
every page must pass.

- ``web_server`` (module): the API and the pages under uvicorn in a thread, on a SQLite
  store of its own with one user per role (:mod:`tests.support.web`; login = role, the
  password :data:`~tests.support.web.PASSWORD`) and a small customer map.
- ``chromium`` (session): Debian's ``/usr/bin/chromium`` driven by Playwright
  (``executable_path``; never a downloaded browser); the tests skip without it.
- ``web`` (function): a :class:`WebPage` in a fresh browser context (no cookies), whose
  route handler aborts and FAILS the test on any request to another host, and whose console
  collector fails it on any console error or uncaught page error (:meth:`WebPage.allow` lets
  a test expect one, e.g. the 403 of a refused page). ``web(lang=…, width=…,
  scripts=False)`` opens more pages.

A page test signs in (:meth:`WebPage.sign_in`), goes somewhere (:meth:`WebPage.goto`),
checks what it must, calls :meth:`WebPage.assert_translated` on a ru or et page (no English
source string of the web pages shows untranslated; what people typed, marked
``data-user-text`` in the templates, is not the pages' words and is left out) and
:meth:`WebPage.shoot` (a screenshot in ``tests/artifacts/web/``, git-ignored, per page and
language).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ...support.web import PASSWORD, add_people, seed_map

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
LOCALE = ROOT / "src" / "regulars" / "locale"
# where the web pages' own words come from (the catalogue's locations)
OWN_SOURCES = ("src/regulars/entrypoints/web/", "src/regulars/services/users.py")


@contextmanager
def serving_store(folder: Path, *seeds: Callable[[Any], object]) -> Iterator[str]:
    """The harness's server on a new SQLite store in ``folder``: one user per role, the small
    map, then each of ``seeds`` given the services (e.g.
    :func:`tests.support.till.seed_members`); yields the server's address. A test module
    that needs more in its store overrides ``web_server`` with it."""
    from regulars import bootstrap
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    settings = bootstrap.load_settings(database_url=f"sqlite:///{folder / 'store.db'}",
                                       api={"live_map": False})
    services = bootstrap.open_api(settings)
    users = bootstrap.open_users(settings, services=services,
                                 hasher=bootstrap.password_hasher(cheap=True))
    add_people(users)
    seed_map(services)
    for seed in seeds:
        seed(services)
    app = create_app(settings, services=services, rebuild_on_start=False, background=False,
                     users=users)
    try:
        with serving(app) as url:
            yield url
    finally:
        services.stop()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_store(tmp_path_factory.mktemp("web")) as url:
        yield url


# Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running in
# the thread that started it, so while it lives every later test of the same xdist worker
# that calls asyncio.run() fails ("cannot be called from a running event loop"). ("package"
# would do no better here: these folders are not packages, so it would last the session.)
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@cache
def own_strings() -> tuple[tuple[str, dict[str, str]], ...]:
    """The web pages' English source strings (msgids whose catalogue locations are the
    pages'), each with its translations: ``((msgid, {lang: translation}), …)``."""
    from babel.messages.pofile import read_po

    catalogues = {}
    for lang in ("ru", "et"):
        with (LOCALE / lang / "LC_MESSAGES" / "regulars.po").open("rb") as f:
            catalogues[lang] = read_po(f)
    out = []
    for message in catalogues["ru"]:
        if not message.id or isinstance(message.id, tuple | list):
            continue
        if not any(str(loc).startswith(OWN_SOURCES) for loc, _line in message.locations):
            continue
        out.append((message.id, {lang: str(c[message.id].string or "")
                                 for lang, c in catalogues.items() if c.get(message.id)}))
    return tuple(out)


def _fragments(msgid: str) -> list[str]:
    """The literal parts of a message, without its placeholders (``{n}``)."""
    parts = re.split(r"\{[^}]*\}", msgid)
    return [p.strip(" .,:;()«»\"'") for p in parts if re.search(r"[A-Za-z]{3}", p)]


def untranslated(text: str, lang: str) -> list[str]:
    """The web pages' English source strings that ``text`` (a page's visible text in
    ``lang``) shows as they are, where the translation says something else."""
    found = []
    for msgid, translations in own_strings():
        translation = translations.get(lang, "")
        for part in _fragments(msgid):
            if part and part not in translation and re.search(
                    rf"(?<![\w-]){re.escape(part)}(?![\w-])", text):
                found.append(part)
    return sorted(set(found))


#: the body's visible text, with the elements marked ``data-user-text`` hidden while it is read
#: (in one script run: nothing is drawn in between)
USER_TEXT_LEFT_OUT = """() => {
  const marked = [...document.querySelectorAll('[data-user-text]')];
  const before = marked.map(e => e.style.getPropertyValue('display'));
  marked.forEach(e => e.style.setProperty('display', 'none', 'important'));
  try {
    return document.body.innerText;
  } finally {
    marked.forEach((e, i) => e.style.setProperty('display', before[i]));
  }
}"""


class WebPage:
    """A browser tab on the server, with the harness's checks."""

    def __init__(self, context: Any, base: str, lang: str) -> None:
        self.context = context
        self.base = base
        self.lang = lang
        self.page = context.new_page()
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        host = urlsplit(base).netloc

        def route(r: Any) -> None:
            url = r.request.url
            if urlsplit(url).netloc != host:
                self.foreign.append(url)
                r.abort()
            else:
                r.continue_()

        context.route("**/*", route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def allow(self, pattern: str) -> None:
        """Expect console errors matching ``pattern`` (e.g. ``status of 403``)."""
        self.allowed.append(re.compile(pattern))

    def url(self, path: str) -> str:
        return self.base + path

    def goto(self, path: str) -> Any:
        return self.page.goto(self.url(path), wait_until="load")

    def sign_in(self, login: str, password: str = PASSWORD) -> None:
        self.goto("/sign-in")
        self.page.locator("#login").fill(login)
        self.page.locator("#password").fill(password)
        self.page.locator("#password").press("Enter")
        self.page.wait_for_function("() => !location.pathname.startsWith('/sign-in')")
        self.page.wait_for_load_state("load")

    def text(self) -> str:
        """The visible text of the page (what a reader sees)."""
        return str(self.page.locator("body").inner_text())

    def pages_words(self) -> str:
        """The visible text of the page without what people typed: the elements marked
        ``data-user-text`` in the templates (a user's name or login, a tier's perks) are data,
        whatever language they are in, and are left out (hidden while the text is read)."""
        return str(self.page.evaluate(USER_TEXT_LEFT_OUT))

    def assert_translated(self) -> None:
        if self.lang == "en":
            return
        left = untranslated(self.pages_words(), self.lang)
        assert left == [], f"English left on a {self.lang} page {self.page.url}: {left}"

    def shoot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}-{self.lang}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def overflow(self) -> int:
        """How many pixels the page is wider than the window (0: nothing scrolls sideways)."""
        return int(self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"))

    def check(self) -> None:
        assert self.foreign == [], f"requests to another host: {self.foreign}"
        errors = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        assert errors == [], f"console errors: {errors}"


OpenPage = Callable[..., WebPage]


@pytest.fixture
def web(chromium: Any, web_server: str) -> Iterator[OpenPage]:
    """``web(lang="en", width=1280, scripts=True)``: a new tab in a fresh context (no
    cookies; the browser's language ``lang``); every tab is checked when the test ends."""
    opened: list[WebPage] = []

    def open_page(lang: str = "en", width: int = 1280, scripts: bool = True) -> WebPage:
        context = chromium.new_context(
            locale={"ru": "ru-RU", "et": "et-EE", "en": "en-US"}[lang],
            viewport={"width": width, "height": 900}, java_script_enabled=scripts)
        page = WebPage(context, web_server, lang)
        opened.append(page)
        return page

    yield open_page
    try:
        for page in opened:
            page.check()
    finally:
        for page in opened:
            page.context.close()
