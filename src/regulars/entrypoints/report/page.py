"""One self-contained HTML page around the report's sections: inline CSS, no script, and a
Content-Security-Policy that forbids the page itself to fetch anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from regulars.entrypoints.report.format import day
from regulars.entrypoints.report.html import Markup, render
from regulars.entrypoints.report.style import CSS

__all__ = ["CONTENT_SECURITY_POLICY", "page"]

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page(title: str, meta: str, headlines: Sequence[str], sections: Sequence[Markup],
         as_of: date | datetime, lang: str) -> str:
    """The page: a header with ``title``, ``meta`` and the ``headlines``, then ``sections``."""
    return str(render(
        "page.html",
        lang=lang,
        csp=Markup(CONTENT_SECURITY_POLICY),
        css=Markup(CSS),
        title=title,
        meta=meta,
        headlines=list(headlines),
        sections=sections,
        as_of=day(as_of),
    ))
