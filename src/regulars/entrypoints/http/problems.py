"""Every error as ``application/problem+json`` (RFC 9457), FastAPI's own included.

``type`` is a relative URI naming the kind of problem (documented in docs/http-api.md);
validation problems add ``errors: [{field, message, index}]``, ``index`` being the record's
position in a batch.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from regulars import bootstrap
from regulars.config.pydantic_words import error_message
from regulars.domain.errors import (
    AnalysisError,
    InputError,
    RegularsError,
    StoreError,
    StoreRefusedValueError,
    StoreUnavailable,
    StoreUnavailableError,
)
from regulars.entrypoints.http.language import language_of
from regulars.i18n import N_, _, current_language, use_language
from regulars.services.api.ingest import IdempotencyConflictError, RejectedRecordsError
from regulars.services.api.keys import UnknownKeyError

log = logging.getLogger("regulars.api")

MEDIA_TYPE = "application/problem+json"

# translated when a problem is written, in the request's language
TITLES = {
    400: N_("Bad request"), 401: N_("Unauthorized"), 403: N_("Forbidden"), 404: N_("Not found"),
    405: N_("Method not allowed"), 406: N_("Not acceptable"), 409: N_("Conflict"),
    413: N_("Content too large"), 415: N_("Unsupported media type"),
    422: N_("Unprocessable content"), 429: N_("Too many requests"),
    500: N_("Internal server error"), 503: N_("Service unavailable"),
}
ERROR_TITLE = N_("Error")
SLUGS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    422: "validation", 429: "rate-limited", 500: "internal", 503: "unavailable",
}


# seconds a client should wait before retrying, by why the store is unavailable: a lock is
# released within seconds, a server restarts within tens, a full or read-only disk needs a person
RETRY_AFTER = {StoreUnavailable.LOCKED: 5, StoreUnavailable.UNREACHABLE: 30}
RETRY_AFTER_DEFAULT = 60
# how long a failed write the health probe cannot see (a full disk, an I/O error) keeps the
# health degraded after it happened
REMEMBER_SECONDS = 60.0


class StoreFailures:
    """The last store failure the requests met, for ``GET /v1/health``: a probe writes nothing,
    so only a failed write shows a disk that filled up and emptied again as the write rolled
    back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[float, StoreUnavailableError] | None = None

    def seen(self, failure: StoreUnavailableError) -> None:
        with self._lock:
            self._last = (time.monotonic(), failure)

    def recent(self) -> StoreUnavailableError | None:
        with self._lock:
            if self._last is None:
                return None
            at, failure = self._last
        if time.monotonic() - at > REMEMBER_SECONDS:
            return None
        return failure if failure.reason in (StoreUnavailable.DISK_FULL,
                                             StoreUnavailable.IO) else None


def store_unavailable(request: Request, exc: StoreUnavailableError) -> JSONResponse:
    log.error("store unavailable (%s) on %s %s: %s", exc.reason, request.method,
              request.url.path, exc)
    failures = getattr(request.app.state, "store_failures", None)
    if isinstance(failures, StoreFailures):
        failures.seen(exc)
    retry = RETRY_AFTER.get(exc.reason, RETRY_AFTER_DEFAULT)
    return problem_response(503, instance=request.url.path, detail=str(exc),
                            slug="store-unavailable", headers={"Retry-After": str(retry)})


