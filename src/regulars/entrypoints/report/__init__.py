"""A self-contained HTML report of the portfolio: one file that opens anywhere, offline.

No script, no web font, no stylesheet or image is fetched: the CSS is inlined and every chart
is an inline SVG drawn in Python, each with a table of its numbers beside it. The markup comes
from Jinja2 templates (``templates/``) with autoescape on, so every piece of data is
HTML-escaped; every sentence goes through :func:`regulars.i18n._` or ``ngettext`` (as this
package's ``_`` and ``ngettext``, which the tests swap), every number, amount, share and day
through :mod:`.format`. A page is written in one language: :func:`render_report` takes
``lang`` (None: the current language) and renders everything inside
:func:`regulars.i18n.use_language`, so the ``<html lang>``, the sentences, the names of rungs
and signals and the number formats agree; amounts are in the ``currency`` given.

    html = render_report(portfolio, at_risk_rows, title="Café Aroma", as_of=as_of,
                         lang="ru", currency="EUR")
    Path("report.html").write_text(html, encoding="utf-8")

Where things live: :mod:`.sections` (key figures, ladder, statuses, flow, concentration,
cohorts), :mod:`.customers` (at risk, win back), :mod:`.notes` (predictions, not evaluated,
definitions), :mod:`.headlines`, :mod:`.models` (the models report), :mod:`.backtest`,
:mod:`.page`, :mod:`.format` (numbers and dates), :mod:`.html` (the templates),
:mod:`.charts` (SVG); the names of rungs, statuses and signals are
:mod:`regulars.entrypoints.labels`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from regulars.analytics.portfolio import Portfolio
from regulars.entrypoints.report import sections
from regulars.entrypoints.report.customers import customers_section
from regulars.entrypoints.report.format import day
from regulars.entrypoints.report.headlines import headline_sentences
from regulars.entrypoints.report.models import render_models_report
from regulars.entrypoints.report.notes import (
    glossary,
    not_evaluated_section,
    predictions_section,
)
from regulars.entrypoints.report.page import CONTENT_SECURITY_POLICY, page
from regulars.entrypoints.report.sections import (
    MOVEMENT_COLOURS,
    NEUTRAL,
    RUNG_COLOURS,
    STATUS_COLOURS,
)
from regulars.i18n import _ as _
from regulars.i18n import current_language, use_language
from regulars.i18n import ngettext as ngettext

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "MOVEMENT_COLOURS",
    "NEUTRAL",
    "RUNG_COLOURS",
    "STATUS_COLOURS",
    "headline_sentences",
    "ngettext",
    "render_models_report",
    "render_report",
]


# over 60 lines only for its numpy-style docstring (the public API's parameters)
def render_report(
    portfolio: Portfolio,
    at_risk_rows: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    as_of: date | datetime,
    sentences: Sequence[str] | None = None,
    lang: str | None = None,
    currency: str | None = None,
    max_at_risk: int = 50,
    predictions: Mapping[str, Any] | None = None,
    not_evaluated: Mapping[str, str] | None = None,
    win_back_rows: Sequence[Mapping[str, Any]] | None = None,
    customer_names: Mapping[str, str] | None = None,
) -> str:
    """Render the portfolio as one self-contained HTML page.

    Parameters
    ----------
    portfolio
        The result of :func:`regulars.analytics.portfolio.portfolio`.
    at_risk_rows
        One mapping per customer at risk with ``customer_id``, ``rung``, ``status``,
        ``revenue`` (or ``revenue_at_stake``, preferred for ranking when present), ``signals``
        (codes) and ``sentences`` (or ``evidence``): the evidence sentences, already
        translated. An optional ``name`` is shown above the id; optional ``manager``,
        ``phone`` and ``email`` get columns of their own when any customer listed has one.
    title
        The page title, e.g. the business's name; None: "Customer map" in the page's language.
    as_of
        The date the figures describe.
    sentences
        Headline sentences for the top of the page, already in the page's language; None
        builds them from the portfolio (:func:`headline_sentences`).
    lang
        The page's language (``"ru"``, ``"et"``, ``"en"``; a tag such as ``"ru-RU"`` will
        do): every word and format of the page and its ``<html lang>``. None: the current
        language (:func:`regulars.i18n.current_language`: an enclosing ``use_language``
        block, else ``--lang``/``REGULARS_LANG``).
    currency
        The ISO 4217 code amounts are written in (``Settings.currency`` or the data's); None
        writes amounts as plain numbers.
    max_at_risk
        At most this many customers at risk are listed.
    predictions
        The fitted models behind the prediction columns (``Fitted.describe()``), shown in a
        section of their own; None leaves the section out.
    win_back_rows
        Lost customers worth winning back, as ``at_risk_rows``, in a section of their own;
        None leaves the section out.
    customer_names
        Customer id -> name, for the customers the page names outside the lists (the largest
        customer); the names in ``at_risk_rows`` and ``win_back_rows`` are used too.
    not_evaluated
        What the analysis could not look at for lack of data (label code -> reason), shown
        in a section of its own.
    """
    p = portfolio
    names = {str(row["customer_id"]): str(row["name"])
             for row in [*at_risk_rows, *(win_back_rows or ())]
             if row.get("customer_id") is not None and row.get("name") is not None}
    names.update(customer_names or {})
    with use_language(lang or current_language()) as chosen:
        headlines = headline_sentences(p, names) if sentences is None else list(sentences)
        meta = _("As of {as_of} · period {start} – {end}").format(
            as_of=day(as_of), start=day(p.period.start), end=day(p.period.end)
        )
        parts = [
            sections.kpis(p, currency),
            sections.ladder(p, currency),
            sections.statuses(p, currency),
            sections.flow(p.flow),
            sections.concentration(p.concentration,
                                   float(p.params.get("pareto_customer_share", 0.2)), currency,
                                   names),
            sections.cohorts(p),
            customers_section(at_risk_rows, max_at_risk, currency=currency),
            *([customers_section(win_back_rows, max_at_risk, win_back=True, currency=currency)]
              if win_back_rows is not None else []),
            *([predictions_section(predictions)] if predictions is not None else []),
            *([not_evaluated_section(not_evaluated)] if not_evaluated else []),
            glossary(p),
        ]
        return page(_("Customer map") if title is None else title, meta, headlines, parts,
                    as_of, chosen)
