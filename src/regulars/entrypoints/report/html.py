"""The report's HTML comes from Jinja2 templates (``templates/``, package data) with
autoescape on: data is escaped by the template, and only what is already HTML (a chart's
SVG, a section built from templates) is passed as :class:`~markupsafe.Markup`.

The building blocks (:func:`section`, :func:`table`, :func:`pair`, :func:`badge`) are macros
of ``blocks.html``, called from Python by the sections that compose them; whole pages and the
larger sections are templates of their own (:func:`render`).

Text goes through :func:`translate` and :func:`translate_plural`, the package's ``_`` and
``ngettext`` looked up at call time (the tests swap them to see every sentence pass). Both are
:mod:`regulars.i18n`'s, which write in the current language: the report sets it for the whole
page with :func:`regulars.i18n.use_language`, and the templates get the same two callables, so
a template translates in the page's language too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

__all__ = [
    "Markup",
    "badge",
    "empty",
    "figure",
    "macros",
    "pair",
    "render",
    "section",
    "table",
    "translate",
    "translate_plural",
]

Cell = str | Markup
"""A cell of a table: text (escaped by the template) or HTML already built."""


def translate(message: str) -> str:
    """``message`` in the report's language, through ``regulars.entrypoints.report._``."""
    import regulars.entrypoints.report as package  # late: the package's _ is the seam

    return package._(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the report's language, through
    ``regulars.entrypoints.report.ngettext``."""
    import regulars.entrypoints.report as package

    return package.ngettext(singular, plural, n)


def _escaped(value: object) -> object:
    """Every value a template writes, escaped as :func:`html.escape` does (``&quot;``,
    ``&#x27;``) rather than MarkupSafe's numeric entities, so the page reads as it always
    did; HTML already built passes through."""
    if hasattr(value, "__html__"):
        return value
    return Markup(escape(str(value), quote=True))


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the report: package templates, autoescape on."""
    env = Environment(
        loader=PackageLoader("regulars.entrypoints.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=_escaped,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # old-style gettext (the templates call .format() on it): a translation is text and gets
    # escaped like any other text
    env.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=False)
    return env


def render(template: str, **context: Any) -> Markup:
    """The template ``template`` (a file in ``templates/``) rendered with ``context``."""
    return Markup(environment().get_template(template).render(**context))


def macros(template: str) -> Any:
    """The macros of ``template``, to call from Python; each returns Markup."""
    return environment().get_template(template).module


def _blocks() -> Any:
    return macros("blocks.html")


def table(caption: str, header: Sequence[Cell], rows: Iterable[Sequence[Cell]], *,
          numeric_from: int = 1) -> Markup:
    """A table; the first cell of a row is its header, columns from ``numeric_from`` on are
    right-aligned."""
    return Markup(_blocks().table(caption, list(header), [list(r) for r in rows],
                                  numeric_from))


def section(section_id: str, heading: str, lead: str, body: Markup) -> Markup:
    """A titled section of the page, with an optional lead sentence."""
    return Markup(_blocks().section(section_id, heading, lead, body))


def pair(chart: Markup | str, beside: Markup) -> Markup:
    """A chart and the table of its numbers side by side."""
    return Markup(_blocks().pair(Markup(chart), beside))


def badge(ok: bool, yes: str, no: str, *, bad: str = "bad") -> Markup:
    """A coloured word: ``yes`` when ``ok``, else ``no`` in the ``bad`` colour."""
    return Markup(_blocks().badge(ok, yes, no, bad))


def figure(chart: str) -> Markup:
    """A chart on its own line."""
    return Markup(_blocks().figure(Markup(chart)))


def empty(text: str) -> Markup:
    """A sentence saying there is nothing to show."""
    return Markup(_blocks().empty(text))
