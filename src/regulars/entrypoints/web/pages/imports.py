"""``/import``: the owner uploads a file, sees how it will be read and its problems row by
row, confirms, and may save the way it was read as an import profile.

The page is thin: :class:`~regulars.services.web_imports.WebImports` keeps the uploads and
runs the import through :func:`regulars.api.import_file`, the CLI's own door, dry for the
preview and for real on confirmation. The preview and the import run while the request waits
(a plain wait: the upload is at most ``[web] import_max_mb``); the page says so while the
browser waits.

The upload (``POST /import``) goes through :class:`UploadRoute`: before its body is read, an
upload that is not the owner's is refused and one whose ``Content-Length`` is over the limit
gets the upload page with a message (its body read and dropped, never kept); a body without
a length is counted as it arrives.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message, Receive

from regulars import api, bootstrap
from regulars.domain.errors import InputError
from regulars.domain.tables import IMPORT_ORDER, Kind
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Owner, RefusedError, SignInRequiredError, current_user
from regulars.entrypoints.web.import_worker import ImportProcess
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import flash
from regulars.i18n import DASH, N_, _, fmt_date, fmt_number
from regulars.services.users import Role
from regulars.services.web_imports import (
    DONE,
    ENCODINGS,
    IMPORTING,
    AlreadyConfirmedError,
    FileShape,
    Upload,
    UploadRefusedError,
    WebImports,
)

#: Where uploads wait (a folder per upload), shared by the server's processes on one machine.
UPLOADS = Path(tempfile.gettempdir()) / "regulars-web-imports"
#: Room in a request for the form's other fields besides the file.
FORM_SLACK = 64 << 10

_lock = threading.Lock()


class UploadTooLargeError(Exception):
    """The upload's body went past the limit while it was read."""


def door(request: Request) -> WebImports:
    """The server's :class:`WebImports`, built on first use."""
    state = request.app.state
    with _lock:
        found: WebImports | None = getattr(state, "web_imports", None)
        if found is None:
            found = state.web_imports = open_web_imports(state.settings, state.services)
    return found


def open_web_imports(settings: api.Settings, services: Any) -> WebImports:
    """The uploads on the store of ``settings`` (``services.store`` holds its
    ``web_imports`` rows); the imports run in a child process
    (:mod:`~regulars.entrypoints.web.import_worker`), stopped with ``services``."""
    new_staging = bootstrap.open_staging(settings)
    run_import = ImportProcess(settings)
    services.closers.append(run_import.close)

    def read_shape(path: Path, options: Any) -> FileShape:
        with new_staging() as staging:  # DuckDB on the uploaded file; not the store
            columns = staging.read(path, options)
            return FileShape(columns, staging.count("raw"))

    UPLOADS.mkdir(mode=0o700, exist_ok=True)
    return WebImports(pending=services.store, run_import=run_import, read_shape=read_shape,
                      read_options=bootstrap.ReadOptions,
                      profiles=bootstrap.open_store(settings), root=UPLOADS,
                      keep=timedelta(minutes=settings.web.import_keep_minutes),
                      max_bytes=settings.web.import_max_mb << 20)


# -- the upload's body, limited before it is read -------------------------------------------

