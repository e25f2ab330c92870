"""Sessions in signed cookies, what a session holds, and flash messages.

The cookie is Starlette's :class:`~starlette.middleware.sessions.SessionMiddleware` (JSON,
signed with itsdangerous' ``TimestampSigner``; HttpOnly, SameSite=Lax), under the name
:data:`COOKIE`, signed with ``[web] secret_key`` or the key the server made for itself
(:meth:`regulars.services.users.Users.session_secret`). It is ``Secure`` when the request came
over https (uvicorn reads ``X-Forwarded-Proto`` from a proxy it trusts): :class:`Sessions`
holds one middleware of each kind and picks by the request's scheme, so the same server
behind a TLS proxy and on plain loopback (tests, a till on the shop's LAN) works on both.

A session holds only small, non-secret values (the cookie is signed, not encrypted):
:data:`USER` and :data:`EPOCH` (who signed in, and for which ``session_epoch``: a password
change or a disabled user ends it), :data:`LANGUAGE` (the user's own, or the one chosen
before signing in), :data:`CSRF` (:mod:`~regulars.entrypoints.web.csrf`) and :data:`FLASH`
(messages shown once on the next page).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from regulars.i18n import normalise_language

COOKIE = "regulars_session"
USER = "uid"
EPOCH = "epoch"
LANGUAGE = "lang"
CSRF = "csrf"
FLASH = "flash"


class Sessions:
    """Signed-cookie sessions, ``Secure`` on https requests (pure ASGI)."""

    def __init__(self, app: ASGIApp, secret_key: str, *, max_age_days: int = 14) -> None:
        common: dict[str, Any] = {"secret_key": secret_key, "session_cookie": COOKIE,
                                  "max_age": max_age_days * 24 * 3600, "same_site": "lax"}
        self.plain = SessionMiddleware(app, https_only=False, **common)
        self.secure = SessionMiddleware(app, https_only=True, **common)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.secure if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)


def session_language(scope: Scope) -> str | None:
    """The session's language: :class:`~regulars.entrypoints.http.language.RequestLanguage`'s
    ``user_language`` seam (it wins over ``Accept-Language``)."""
    session = scope.get("session")
    return normalise_language(session.get(LANGUAGE)) if isinstance(session, dict) else None


def flash(connection: HTTPConnection, message: str, kind: str = "info") -> None:
    """Show ``message`` (already translated) once, on the next page this session sees;
    ``kind``: ``info``, ``success`` or ``error``."""
    connection.session.setdefault(FLASH, [])
    connection.session[FLASH] = [*connection.session[FLASH], [kind, message]]


def take_flashes(connection: HTTPConnection) -> list[tuple[str, str]]:
    """The messages waiting for this session, forgotten once taken."""
    if FLASH not in connection.session:
        return []
    return [(str(k), str(m)) for k, m in connection.session.pop(FLASH)]