class Problem(Exception):  # noqa: N818 - raised to answer, not an error of ours
    """Raise to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, slug: str | None = None,
                 errors: Sequence[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or "")
        self.status = status
        self.detail = detail
        self.slug = slug
        self.errors = list(errors) if errors is not None else None
        self.headers = headers


def problem_response(status: int, *, instance: str | None, detail: str | None = None,
                     slug: str | None = None, errors: Sequence[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug or SLUGS.get(status, 'error')}",
        "title": title(status),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    # the language middleware names it too; a 500 is answered outside it
    headers = {"Content-Language": current_language(), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def title(status: int) -> str:
    """The problem's title for ``status``, in the current language."""
    return _(TITLES.get(status, ERROR_TITLE))


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors as ``{field, message, index}``, the message in our words
    (:func:`~regulars.config.pydantic_words.error_message`), in the request's language."""
    out = []
    for e in raw:
        loc = list(e.get("loc", ()))
        where = loc[0] if loc else "body"
        rest = loc[1:]
        index = None
        if e.get("type") == "json_invalid":  # loc holds the character position
            rest = []
        elif where == "body":
            if rest and rest[0] in ("typed", "named"):  # POST /v1/events: records or events
                rest = rest[1:]
            if rest and rest[0] in ("one", "many"):  # the one-or-many tag of ingest bodies
                rest = rest[1:]
            if rest and isinstance(rest[0], int):
                index, rest = rest[0], rest[1:]
            # the tag of the event type a record was checked against
            if rest and isinstance(rest[0], str) and rest[0] in (
                    "feedback", "interaction", "referral", "invoice", "abandoned_cart"):
                rest = rest[1:]
        name = ".".join(str(p) for p in rest) if rest else str(where)
        if where in ("query", "path", "header") and rest:
            name = f"{where}.{name}"
        item: dict[str, Any] = {"field": name, "message": error_message(e)}
        if index is not None:
            item["index"] = index
        out.append(item)
    return out


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method the request's path is served with (RFC 9110 §15.5.6), as the API document
    lists them.

    A path is the resource of its most literal template: ``/v1/webhooks/deliveries`` is the
    list of deliveries, not a webhook whose id happens to be "deliveries", so templates that
    match it through fewer parameters win.
    """
    found: dict[int, set[str]] = {}  # number of parameters -> methods
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            found.setdefault(template.count("{"), set()).update(
                m.upper() for m in operations if m.upper() in _METHODS)
    return sorted(found[min(found)]) if found else []


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Starlette answers an unhandled error outside every middleware, the language's too
    with use_language(language_of(request)):
        answer = problem_response(500, instance=request.url.path,
                                  detail=_("an unexpected error; it has been logged"))
    # Starlette raises the error on after this answer, and the server then drops the
    # connection: said here, a client opens a new one for its retry instead of sending it
    # down the closing one (a reset, where the retry was meant to succeed)
    answer.headers["Connection"] = "close"
    return answer


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""
    _install_protocol(app)
    _install_use_cases(app)
    _install_store(app)
    app.add_exception_handler(Exception, _bug)


def _install_protocol(app: FastAPI) -> None:
    """HTTP's own errors: a Problem raised by a router, a body off the schema, a route or
    method that does not exist."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, instance=request.url.path, detail=exc.detail,
                                slug=exc.slug, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc.errors())
        return problem_response(422, instance=request.url.path,
                                detail=_("the request does not match the schema"),
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names only the methods of the first route on the path; a path served
            # by two routers (GET /v1/customers lists, POST ingests) must name them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(app, request))}
        return problem_response(exc.status_code, instance=request.url.path,
                                detail=_http_detail(exc, request), headers=headers)


def _http_detail(exc: StarletteHTTPException, request: Request) -> str | None:
    """Starlette's detail, or ours where it only repeats the status's English phrase."""
    detail = str(exc.detail) if exc.detail else None
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = None
    if detail is not None and detail != phrase:
        return detail
    if exc.status_code == 404:
        return _("there is nothing at {path}").format(path=request.url.path)
    if exc.status_code == 405:
        return _("{path} does not take {method}").format(path=request.url.path,
                                                          method=request.method)
    return None


def _install_use_cases(app: FastAPI) -> None:
    """The use cases' refusals: rejected records, a reused Idempotency-Key, …"""

    @app.exception_handler(RejectedRecordsError)
    async def _rejected(request: Request, exc: RejectedRecordsError) -> JSONResponse:
        errors = [{"field": p.column, "message": p.message, "index": p.row,
                   **({"value": p.value} if p.value is not None else {})}
                  for p in exc.problems]
        return problem_response(409 if exc.conflict else 422, instance=request.url.path,
                                detail=str(exc), errors=errors,
                                slug="conflict" if exc.conflict else "rejected")

    @app.exception_handler(IdempotencyConflictError)
    async def _idempotency(request: Request, exc: IdempotencyConflictError) -> JSONResponse:
        return problem_response(409, instance=request.url.path, detail=str(exc),
                                slug="idempotency-conflict")

    @app.exception_handler(UnknownKeyError)
    async def _key(request: Request, exc: UnknownKeyError) -> JSONResponse:
        return problem_response(404, instance=request.url.path, detail=str(exc))

    @app.exception_handler(AnalysisError)
    async def _analysis(request: Request, exc: AnalysisError) -> JSONResponse:
        return problem_response(409, instance=request.url.path, detail=str(exc),
                                slug="analysis")

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return problem_response(422, instance=request.url.path, detail=str(exc))

    @app.exception_handler(RegularsError)
    async def _regulars(request: Request, exc: RegularsError) -> JSONResponse:
        return problem_response(400, instance=request.url.path, detail=str(exc))


def _install_store(app: FastAPI) -> None:
    """The store's failures, translated by the adapters or still a driver's exception."""

    @app.exception_handler(StoreUnavailableError)
    async def _unavailable(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        return store_unavailable(request, exc)

    @app.exception_handler(StoreRefusedValueError)
    async def _refused(request: Request, exc: StoreRefusedValueError) -> JSONResponse:
        return problem_response(422, instance=request.url.path, detail=str(exc),
                                slug="refused-value")

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return problem_response(503, instance=request.url.path, detail=str(exc))

    async def _driver(request: Request, exc: Exception) -> JSONResponse:
        # a driver's exception (SQLAlchemy, sqlite3, psycopg, ADBC, OSError) that no adapter
        # translated: a store failure when it reads as one, else a bug
        failure = bootstrap.store_failure(exc, getattr(request.app.state, "settings", None))
        if isinstance(failure, StoreUnavailableError):
            return store_unavailable(request, failure)
        if isinstance(failure, StoreRefusedValueError):
            return problem_response(422, instance=request.url.path, detail=str(failure),
                                    slug="refused-value")
        return await _bug(request, exc)

    for kind in bootstrap.store_exceptions():
        app.add_exception_handler(kind, _driver)
