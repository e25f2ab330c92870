"""``/``: each role's landing page; ``/welcome``: the other roles' start page, with links to
their pages (the owner's ``/dashboard`` is :mod:`.dashboard`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import SignedIn
from regulars.entrypoints.web.rendering import page

router = APIRouter()


@router.get("/")
def home(request: Request, user: SignedIn) -> Response:
    return RedirectResponse(nav.LANDING[user.role], status_code=303)


@router.get("/welcome", response_class=HTMLResponse)
def welcome(request: Request, user: SignedIn) -> Response:
    links = [item for item in nav.for_role(user.role) if item.path != "/welcome"]
    return page(request, "welcome.html", {"links": links})
