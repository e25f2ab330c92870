"""The web app: a FastAPI app of its own, mounted on the API's app at ``/`` by
:func:`mount_web` (``regulars serve`` serves both; the API stays under ``/v1``).

Its own app, so that it has its own middleware and error pages: the session cookie, the
user's language and CSRF are the pages' business, not the API's (machines send API keys and
read problem+json). :class:`WebMount` hands the API's paths (:data:`API_PATHS`) back to the
API's router, so ``/v1/…`` keeps its own 404 and 405 problems.

The web app's middleware, outermost first: :class:`~regulars.entrypoints.web.sessions.Sessions`
(the signed cookie), then :class:`~regulars.entrypoints.http.language.RequestLanguage` again,
its ``user_language`` seam reading the session's language (the API's app already chose one
from ``Accept-Language``; this one, inside it, wins for the pages). Every route depends on
:func:`~regulars.entrypoints.web.csrf.check`.

Static files (``static/``: the stylesheet, htmx and Swagger UI, vendored) are served at
``/static`` by the API's app itself, so that ``/docs`` works offline whether or not the
pages are mounted (:func:`mount_static`, :func:`offline_docs`).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

from regulars.config import Settings
from regulars.entrypoints.http.language import RequestLanguage
from regulars.entrypoints.web import csrf, errors
from regulars.entrypoints.web.pages import ROUTERS
from regulars.entrypoints.web.rendering import STATIC, static_url
from regulars.entrypoints.web.sessions import Sessions, session_language
from regulars.services.api import ApiServices
from regulars.services.sign_in import SignInLimits
from regulars.services.users import Users

#: Paths that belong to the API's own app, never to the pages.
API_PATHS = ("/v1", "/docs", "/openapi.json", "/redoc", "/static")


class WebMount(Mount):
    """A mount at ``/`` that leaves :data:`API_PATHS` to the routes beside it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if any(path == p or path.startswith(p + "/") for p in API_PATHS):
            return Match.NONE, {}
        return super().matches(scope)


def create_web_app(settings: Settings, services: ApiServices, users: Users) -> FastAPI:
    """The pages on ``services`` (the API's, shared) and ``users``; the session cookie is
    signed with ``[web] secret_key``, else the key kept in the store."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf.check)])
    app.state.settings = settings
    app.state.services = services
    app.state.users = users
    app.state.sign_in_limits = SignInLimits(
        users.store, per_login=settings.web.sign_in_attempts_per_login,
        per_address=settings.web.sign_in_attempts_per_address,
        window=timedelta(minutes=settings.web.sign_in_window_minutes))
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    secret = (settings.web.secret_key.get_secret_value() if settings.web.secret_key
              else users.session_secret())
    # added innermost first: Sessions runs before RequestLanguage, which reads its session
    app.add_middleware(RequestLanguage, user_language=session_language)
    app.add_middleware(Sessions, secret_key=secret, max_age_days=settings.web.session_days)
    return app


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def offline_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI from ``/static`` (FastAPI's own loads it from a CDN)."""

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="regulars API",
            swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=static_url("vendor/swagger-ui/favicon-32x32.png"),
            # no badge asking validator.swagger.io about the schema
            swagger_ui_parameters={"validatorUrl": None})


def mount_web(app: FastAPI, settings: Settings, services: ApiServices,
              users: Users) -> FastAPI:
    """Mount the pages on the API's ``app`` at ``/``, after every route it has (call last)."""
    web = create_web_app(settings, services, users)
    app.router.routes.append(WebMount("", app=web, name="web"))
    return web
