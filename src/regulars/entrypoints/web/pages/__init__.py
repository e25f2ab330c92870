"""The web pages, one module per page or family of pages, each with an ``APIRouter`` named
``router``; :data:`ROUTERS` lists them for :func:`regulars.entrypoints.web.app.create_web_app`.

A new page: a module here with ``router = APIRouter()``, its routes taking a role dependency
(:mod:`regulars.entrypoints.web.auth`), rendering with
:func:`regulars.entrypoints.web.rendering.page`; its router added to :data:`ROUTERS`; its menu
entry in :mod:`regulars.entrypoints.web.nav`; its routes in the role matrix
(``tests/integration/web/test_web_roles.py``, which fails on a route it does not list).
"""

from __future__ import annotations

from fastapi import APIRouter

from regulars.entrypoints.web.pages import (
    account,
    card,
    customers,
    dashboard,
    goals,
    home,
    imports,
    loyalty,
    maturity,
    my_account,
    till,
    worklist,
)

# Order matters where paths overlap: a fixed path under /customers/ (the list's export) must come
# before the card's catch-all /customers/{customer_id:path}.
ROUTERS: list[APIRouter] = [account.router, home.router, dashboard.router, maturity.router,
                            customers.router,
                            worklist.router, my_account.router, loyalty.router, imports.router,
                            till.router, card.router, goals.router]
