"""The language of each request: every word of its answer (problem titles and details, the
validation messages) is written in it, and no other request sees it.

The language is chosen once per request, by :func:`choose_language`: the caller's own setting
when there is one (a seam for later: :data:`USER_LANGUAGE_KEY` in the ASGI scope, which an
authentication step may set before this middleware runs, or a ``user_language`` callable given
to :class:`RequestLanguage`), else the best of ``Accept-Language``, else the server's
(``REGULARS_LANG``, then ``LANG``, then English). The choice is held in
:func:`regulars.i18n.use_language`'s context variable for the request's task (and the thread a
plain route runs in, which copies it), kept in ``scope["state"]`` for the handlers that run
outside the block, and answered as ``Content-Language``. Field names, problem ``type`` URIs,
codes and every data field stay the same in every language.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regulars.i18n import current_language, language_from_accept, normalise_language, use_language

#: Where a step before this one (a user's session, later) may put the caller's own language.
USER_LANGUAGE_KEY = "regulars.user_language"
#: Where the chosen language is kept for the request (``request.state.language``).
STATE_KEY = "language"

UserLanguage = Callable[[Scope], "str | None"]


def choose_language(scope: Scope, user_language: UserLanguage | None = None) -> str:
    """The request's language: the user's setting, else ``Accept-Language``, else the server's."""
    chosen = normalise_language(scope.get(USER_LANGUAGE_KEY))
    if chosen is None and user_language is not None:
        chosen = normalise_language(user_language(scope))
    if chosen is None:
        chosen = language_from_accept(HTTPConnection(scope).headers.get("accept-language"))
    if chosen is None:
        chosen = current_language()  # the server's: REGULARS_LANG, LANG, English
    return chosen


def language_of(connection: HTTPConnection) -> str:
    """The language chosen for ``connection`` (the server's when the middleware did not run)."""
    state = connection.scope.get("state") or {}
    lang = state.get(STATE_KEY) if isinstance(state, dict) else None
    return lang if isinstance(lang, str) else current_language()


class RequestLanguage:
    """Runs each HTTP request in its language and answers ``Content-Language`` (pure ASGI: the
    context variable is set in the request's own task, so concurrent requests never mix)."""

    def __init__(self, app: ASGIApp, user_language: UserLanguage | None = None) -> None:
        self.app = app
        self.user_language = user_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang = choose_language(scope, self.user_language)
        scope.setdefault("state", {})[STATE_KEY] = lang

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_language(
                    list(message.get("headers") or []), lang)}
            await send(message)

        with use_language(lang):
            await self.app(scope, receive, send_with_language)


def _with_language(headers: list[tuple[bytes, bytes]], lang: str) -> list[tuple[bytes, bytes]]:
    """``Content-Language`` (unless the answer names one) and ``Vary: Accept-Language``."""
    out: list[tuple[bytes, bytes]] = []
    named = varied = False
    for name, value in headers:
        low = name.lower()
        if low == b"content-language":
            named = True
        elif low == b"vary":
            varied = True
            if b"accept-language" not in value.lower() and value.strip() != b"*":
                out.append((name, value + b", Accept-Language"))
                continue
        out.append((name, value))
    if not named:
        out.append((b"content-language", lang.encode()))
    if not varied:
        out.append((b"vary", b"Accept-Language"))
    return out
