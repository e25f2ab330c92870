"""``/customers``: the customer list (search, filters, sort, keyset pages) and
``/customers/export.csv``: every row the list's filters match, as a CSV file.

Who: the owner (everyone), the marketer (everyone, to read) and a manager (their own
customers only: ``customers.manager`` equal to their user's manager, forced here whatever the
address asks; their form has no manager filter). The list and its rules are
:class:`regulars.services.customer_list.CustomerList`; this module reads the form, checks it
(an unknown choice or a too long text is shown again with its message, 422) and writes the
rows' codes in the reader's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from regulars.entrypoints import labels
from regulars.entrypoints.http.language import language_of
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import require_role
from regulars.entrypoints.web.rendering import page
from regulars.i18n import N_, _
from regulars.services import customer_list
from regulars.services.api import ApiServices
from regulars.services.customer_list import (
    DEFAULT_SORT,
    MAX_TEXT,
    SORTS,
    CustomerList,
    ListQuery,
    Scope,
    parse_tags,
)
from regulars.services.users import Role, User

router = APIRouter()

Reader = Annotated[User, require_role(Role.MANAGER, Role.MARKETER)]
"""The owner, a manager (their own customers) and the marketer."""

nav.add(nav.NavItem(N_("Customers"), "/customers", {Role.OWNER, Role.MANAGER, Role.MARKETER},
                    order=20))

#: The filters that choose from a fixed list: the form's field and the codes it admits.
CHOICES: dict[str, tuple[str, ...]] = {
    "rung": tuple(labels.RUNGS),
    "status": tuple(labels.STATUSES),
    "signal": tuple(labels.SIGNALS),
    "trait": tuple(labels.TRAITS),
    "rfm": tuple(labels.RFM_SEGMENTS),
}
TEXT_FIELDS = ("q", "manager", "tier", "tag")
SORT_LABELS = {"stake": N_("Money at stake"), "value": N_("Revenue"),
               "last_order": N_("Last order"), "name": N_("Name")}
#: A cell a spreadsheet would read as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _service(request: Request) -> CustomerList:
    services: ApiServices = request.app.state.services
    return CustomerList(services.store, services.ingest.normalise_phone)


def _scope(user: User) -> Scope | None:
    return Scope(user.manager) if user.role is Role.MANAGER else None


def read_form(params: Mapping[str, str], user: User) -> tuple[ListQuery, dict[str, str],
                                                              dict[str, str]]:
    """The query of the list's form, its values as given (to show them again) and the
    message of each bad field."""
    values = {k: (params.get(k) or "").strip() for k in (*CHOICES, *TEXT_FIELDS)}
    errors: dict[str, str] = {}
    for name, codes in CHOICES.items():
        if values[name] and values[name] not in codes:
            errors[name] = _("Choose one of the list.")
    for name in TEXT_FIELDS:
        if len(values[name]) > MAX_TEXT or "\x00" in values[name]:
            errors[name] = _("At most {n} characters.").format(n=MAX_TEXT)
    if user.role is Role.MANAGER:
        values["manager"] = ""  # a manager's own customers: never another's
    sort = params.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        errors["sort"] = _("Choose one of the list.")
        sort = DEFAULT_SORT
    direction = params.get("dir") or ""
    descending = {"desc": True, "asc": False}.get(direction)
    try:
        at = max(1, int(params.get("at") or 1))
    except ValueError:
        at = 1
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 400:
        cursor = None
    values["sort"], values["dir"] = sort, direction if descending is not None else ""
    q = ListQuery(
        text=values["q"] or None, rung=values["rung"] or None,
        status=values["status"] or None, signal=values["signal"] or None,
        trait=values["trait"] or None, rfm_segment=values["rfm"] or None,
        manager=values["manager"] or None, tier=values["tier"] or None,
        tags=parse_tags(values["tag"]), sort=sort, descending=descending, cursor=cursor,
        at=at)
    return q, values, errors


def list_url(values: Mapping[str, str], path: str = "/customers", **changes: Any) -> str:
    """The list's address with ``values`` (the form's, empty ones left out) and ``changes``."""
    merged = {**{k: v for k, v in values.items() if k not in ("cursor", "at")}, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _options(codes: tuple[str, ...], names: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(code, labels.name(names, code)) for code in codes]


def _card_url(customer_id: str) -> str:
    return "/customers/" + quote(str(customer_id), safe="")


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, user: Reader) -> Response:
    q, values, errors = read_form(request.query_params, user)
    service = _service(request)
    settings = request.app.state.settings
    names = {"rung": labels.rung_names(), "status": labels.status_names(),
             "signal": labels.signal_names(), "trait": labels.trait_names(),
             "rfm": labels.segment_names()}
    result = None if errors else service.page(q, _scope(user))
    rows = []
    if result is not None:
        for r in result.rows:
            rows.append({**r, "href": _card_url(r["customer_id"]),
                         "rung_name": labels.name(names["rung"], r.get("rung")),
                         "status_name": labels.name(names["status"], r.get("status")),
                         "signal_names": [labels.name(names["signal"], s)
                                          for s in r.get("signals") or []]})
    choices = service.choices()
    desc = q.desc
    sort_links = {key: list_url(values, sort=key,
                                dir=("asc" if desc else "desc") if key == q.sort
                                else ("desc" if SORTS[key] else "asc"))
                  for key in SORTS}
    extra = {
        "values": values, "errors": errors, "result": result, "rows": rows,
        "options": {name: _options(codes, names[name]) for name, codes in CHOICES.items()},
        "manager_options": [(v, v) for v in choices["managers"]],
        "tier_options": [(v, v) for v in choices["tiers"]],
        "own_only": user.role is Role.MANAGER,
        "sort": q.sort, "desc": desc,
        "sorts": [(key, _(label)) for key, label in SORT_LABELS.items()],
        "sort_label": _(SORT_LABELS[q.sort]).lower(),
        "sort_links": sort_links,
        "currency": settings.currency,
        "next_url": (list_url(values, cursor=result.next_cursor, at=result.last + 1)
                     if result and result.next_cursor else None),
        "previous_url": (list_url(values, cursor=result.previous_cursor,
                                  at=max(1, result.first - customer_list.PAGE_SIZE))
                         if result and result.previous_cursor else None),
        "first_url": (list_url(values) if result and result.first > 1 else None),
        "export_url": list_url(values, path="/customers/export.csv"),
        "map_state": request.app.state.services.store.map_state(),
    }
    return page(request, "customers/list.html", extra, status=422 if errors else 200)


# --- the export -----------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", N_("ID")),
    ("name", N_("Name")),
    ("email", N_("E-mail")),
    ("phone", N_("Phone")),
    ("manager", N_("Manager")),
    ("tier", N_("Tier")),
    ("rung", N_("Rung")),
    ("status", N_("Status")),
    ("signals", N_("Signals")),
    ("traits", N_("Traits")),
    ("rfm_segment", N_("RFM segment")),
    ("money_at_stake", N_("Money at stake")),
    ("revenue", N_("Revenue")),
    ("orders", N_("Orders")),
    ("last_order_at", N_("Last order")),
    ("tags", N_("Tags")),
)


def guard(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts like a formula gets a ``'``
    before it (OWASP's CSV injection advice)."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def export_lines(rows: Iterator[dict[str, Any]], lang: str) -> Iterator[str]:
    """The CSV file of ``rows`` in ``lang``: a BOM (Excel then reads UTF-8), the header in
    the reader's words, codes in words; ``;`` between cells and a decimal comma where the
    language writes one (ru, et), as a spreadsheet of that language expects. The words are
    translated before the first row is read (the rows are sent after the request's own
    code has returned)."""
    comma = lang in ("ru", "et")
    header = [_(title) for _key, title in EXPORT_COLUMNS]
    names = {"rung": labels.rung_names(), "status": labels.status_names(),
             "signals": labels.signal_names(), "traits": labels.trait_names(),
             "rfm_segment": labels.segment_names()}
    return _lines(rows, header, names, comma)


def _lines(rows: Iterator[dict[str, Any]], header: list[str],
           names: Mapping[str, Mapping[str, str]], comma: bool) -> Iterator[str]:
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=";" if comma else ",", lineterminator="\r\n")

    def take() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    out.writerow(header)
    yield "\ufeff" + take()
    for n, r in enumerate(rows, 1):
        out.writerow([_cell(key, r.get(key), names, comma) for key, _title in EXPORT_COLUMNS])
        if n % 500 == 0:
            yield take()
    yield take()


def _cell(key: str, v: Any, names: Mapping[str, Mapping[str, str]], comma: bool) -> str:
    if key in ("signals", "traits"):
        return ", ".join(labels.name(names[key], c) for c in v or [])
    if key in ("rung", "status", "rfm_segment"):
        return "" if v is None else labels.name(names[key], v)
    if key == "tags":
        return guard("; ".join(v or []))
    if isinstance(v, float | int) and not isinstance(v, bool):
        text = f"{v:.2f}" if isinstance(v, float) else str(v)
        return text.replace(".", ",") if comma else text
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else guard(str(v))


@router.get("/customers/export.csv")
def export_csv(request: Request, user: Reader) -> Response:
    q, _values, errors = read_form(request.query_params, user)
    if errors:
        return customers(request, user)
    rows = _service(request).rows(q, _scope(user))
    stamp = date.today().isoformat()
    return StreamingResponse(
        export_lines(rows, language_of(request)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="customers-{stamp}.csv"',
                 "Cache-Control": "no-store"})
