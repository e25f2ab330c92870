"""Signing in and out, and the language switch (open to everyone: no role dependency)."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regulars.entrypoints.web import csrf
from regulars.entrypoints.web.auth import current_user, users_of
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import EPOCH, LANGUAGE, USER, flash
from regulars.i18n import LANGUAGES, _, ngettext
from regulars.services.sign_in import SignInLimits

router = APIRouter()


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this server, else ``/`` (never a redirect elsewhere:
    ``//evil.example``, ``https://…``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def sign_in_limits(request: Request) -> SignInLimits:
    limits: SignInLimits = request.app.state.sign_in_limits
    return limits


def client_address(request: Request) -> str | None:
    """The address the request came from (behind a proxy uvicorn trusts: the one it
    forwards)."""
    return request.client.host if request.client is not None else None


def refused(request: Request, template: str, wait: int, extra: dict[str, Any]) -> Response:
    """The form again, refused for ``wait`` seconds (429 with ``Retry-After``): the same
    answer whether the login exists or not."""
    minutes = max(1, math.ceil(wait / 60))
    message = ngettext("Too many failed sign-ins. Try again in {n} minute.",
                       "Too many failed sign-ins. Try again in {n} minutes.",
                       minutes).format(n=minutes)
    return page(request, template, {**extra, "error": message}, status=429,
                headers={"Retry-After": str(wait)})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> Response:
    if current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "sign_in.html", {"next": safe_next(next), "login": "",
                                          "error": None})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, login: Annotated[str, Form(max_length=256)],
                  password: Annotated[str, Form(max_length=1024)],
                  next: Annotated[str, Form(max_length=2048)] = "/") -> Response:
    limits = sign_in_limits(request)
    address = client_address(request)
    wait = await run_in_threadpool(limits.wait, login, address)
    if wait:
        return refused(request, "sign_in.html", wait, {"next": safe_next(next),
                                                       "login": login})
    # Argon2 takes ~50 ms of CPU: off the event loop
    user = await run_in_threadpool(users_of(request).authenticate, login, password)
    if user is None:
        await run_in_threadpool(limits.failed, login, address)
        return page(request, "sign_in.html", {
            "next": safe_next(next), "login": login,
            "error": _("Wrong login or password, or the user is disabled.")}, status=401)
    await run_in_threadpool(limits.succeeded, login)
    chosen = request.session.get(LANGUAGE)
    # a new session: nothing of the anonymous one (but its language) is carried over
    request.session.clear()
    request.session[USER] = user.user_id
    request.session[EPOCH] = user.session_epoch
    language = user.language or chosen
    if language in LANGUAGES:
        request.session[LANGUAGE] = language
    csrf.renew(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    language = request.session.get(LANGUAGE)
    request.session.clear()
    if language in LANGUAGES:
        request.session[LANGUAGE] = language  # the sign-in page stays in it
    csrf.renew(request)
    flash(request, _("You have signed out."), "success")
    return RedirectResponse("/sign-in", status_code=303)


@router.post("/language")
def change_language(request: Request, lang: Annotated[str, Form(max_length=8)] = "",
                    next: Annotated[str, Form(max_length=2048)] = "/") -> Response:
    """The language of the pages: the user's own setting when signed in (kept with the user,
    so it follows them to another device), else this browser's session's."""
    chosen = lang if lang in LANGUAGES else None
    user = current_user(request)
    if user is not None:
        users_of(request).set_language(user.user_id, chosen)
    if chosen is None:
        request.session.pop(LANGUAGE, None)
    else:
        request.session[LANGUAGE] = chosen
    return RedirectResponse(safe_next(next), status_code=303)