def _counted(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise UploadTooLargeError
        return message

    return counting


async def _drain(request: Request) -> None:
    """Read and drop the rest of the body (a browser still sending it would see the
    connection reset instead of the answer)."""
    try:
        async for _chunk in request.stream():
            pass
    except Exception:  # already read, or the client went away: nothing to drop
        return


class UploadRoute(APIRoute):
    """A route whose POST body is an upload: checked before it is read (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method != "POST":
                return await handler(request)
            user = await run_in_threadpool(current_user, request)
            if user is None or user.role is not Role.OWNER:
                await _drain(request)
                if user is None:
                    raise SignInRequiredError
                raise RefusedError(user, frozenset({Role.OWNER}))
            imports = await run_in_threadpool(door, request)
            limit = imports.max_bytes + FORM_SLACK
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                await _drain(request)
                return _upload_page(request, error=imports.too_large(_("The file")),
                                    status=422)
            counted = Request(request.scope, _counted(request.receive, limit))
            try:
                return await handler(counted)
            except UploadTooLargeError:
                return _upload_page(request, error=imports.too_large(_("The file")),
                                    status=422)

        return limited


router = APIRouter()
#: the upload's own route (its body checked before it is read); included in ``router`` last
uploads = APIRouter(route_class=UploadRoute)

nav.add(nav.NavItem(N_("Import"), "/import", {Role.OWNER}, order=80))

KIND_LABELS = {
    Kind.CUSTOMERS: N_("customers"),
    Kind.ORDERS: N_("orders"),
    Kind.RETURNS: N_("returns"),
    Kind.INVOICES: N_("invoices"),
    Kind.INTERACTIONS: N_("interactions"),
    Kind.FEEDBACK: N_("feedback"),
    Kind.REFERRALS: N_("referrals"),
}


#: Our columns as the owner reads them (the column's own name is shown beside).
FIELD_LABELS = {
    "customer_id": N_("Customer code"), "name": N_("Name"), "email": N_("E-mail"),
    "phone": N_("Phone"), "created_at": N_("Customer since"), "birthday": N_("Birthday"),
    "manager": N_("Manager"), "consent_email": N_("Consent to e-mail"),
    "consent_sms": N_("Consent to SMS"), "consent_messenger": N_("Consent to messengers"),
    "consent_phone": N_("Consent to calls"), "do_not_contact": N_("Do not contact"),
    "attributes": N_("Attributes"), "order_id": N_("Order number"),
    "ordered_at": N_("Order date"), "amount": N_("Amount"), "currency": N_("Currency"),
    "discount_amount": N_("Discount"), "cost": N_("Cost"), "channel": N_("Channel"),
    "quantity": N_("Quantity"), "categories": N_("Categories"),
    "new_products": N_("New products"), "addons": N_("Add-ons"),
    "return_id": N_("Return number"), "returned_at": N_("Return date"),
    "reason": N_("Reason"), "invoice_id": N_("Invoice number"), "due_at": N_("Due date"),
    "paid_at": N_("Paid on"), "interaction_id": N_("Contact number"), "at": N_("Date"),
    "direction": N_("Direction"), "kind": N_("Type"), "responded_at": N_("Answered on"),
    "outcome": N_("Outcome"), "feedback_id": N_("Feedback number"), "nps": N_("NPS"),
    "csat": N_("CSAT"), "complaint": N_("Complaint"), "text": N_("Comment"),
    "referral_id": N_("Referral number"), "referrer_id": N_("Referred by"),
    "referee_id": N_("Referred customer"), "code": N_("Code"),
}


def field_label(name: str) -> str:
    return _(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def cell(value: Any) -> str:
    """A value of the file as read, written for the reader."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        day = fmt_date(value)
        return day if value.time() == time() else f"{day} {value:%H:%M}"
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, int):
        return fmt_number(value)
    if isinstance(value, float | Decimal):
        return fmt_number(value, 2)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _kinds() -> list[tuple[str, str]]:
    return [(k.value, _(KIND_LABELS[k])) for k in IMPORT_ORDER]


