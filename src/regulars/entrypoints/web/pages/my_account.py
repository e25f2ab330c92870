"""``/account``: the signed-in person's own account, for every role — who they are (login,
name, role, the manager's name they are bound to), their language, and a change of password
(the current one required, the rules of ``regulars users password``; their other sessions
end, this one goes on in a fresh session).

A wrong current password counts as a failed sign-in of the login
(:mod:`regulars.services.sign_in`): a session left open is no way to guess the password.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regulars.entrypoints.web import csrf, nav
from regulars.entrypoints.web.auth import SignedIn, users_of
from regulars.entrypoints.web.nav import NavItem
from regulars.entrypoints.web.pages.account import client_address, refused, sign_in_limits
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import EPOCH, LANGUAGE, USER, flash
from regulars.i18n import LANGUAGES, N_, _
from regulars.services.users import MIN_PASSWORD_LENGTH, Role, User, UserError, WrongPasswordError

router = APIRouter()
nav.add(NavItem(N_("My account"), "/account", set(Role), order=90))


def _context(user: User, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"account": user, "errors": errors or {}, "min_length": MIN_PASSWORD_LENGTH,
            "languages": LANGUAGES}


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: SignedIn) -> Response:
    return page(request, "my_account.html", _context(user))


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request, user: SignedIn,
                          current: Annotated[str, Form(max_length=1024)] = "",
                          new: Annotated[str, Form(max_length=1024)] = "",
                          repeat: Annotated[str, Form(max_length=1024)] = "") -> Response:
    if new != repeat:
        return page(request, "my_account.html", _context(user, {
            "repeat": _("The new password and its repetition differ.")}), status=422)
    limits = sign_in_limits(request)
    address = client_address(request)
    wait = await run_in_threadpool(limits.wait, user.login, address)
    if wait:
        response = refused(request, "my_account.html", wait, _context(user))
        return response
    try:
        changed = await run_in_threadpool(users_of(request).change_password, user.user_id,
                                          current, new)
    except WrongPasswordError:
        await run_in_threadpool(limits.failed, user.login, address)
        return page(request, "my_account.html", _context(user, {
            "current": _("This is not your current password.")}), status=422)
    except UserError as e:
        return page(request, "my_account.html", _context(user, {"new": str(e)}), status=422)
    # a fresh session for this browser, on the new epoch (the others have ended)
    language = request.session.get(LANGUAGE)
    request.session.clear()
    request.session[USER] = changed.user_id
    request.session[EPOCH] = changed.session_epoch
    if language in LANGUAGES:
        request.session[LANGUAGE] = language
    csrf.renew(request)
    request.state.user = changed
    flash(request, _("Your password is changed. Your other sessions have ended."), "success")
    return RedirectResponse("/account", status_code=303)
