"""One-click unsubscribe (issue 20, RFC 8058): the links in playbooks' messages.

``GET /unsubscribe/{token}`` shows a small confirmation page with one button (a link
prefetcher or a mail scanner that opens the link must not unsubscribe anyone); ``POST`` to the
same address — the button, or a mail client's one-click ``List-Unsubscribe=One-Click`` —
unsubscribes (:class:`regulars.services.playbooks.unsubscribe.Unsubscriber`). No API key: the
signed token is the credential. The page is in the language of the link's ``lang`` (the
customer's, written by the sender), else the browser's.

A token that is not valid is a 404 that says only that the link is not valid — nothing of
whether it was forged, mangled or names a customer since erased.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from regulars import bootstrap
from regulars.domain.contact_policy import CHANNELS
from regulars.domain.tasks import CHANNEL_NAMES
from regulars.i18n import _, current_language, use_language
from regulars.services.playbooks.unsubscribe import BadTokenError, Unsubscriber

router = APIRouter(tags=["unsubscribe"])


def _unsubscriber(request: Request) -> Unsubscriber:
    state = request.app.state
    found = getattr(state, "unsubscriber", None)
    if found is None:
        found = bootstrap.unsubscriber(state.settings, state.services.store)
        state.unsubscriber = found
    return found


def _page(title: str, body: str, *, status: int = 200, form: str | None = None) -> HTMLResponse:
    button = "" if form is None else (
        f'<form method="post" action="{escape(form)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{escape(_("Unsubscribe"))}</button></form>')
    lang = current_language()
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(title)}</title></head><body><main>"
            f"<h1>{escape(title)}</h1><p>{escape(body)}</p>{button}</main></body></html>")
    return HTMLResponse(html, status_code=status, headers={
        "Content-Language": lang, "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer"})


def _channel(code: str) -> str:
    return _(CHANNEL_NAMES[code]) if code in CHANNEL_NAMES else code


def _relative(request: Request) -> str:
    """The page's own address without scheme and host: behind a proxy the server's idea of
    them is not the customer's."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _invalid() -> HTMLResponse:
    return _page(_("This link is not valid"),
                 _("The unsubscribe link is not valid. Please use the link from the latest "
                   "message."), status=404)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def confirm_page(request: Request, token: str,
                 lang: str | None = Query(default=None, max_length=16)) -> Response:
    with use_language(lang):
        try:
            found = _unsubscriber(request).read(token)
        except BadTokenError:
            return _invalid()
        return _page(_("Unsubscribe"),
                     _("Stop receiving our messages by {channel}?").format(
                         channel=_channel(found.channel)), form=_relative(request))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe(request: Request, token: str,
                lang: str | None = Query(default=None, max_length=16)) -> Response:
    with use_language(lang):
        try:
            done = _unsubscriber(request).confirm(token)
        except BadTokenError:
            return _invalid()
        assert done.channel in CHANNELS
        return _page(_("You are unsubscribed"),
                     _("You will not receive our messages by {channel} any more.").format(
                         channel=_channel(done.channel)))
