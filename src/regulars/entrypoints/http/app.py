"""The FastAPI application: ``create_app(settings)``; ``regulars serve`` runs it with uvicorn.

Routes are plain (``def``) functions: the store is reached through blocking drivers, so
Starlette runs them in its thread pool. The background work (the live map, webhook delivery,
tier events, expiry notices) runs either in threads started with the application and stopped
with it (``create_app(background=True)``, as :func:`serving` and tests use it), or in a
process of its own (``regulars worker``; ``regulars serve`` starts one by default), so that it
does not compete with requests for this process's interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regulars import __version__, bootstrap
from regulars.config import Settings
from regulars.domain.errors import StoreUnavailableError
from regulars.domain.rules import InputRules
from regulars.entrypoints.http import problems
from regulars.entrypoints.http.deps import Services
from regulars.entrypoints.http.language import RequestLanguage, UserLanguage
from regulars.entrypoints.http.routers import (
    admin,
    customers,
    events,
    goals,
    ingest,
    loyalty,
    playbook_report,
    playbooks,
    portfolio,
    tasks,
    unsubscribe,
    worklist,
)
from regulars.entrypoints.http.schemas import INPUT_RULES, Degraded, Health
from regulars.i18n import _, current_language, fmt_number, ngettext
from regulars.services.api import ApiServices
from regulars.services.users import Users

log = logging.getLogger("regulars.api")


class InputRulesOfTheApp:
    """Validates every request's records against the app's input rules (``[input]``)."""

    def __init__(self, app: ASGIApp, rules: InputRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = INPUT_RULES.set(self.rules)
        try:
            await self.app(scope, receive, send)
        finally:
            INPUT_RULES.reset(token)


class BodyLimit:
    """Refuses bodies over ``limit`` bytes with 413, by Content-Length or while streaming.

    ``exempt``: exact paths whose route limits its body itself, in its own words (the web
    import page's upload: ``[web] import_max_mb``, the upload page with a message)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(scope, send)
                return
            # the server enforces Content-Length: the body cannot be longer
            await self.app(scope, receive, send)
            return
        # a streamed body (no Content-Length) is read here, up to the limit, then replayed
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body,
                                        "more_body": False}], receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps({
            "type": "/problems/too-large", "title": problems.title(413), "status": 413,
            "detail": ngettext("the request body is larger than {n} byte",
                               "the request body is larger than {n} bytes",
                               self.limit).format(n=fmt_number(self.limit)),
            "instance": scope.get("path"),
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", problems.MEDIA_TYPE.encode()),
            (b"content-language", current_language().encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def create_app(settings: Settings | None = None, *, services: ApiServices | None = None,
               rebuild_on_start: bool = True, background: bool = True,
               user_language: UserLanguage | None = None, web: bool = True,
               users: Users | None = None) -> FastAPI:
    """The API on the store of ``settings`` (default: :func:`regulars.load_settings`).

    ``background``: run the background work (live map, webhook delivery, tier events,
    expiry notices, the first map when there is none) in threads of this process; without
    it a ``regulars worker`` process does it (``regulars serve`` starts one by default).

    Each request is answered in its language (:mod:`~regulars.entrypoints.http.language`):
    ``user_language(scope)``, when given and not None, wins over ``Accept-Language`` (the
    seam for a user's own setting).

    ``web``: serve the web pages at ``/`` too (:mod:`regulars.entrypoints.web`), their users
    ``users`` (default: on the API's store). ``/docs`` and its assets are served from this
    server either way (no CDN)."""
    settings = settings or bootstrap.load_settings()
    api = services or bootstrap.open_api(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api.start(background=background)
        if rebuild_on_start and background:
            threading.Thread(target=api.first_map, name="regulars-first-map",
                             daemon=True).start()
        try:
            yield
        finally:
            api.stop()

    app = FastAPI(
        title="regulars",
        version=__version__,
        summary=_("Know and keep your regular customers: send orders from a shop or till, "
                  "read the customer map."),
        docs_url=None,  # offline_docs: Swagger UI from /static, not from a CDN
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.services = api
    app.state.settings = settings
    problems.install(app)
    # the import page's upload checks its own (larger) limit, with its own message
    app.add_middleware(BodyLimit, limit=api.max_body_bytes, exempt=frozenset({"/import"}))
    app.add_middleware(InputRulesOfTheApp, rules=settings.input.rules())
    # the outermost of ours: every answer below it, a refused body's too, is in the language
    app.add_middleware(RequestLanguage, user_language=user_language)

    app.state.store_failures = problems.StoreFailures()

    _add_health(app, settings)
    # the playbooks' report (a fixed path) before the /v1/playbooks/{name} route
    for router in (ingest.router, events.router, customers.router, loyalty.router,
                   portfolio.router, worklist.router, tasks.router, goals.router,
                   playbook_report.router,
                   playbooks.router, admin.router, unsubscribe.router):
        app.include_router(router)

    from regulars.entrypoints.web.app import mount_static, mount_web, offline_docs

    offline_docs(app)
    mount_static(app)
    if web:
        users = users or bootstrap.open_users(settings, services=api)
        mount_web(app, settings, api, users)  # last: it takes every path not taken above
    return app


def _add_health(app: FastAPI, settings: Settings) -> None:
    """``GET /v1/health``: the store's state, as a load balancer asks it."""

    @app.get("/v1/health", response_model=Health, tags=["health"], summary="Is it up?",
             responses={503: {"model": Degraded, "description": "The store cannot be reached "
                                                                  "or written."}})
    def health(services: Services) -> Any:
        """``ok``, or ``degraded`` with 503 when the store cannot be reached or written now
        (a cheap probe that writes nothing), or a write failed on a full disk in the last
        minute."""
        try:
            services.store.probe()
            state = services.store.map_state()
            failure = app.state.store_failures.recent()
        except Exception as e:
            failure = bootstrap.store_failure(e, settings)
            if not isinstance(failure, StoreUnavailableError):
                raise
        if failure is not None:
            return JSONResponse(
                {"status": "degraded", "version": __version__,
                 "database": services.store.dialect, "store": str(failure.reason),
                 "detail": str(failure)},
                status_code=503,
                headers={"Retry-After": str(problems.RETRY_AFTER.get(
                    failure.reason, problems.RETRY_AFTER_DEFAULT))})
        return {"status": "ok", "version": __version__, "database": services.store.dialect,
                "map_as_of": state["as_of"] if state else None,
                "map_as_of_source": state.get("as_of_source") if state else None,
                "map_customers": state["customers"] if state else 0,
                "live_pending": services.live.pending() if services.live_enabled else 0}


SETTINGS_FILE_VAR = "_REGULARS_SERVE_SETTINGS"
"""The environment variable naming the JSON file of the settings ``regulars serve`` resolved,
for its request processes (not ``REGULARS_…``: that prefix is the settings' own)."""


def write_settings(settings: Settings, path: Path) -> None:
    """``settings`` as :func:`app_from_environment` reads them back: every value, as given
    (the secrets too: a JSON dump writes them as stars)."""
    data = settings.model_dump(mode="json", by_alias=True)
    if settings.web.secret_key is not None:
        data["web"]["secret_key"] = settings.web.secret_key.get_secret_value()
    path.write_text(json.dumps(data), encoding="utf-8")


def read_settings(path: Path) -> Settings:
    """The settings :func:`write_settings` wrote (as overrides: they win over every source,
    so the result is the settings the parent resolved)."""
    return bootstrap.load_settings(None, **json.loads(path.read_text(encoding="utf-8")))


def app_from_environment() -> FastAPI:
    """The app of one of ``regulars serve --workers N``'s request processes (uvicorn's
    factory): the parent's settings from the file :data:`SETTINGS_FILE_VAR` names, and no
    background work here (the serve's background process, or ``regulars worker``, does it)."""
    file = os.environ.get(SETTINGS_FILE_VAR)
    if not file:
        raise RuntimeError(f"{SETTINGS_FILE_VAR} is not set: run this through regulars serve")
    return create_app(read_settings(Path(file)), background=False)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` for uvicorn's ``sockets=``.

    Made with ``IPPROTO_TCP`` named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    sockets whose protocol says TCP, and with proto 0 every answer on a kept-alive connection
    waited for the client's delayed ACK: 40 ms a request instead of a few (uvicorn's own
    ``bind_socket``, which ``regulars serve`` uses, names it too).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
            log_level: str = "warning") -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields its base URL (tests, benchmarks).

    ``port`` 0 takes a free one. The server (and the app's workers) stop on exit.
    """
    import uvicorn

    sock = listening_socket(host, port)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="regulars-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
