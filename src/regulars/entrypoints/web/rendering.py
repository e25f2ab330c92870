"""Pages from Jinja2 templates: :func:`page` renders one in the request's language.

The environment (:func:`environment`) loads ``templates/`` (package data) with autoescape on,
so every value a template writes is escaped (a customer called ``<script>`` reads as text);
only :class:`~markupsafe.Markup` (an SVG chart built on the server) passes as HTML. Text goes
through the i18n extension with :mod:`regulars.i18n`'s ``_`` and ``ngettext`` (old-style, as
the report: ``{{ _("{n} customers").format(n=count|number) }}``), which write in the request's
language (:class:`~regulars.entrypoints.http.language.RequestLanguage` set it). Numbers, money,
shares and days are written by filters (:data:`FILTERS`): ``number``, ``money``, ``percent``,
``signed``, ``date``, ``month``, ``days``, ``days_ago``.

Every template extends ``base.html`` and fills ``{% block title %}`` and
``{% block content %}``; :func:`page` gives it ``request``, ``user``, ``lang``, ``nav``,
``flashes``, ``csrf_token`` and ``csrf_field()``. An htmx request that is not a boosted
navigation nor a history restore (:func:`is_fragment`) gets only the ``main`` block: a page
serves its own partial updates (``hx-get`` the same URL, ``hx-select`` or ``hx-target`` the
part). Boosted links and history restores get the whole page, as htmx needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from regulars import __version__, i18n
from regulars.entrypoints.http.language import language_of
from regulars.entrypoints.report.format import signed
from regulars.entrypoints.web import csrf, nav
from regulars.entrypoints.web.sessions import take_flashes
from regulars.services.users import ROLE_LABELS, Role

STATIC = Path(__file__).parent / "static"
#: The layout every page extends (its ``main`` block is what a fragment request gets).
LAYOUT = "base.html"

#: The languages the switcher offers, each in its own language (never translated).
LANGUAGE_NAMES = {"ru": "Русский", "et": "Eesti", "en": "English"}

FILTERS = {
    "number": i18n.fmt_number,
    "money": i18n.fmt_money,
    "percent": i18n.fmt_percent,
    "signed": signed,
    "date": i18n.fmt_date,
    "month": i18n.fmt_month,
    "days": i18n.fmt_days,
    "days_ago": i18n.fmt_days_ago,
}


def _translate(message: str) -> str:
    return i18n._(message)


def _translate_plural(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n)


@cache
def environment() -> Environment:
    """The web pages' Jinja2 environment (one per process)."""
    env = Environment(
        loader=PackageLoader("regulars.entrypoints.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _translate, _translate_plural, newstyle=False)
    env.filters.update(FILTERS)
    env.globals.update(
        version=__version__,
        static=static_url,
        language_names=LANGUAGE_NAMES,
        role_label=lambda role: i18n._(ROLE_LABELS[Role(role)]),
        csrf_field_name=csrf.FIELD,
        csrf_header=csrf.HEADER,
    )
    return env


def static_url(path: str) -> str:
    """A static file's URL, with the version so a new release is not served from cache."""
    return f"/static/{path}?v={__version__}"


def is_fragment(request: Request) -> bool:
    """Whether htmx asked for a part of the page (not a boosted navigation or a history
    restore, which need the whole page)."""
    h = request.headers
    return (h.get("HX-Request") == "true" and h.get("HX-Boosted") != "true"
            and h.get("HX-History-Restore-Request") != "true")


def context(request: Request, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What every template sees, and ``extra``."""
    user = getattr(request.state, "user", None)
    token = csrf.token(request)
    return {
        "request": request,
        "user": user,
        "lang": language_of(request),
        "nav": nav.for_role(user.role) if user is not None else [],
        "flashes": take_flashes(request),
        "csrf_token": token,
        "csrf_field": lambda: Markup(
            '<input type="hidden" name="{}" value="{}">').format(csrf.FIELD, token),
        "path": request.url.path,
        **(extra or {}),
    }


def render(request: Request, template: str, extra: Mapping[str, Any] | None = None, *,
           block: str | None = None) -> str:
    """``template`` (or one ``block`` of it) as HTML text."""
    tpl = environment().get_template(template)
    ctx = context(request, extra)
    if block is None:
        return tpl.render(ctx)
    # the block as the page would render it: the template's own, else the layout's (whose
    # inner blocks, such as ``content``, are the template's through the context)
    state = tpl.new_context(ctx)
    for owner in (tpl, environment().get_template(LAYOUT)):
        if block in owner.blocks:
            return "".join(owner.blocks[block](state))
    raise KeyError(f"no block {block!r} in {template} or {LAYOUT}")


def page(request: Request, template: str, extra: Mapping[str, Any] | None = None, *,
         status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page ``template`` (only its ``main`` block for an htmx fragment request)."""
    block = "main" if is_fragment(request) else None
    response = HTMLResponse(render(request, template, extra, block=block),
                            status_code=status, headers=dict(headers or {}))
    if request.headers.get("HX-Boosted") == "true":
        # the address of the page shown: after a redirect (a form's 303) htmx would push the
        # form's action instead (/sign-out for the sign-in page)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response.headers.setdefault("HX-Push-Url", target)
    # pages differ by user and language: never cached by a proxy
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "HX-Request")
    return response
