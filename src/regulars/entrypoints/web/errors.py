"""The web app's answers to what goes wrong: HTML pages, never problem+json.

Sign-in needed: 303 to the sign-in page (htmx: ``HX-Redirect``, as a redirect of an XHR would
swap the sign-in page into a part of another). A role refused, a form without its CSRF
token, a page that is not there: the error page with its status. The store unavailable: 503
with the reason in words. Anything else: 500, logged.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from regulars import bootstrap
from regulars.domain.errors import StoreUnavailableError
from regulars.entrypoints.web.auth import RefusedError, SignInRequiredError
from regulars.entrypoints.web.csrf import CsrfRefusedError
from regulars.entrypoints.web.rendering import page
from regulars.i18n import _

log = logging.getLogger("regulars.web")


def sign_in_url(request: Request) -> str:
    """The sign-in page, coming back to this request's page (GET) afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target == "/":
        return "/sign-in"
    return "/sign-in?next=" + quote(target, safe="/")


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return page(request, "error.html", {"status": status, "title": title, "detail": detail},
                status=status)


def install(app: FastAPI) -> None:
    """Register the handlers on the web app."""

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, exc: SignInRequiredError) -> Response:
        url = sign_in_url(request)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(RefusedError)
    async def _refused(request: Request, exc: RefusedError) -> HTMLResponse:
        return error_page(request, 403, _("Not for your role"),
                          _("This page is not open to your role. Ask the owner if you need "
                            "it."))

    @app.exception_handler(CsrfRefusedError)
    async def _csrf(request: Request, exc: CsrfRefusedError) -> HTMLResponse:
        return error_page(request, 403, _("The form has expired"),
                          _("The form was sent without its security token, or from a page "
                            "opened before you signed in. Open the page again and repeat."))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return error_page(request, 404, _("Page not found"),
                              _("There is no page at this address."))
        if exc.status_code == 405:
            return error_page(request, 405, _("Not allowed"),
                              _("This page does not take this kind of request."))
        return error_page(request, exc.status_code, _("Error"), str(exc.detail or ""))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> HTMLResponse:
        failure = bootstrap.store_failure(exc, request.app.state.settings)
        if isinstance(failure, StoreUnavailableError):
            return error_page(request, 503, _("The store is unavailable"), str(failure))
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        page = error_page(request, 500, _("Something went wrong"),
                          _("The error is in the server's log. Try again, or tell whoever "
                            "runs the server."))
        # the server drops the connection after this page (Starlette raises the error on):
        # said here, the browser's next request takes a new one
        page.headers["Connection"] = "close"
        return page
