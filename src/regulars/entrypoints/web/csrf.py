"""CSRF protection of every form: a token per session, checked on every unsafe request.

:func:`token` makes the session's token on first use (every page's forms carry it as the
hidden field :data:`FIELD`: the ``csrf_field()`` template global writes it; htmx sends it as
the header :data:`HEADER`, set once on ``<body hx-headers=…>`` by the base layout).
:func:`check` is a dependency of the whole web app (``FastAPI(dependencies=…)``), so a page
added later is protected without asking: a POST, PUT, PATCH or DELETE without the session's
token is refused with :class:`CsrfRefusedError` (a 403 page). The sign-in form is protected too
(login CSRF), which is why an anonymous visitor gets a session when the sign-in page is shown.

The cookie's SameSite=Lax already keeps other sites' forms from sending it on POST; the token
is the second lock, for old browsers and for a subdomain that is not ours.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from regulars.entrypoints.web.sessions import CSRF

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRefusedError(Exception):
    """An unsafe request without the session's CSRF token."""


def token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    value = request.session.get(CSRF)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        request.session[CSRF] = value
    return value


def renew(request: Request) -> str:
    """A new token (on sign-in: a token seen before it is not good after it)."""
    request.session[CSRF] = secrets.token_urlsafe(32)
    return str(request.session[CSRF])


async def check(request: Request) -> None:
    """Refuse an unsafe request whose token (header or form field) is not the session's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF)
    if not isinstance(expected, str) or not expected:
        raise CsrfRefusedError
    sent = [request.headers.get(HEADER)]
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached: the route's own Form fields read it again
        sent.append(value if isinstance(value := form.get(FIELD), str) else None)
    # either will do: htmx sends the header and a form its field, and a page whose <body>
    # was kept by a boosted swap may send an older header beside the form's current field
    if not any(s is not None and hmac.compare_digest(expected.encode(), s.encode())
               for s in sent):
        raise CsrfRefusedError