def _upload_page(request: Request, *, error: str | None = None, status: int = 200,
                 kind: str = "", encoding: str = "") -> HTMLResponse:
    imports = door(request)
    return page(request, "import/upload.html", {
        "error": error, "kinds": _kinds(), "kind": kind, "encoding": encoding,
        "encodings": ENCODINGS, "max_mb": imports.max_bytes >> 20,
        "keep_minutes": int(imports.keep.total_seconds() // 60)}, status=status)


def _gone(request: Request) -> Response:
    """An upload that is not there (expired, removed, or another user's): back to the
    upload page with a word, rather than a dead end."""
    flash(request, _("That upload is no longer here: uploads are kept for {n} minutes. "
                     "Upload the file again.").format(
                         n=int(door(request).keep.total_seconds() // 60)), "error")
    return RedirectResponse("/import", status_code=303)


@router.get("/import", response_class=HTMLResponse)
def upload_form(request: Request, user: Owner) -> Response:
    return _upload_page(request)


@uploads.post("/import", response_class=HTMLResponse)
async def upload(request: Request, user: Owner) -> Response:
    form = await request.form()
    file = form.get("file")
    kind_text = str(form.get("kind") or "")
    encoding = str(form.get("encoding") or "") or None
    kinds = {k.value: k for k in Kind}
    if kind_text and kind_text not in kinds:
        return _upload_page(request, error=_("Choose the kind of table."), status=422)
    if not isinstance(file, UploadFile) or not file.filename:
        return _upload_page(request, error=_("Choose a file to upload."), status=422,
                            kind=kind_text, encoding=encoding or "")
    imports = door(request)
    try:
        made = await run_in_threadpool(imports.receive, user.user_id, file.filename,
                                       file.file, kinds.get(kind_text), encoding)
    except UploadRefusedError as e:
        return _upload_page(request, error=str(e), status=422, kind=kind_text,
                            encoding=encoding or "")
    finally:
        await file.close()
    return RedirectResponse(f"/import/{made.token}", status_code=303)


def _preview_page(request: Request, upload: Upload, *, errors: dict[str, str] | None = None,
                  status: int = 200) -> HTMLResponse:
    shown = door(request).preview(upload)
    return page(request, "import/preview.html", {
        "upload": upload, "shown": shown, "report": shown.report, "errors": errors or {},
        "kinds": _kinds(), "kind_label": _(KIND_LABELS[upload.kind]),
        "encodings": ENCODINGS, "options": upload.options, "cell": cell,
        "field_label": field_label}, status=status)


@router.get("/import/{token}", response_class=HTMLResponse)
def preview(request: Request, token: str, user: Owner) -> Response:
    upload = door(request).get(token, user.user_id)
    if upload is None:
        return _gone(request)
    if upload.state == DONE:
        return RedirectResponse(f"/import/{token}/done", status_code=303)
    if upload.state == IMPORTING:
        return page(request, "import/busy.html", {"upload": upload})
    return _preview_page(request, upload)


@router.post("/import/{token}", response_class=HTMLResponse)
async def choose(request: Request, token: str, user: Owner) -> Response:
    imports = door(request)
    upload = await run_in_threadpool(imports.get, token, user.user_id)
    if upload is None:
        return _gone(request)
    if upload.state != "uploaded":
        return RedirectResponse(f"/import/{token}", status_code=303)
    form = await request.form()
    fields = {str(form.get(f"name-{i}", "")): str(value) for key, value in form.items()
              if key.startswith("field-") and (i := key.removeprefix("field-")).isdigit()}
    decimal = {"comma": True, "point": False}.get(str(form.get("decimal") or ""))
    reading = {"encoding": str(form.get("encoding") or ""), "decimal_comma": decimal,
               "date_format": str(form.get("date_format") or ""),
               "credit_notes": str(form.get("credit_notes") or "")}
    kind_text = str(form.get("kind") or upload.kind.value)
    profile = str(form.get("profile") or "") or None
    if form.get("without_profile"):
        profile = None
    kinds = {k.value: k for k in Kind}
    if kind_text not in kinds:
        return await run_in_threadpool(partial(_preview_page, request, upload, errors={
            "kind": _("Choose the kind of table.")}, status=422))
    errors = await run_in_threadpool(partial(
        imports.choose, upload, fields=fields, reading=reading, profile=profile,
        kind=kinds[kind_text]))
    if errors:
        return await run_in_threadpool(partial(_preview_page, request, upload, errors=errors,
                                               status=422))
    return RedirectResponse(f"/import/{token}", status_code=303)


@router.post("/import/{token}/confirm", response_class=HTMLResponse)
async def confirm(request: Request, token: str, user: Owner) -> Response:
    imports = door(request)
    upload = await run_in_threadpool(imports.get, token, user.user_id)
    if upload is None:
        return _gone(request)
    form = await request.form()
    try:
        await run_in_threadpool(partial(imports.confirm, upload,
                                        set_aside=form.get("set_aside") == "1"))
    except AlreadyConfirmedError as e:
        flash(request, _("This file was imported already: it is not imported twice.")
              if e.state == DONE else _("This file is being imported."), "info")
        return RedirectResponse(f"/import/{token}", status_code=303)
    except InputError as e:
        flash(request, _("Nothing was imported: {reason}").format(
            reason=str(e).splitlines()[0].replace(str(upload.path), upload.file_name)),
            "error")
        return RedirectResponse(f"/import/{token}", status_code=303)
    return RedirectResponse(f"/import/{token}/done", status_code=303)


def _done_page(request: Request, upload: Upload, *, error: str | None = None,
               name: str = "", status: int = 200) -> HTMLResponse:
    return page(request, "import/done.html", {
        "upload": upload, "result": upload.result or {}, "error": error, "name": name,
        "kind_label": _(KIND_LABELS[upload.kind]), "field_label": field_label,
        "aside_file": upload.problems_file.exists()}, status=status)


@router.get("/import/{token}/done", response_class=HTMLResponse)
def done(request: Request, token: str, user: Owner) -> Response:
    upload = door(request).get(token, user.user_id)
    if upload is None:
        return _gone(request)
    if upload.state != DONE:
        return RedirectResponse(f"/import/{token}", status_code=303)
    return _done_page(request, upload)


@router.post("/import/{token}/profile", response_class=HTMLResponse)
async def save_profile(request: Request, token: str, user: Owner) -> Response:
    imports = door(request)
    upload = await run_in_threadpool(imports.get, token, user.user_id)
    if upload is None:
        return _gone(request)
    if upload.state != DONE:
        return RedirectResponse(f"/import/{token}", status_code=303)
    form = await request.form()
    name = str(form.get("name") or "")
    error = await run_in_threadpool(imports.save_profile, upload, name)
    if error:
        return _done_page(request, upload, error=error, name=name, status=422)
    flash(request, _("Saved as the import profile {name}: it is offered for the next file "
                     "with these columns.").format(name=name.strip()), "success")
    return RedirectResponse(f"/import/{token}/done", status_code=303)


@router.post("/import/{token}/rebuild")
def rebuild(request: Request, token: str, user: Owner) -> Response:
    """Rebuild the served customer map after an import (the API's ``POST /v1/map/rebuild``;
    a plain wait)."""
    upload = door(request).get(token, user.user_id)
    if upload is None:
        return _gone(request)
    try:
        request.app.state.services.rebuild_map()
    except InputError as e:  # no orders yet, say
        flash(request, _("The customer map was not rebuilt: {reason}").format(reason=e),
              "error")
    else:
        flash(request, _("The customer map was rebuilt."), "success")
    return RedirectResponse(f"/import/{token}/done", status_code=303)


@router.get("/import/{token}/problems.csv")
def problems_csv(request: Request, token: str, user: Owner) -> Response:
    upload = door(request).get(token, user.user_id)
    if upload is None:
        return _gone(request)
    if not upload.problems_file.exists():
        flash(request, _("No row has a problem."), "info")
        return RedirectResponse(f"/import/{token}", status_code=303)
    stem = Path(upload.file_name).stem or "import"
    return FileResponse(upload.problems_file, media_type="text/csv; charset=utf-8",
                        filename=f"{stem}-problems.csv",
                        headers={"Cache-Control": "no-store"})


router.include_router(uploads)
