"""The customer card (``/customers/{id}``) and its actions: create a task, log a call, add or
remove a tag, change consent.

Who: the owner; a manager for their own customers (another manager's customer is the 404
page for them); the marketer reads but may not act (the 403 page on the forms). The use
cases are :mod:`regulars.services.card` and the tasks'; this module turns the card into words
in the reader's language and the forms into calls.

Each form works without scripts (POST, then 303 back to the card with a message); with htmx
it posts itself and swaps its own section (``hx-select``), the answer being the card with the
message in that section. A form with a bad field answers 422: the card again, the message
next to the field, nothing written.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regulars.domain.errors import InputError
from regulars.domain.tasks import (
    CHANNEL_NAMES,
    CHANNELS,
    OUTCOME_NAMES,
    STATE_NAMES,
    Outcome,
    State,
    TaskError,
)
from regulars.domain.worklist import ACTION_NAMES
from regulars.entrypoints.labels import name, rung_names, signal_names, status_names
from regulars.entrypoints.web.auth import Manager, require_role
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import flash
from regulars.entrypoints.web.timeline import Mark, timeline
from regulars.i18n import (
    N_,
    _,
    fmt_date,
    fmt_money,
    fmt_number,
    fmt_percent,
    ngettext,
)
from regulars.services import card as cards
from regulars.services import explain
from regulars.services.api import ApiServices
from regulars.services.audit import Caller
from regulars.services.users import Role, User

router = APIRouter()

Reader = Annotated[User, require_role(Role.MANAGER, Role.MARKETER)]
"""Who may read a card: the owner, managers (their own customers), the marketer."""

ORDERS_STEP = 20
ORDERS_MAX = 5000

KIND_NAMES: dict[str, str] = {
    "offer": N_("Offer"),
    "greeting": N_("Greeting"),
    "reminder": N_("Reminder"),
    "call": N_("Call"),
    "complaint": N_("Complaint"),
    "support": N_("Support"),
    "event": N_("Event"),
}
"""The interaction kinds (DOMAIN §2) in words."""

CONSENT_NAMES: dict[str, str] = {
    "consent_email": N_("E-mail"),
    "consent_sms": N_("SMS"),
    "consent_messenger": N_("Messenger"),
    "consent_phone": N_("Phone calls"),
}

EVIDENCE_HEADINGS: dict[str, str] = {
    "rung": N_("Rung"),
    "status": N_("Status"),
    "signal": N_("Signals"),
    "trait": N_("Traits"),
    "stake": N_("Money at stake"),
}


# -- who sees what ----------------------------------------------------------------------------


def scope_of(user: User) -> str | None:
    """The manager whose customers and tasks ``user`` sees (None: every one). A manager not
    bound to a manager's name sees none."""
    return (user.manager or "") if user.role == Role.MANAGER else None


_MANAGERS: dict[int, tuple[float, list[str]]] = {}
MANAGERS_TTL = 60.0


def managers(services: ApiServices) -> list[str]:
    """The known managers for the owner's choice of a task's owner, read at most once a
    minute (the read scans every customer card: 45 ms on 100 000 of them). A manager named
    since shows a minute later; the task's own check reads them afresh."""
    if services.tasks is None:
        return []
    now = time.monotonic()
    kept = _MANAGERS.get(id(services))
    if kept is None or now - kept[0] > MANAGERS_TTL:
        kept = _MANAGERS[id(services)] = (now, services.tasks.known_managers())
    return kept[1]


def may_act(user: User) -> bool:
    return user.role in (Role.OWNER, Role.MANAGER)


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def card_url(customer_id: str) -> str:
    return "/customers/" + quote(customer_id, safe="")


def caller_of(user: User, action: str) -> Caller:
    return Caller.web(user.login, user.name, action=action)


# -- the card in words ----------------------------------------------------------------------


def evidence_groups(evidence: list[dict[str, Any]], currency: str | None
                    ) -> list[tuple[str, list[str]]]:
    """The evidence sentences in the reader's language, grouped as the card shows them."""
    groups: dict[str, list[str]] = {}
    for item in evidence:
        about = str(item.get("about"))
        groups.setdefault(about, []).append(explain.sentence(item, currency))
    order = [*EVIDENCE_HEADINGS, *sorted(set(groups) - set(EVIDENCE_HEADINGS))]
    return [(_(EVIDENCE_HEADINGS[a]) if a in EVIDENCE_HEADINGS else a, groups[a])
            for a in order if a in groups]


def prediction_lines(p: Mapping[str, Any] | None, currency: str | None, clv_months: int
                     ) -> list[tuple[str, str, str]]:
    """Each prediction as (what, the value, what it means) in a sentence."""
    if not p:
        return []
    out = [(_("Still a customer"), fmt_percent(p.get("p_alive"), 0),
            _("The probability that they still buy from you, from the model of the whole "
              "customer base."))]
    if p.get("expected_orders") is not None:
        days = int(p.get("expected_orders_days") or 90)
        out.append((_("Orders expected"), fmt_number(float(p["expected_orders"]), 1),
                    ngettext("Orders expected in the next {n} day.",
                             "Orders expected in the next {n} days.", days).format(
                        n=fmt_number(days))))
    if p.get("next_order_expected_at") is not None:
        out.append((_("Next order"), fmt_date(p["next_order_expected_at"]),
                    _("When the next order is expected if they are still a customer.")))
    if p.get("clv") is not None:
        out.append((_("Customer lifetime value"), fmt_money(p["clv"], currency, 0),
                    ngettext("What they are expected to bring over the next {n} month "
                             "(discounted).",
                             "What they are expected to bring over the next {n} months "
                             "(discounted).", clv_months).format(n=fmt_number(clv_months))))
    if p.get("value_at_risk") is not None:
        out.append((_("Value at risk"), fmt_money(p["value_at_risk"], currency, 0),
                    _("What is lost if they have already gone: the value they would bring, "
                      "times the chance that they have gone.")))
    return out


def chart(card: cards.Card, currency: str | None) -> Any:
    """The orders and returns timeline (None without orders)."""
    if not card.orders:
        return None

    def money(v: float) -> str:
        return fmt_money(v, currency, 0)

    drawn = card.orders[-cards.CHART_ORDERS:]
    orders = [Mark(o["ordered_at"], float(o["amount"] or 0),
                   f"{fmt_date(o['ordered_at'])} · {money(float(o['amount'] or 0))} · "
                   f"{o['order_id']}") for o in drawn]
    returns = [Mark(r["returned_at"], float(r["amount"] or 0),
                    _("Return {date} · {amount}").format(
                        date=fmt_date(r["returned_at"]), amount=money(float(r["amount"] or 0))))
               for o in drawn for r in o["returns"] if r.get("returned_at")]
    gap = (card.facts or {}).get("typical_gap_days")
    gap_label = ngettext("usual gap: {n} day", "usual gap: {n} days",
                         round(gap or 0)).format(n=fmt_number(round(gap or 0)))
    n = len(drawn)
    desc = ngettext("{n} order", "{n} orders", n).format(n=fmt_number(n))
    if card.orders_total > n:
        desc = _("the latest {n} of {total} orders").format(
            n=fmt_number(n), total=fmt_number(card.orders_total))
    if returns:
        desc += "; " + ngettext("{n} return", "{n} returns", len(returns)).format(
            n=fmt_number(len(returns)))
    if gap:
        desc += "; " + gap_label
    return timeline("orders-timeline", _("Orders and returns over time"), desc, orders,
                    returns, until=card.map_as_of, gap_days=gap, gap_label=gap_label,
                    money=money, day=fmt_date)


def tier_progress(points: Mapping[str, Any] | None, currency: str | None) -> str | None:
    """How far the member is from the next tier, in a sentence (None at the top tier)."""
    if not points or not points.get("next_tier"):
        return None
    missing = points.get("to_next_tier") or 0
    if points.get("tier_basis") == "spend":
        amount = fmt_money(missing, currency, 0)
    else:
        n = int(missing)
        amount = ngettext("{n} point", "{n} points", n).format(n=fmt_number(n))
    return _("{amount} more to reach {tier}.").format(amount=amount, tier=points["next_tier"])


def _options(names: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(code, _(text)) for code, text in names.items()]


def contact_rows(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in contacts:
        outcome = c.get("outcome")
        try:
            said = _(OUTCOME_NAMES[Outcome(outcome)]) if outcome else ""
        except ValueError:
            said = str(outcome)
        out.append({**c, "kind_name": name({k: _(v) for k, v in KIND_NAMES.items()},
                                           c.get("kind")),
                    "channel_name": _(CHANNEL_NAMES[c["channel"]])
                    if c.get("channel") in CHANNEL_NAMES else (c.get("channel") or ""),
                    "direction_name": _("to them") if c.get("direction") == "out"
                    else _("from them"),
                    "outcome_name": said})
    return out


def task_rows(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tasks:
        outcome = t.get("outcome")
        out.append({**t, "action_name": _(ACTION_NAMES[t["action"]])
                    if t["action"] in ACTION_NAMES else t["action"],
                    "state_name": _(STATE_NAMES[State(t["state"])]),
                    "outcome_name": _(OUTCOME_NAMES[Outcome(outcome)]) if outcome else "",
                    "channel_name": _(CHANNEL_NAMES[t["channel"]])
                    if t["channel"] in CHANNEL_NAMES else t["channel"],
                    "due": date.fromisoformat(str(t["due_on"])[:10])})
    return out


def render_card(request: Request, user: User, card: cards.Card, *, orders_shown: int,
                status: int = 200, errors: Mapping[str, str] | None = None,
                values: Mapping[str, str] | None = None,
                notices: Mapping[str, str] | None = None) -> HTMLResponse:
    services = services_of(request)
    settings = request.app.state.settings
    currency = settings.currency
    known = managers(services)
    shown = max(1, min(orders_shown, ORDERS_MAX))
    facts = card.facts or {}
    return page(request, "card/card.html", {
        "card": card,
        "title_text": card.name or card.customer_id,
        "expiring": [(date.fromisoformat(str(e["last_day"])[:10]), int(e["points"]))
                     for e in (card.points or {}).get("expiring") or []],
        "url": card_url(card.customer_id),
        "may_act": may_act(user),
        "is_manager": user.role == Role.MANAGER,
        "currency": currency,
        "rung_name": name(rung_names(), card.rung) if card.rung else None,
        "status_name": name(status_names(), card.status) if card.status else None,
        "signal_names": [name(signal_names(), s) for s in card.signals],
        "evidence": evidence_groups(card.evidence, currency),
        "facts": facts,
        "predictions": prediction_lines(card.predictions, currency,
                                        settings.analysis.clv_months),
        "chart": chart(card, currency),
        "orders": card.latest_orders(shown),
        "orders_total": card.orders_total,
        "orders_more": min(card.orders_total, shown + ORDERS_STEP, ORDERS_MAX)
        if card.orders_total > shown and shown < ORDERS_MAX else None,
        "tier_progress": tier_progress(card.points, currency),
        "tasks": task_rows(card.tasks),
        "contacts": contact_rows(card.contacts),
        "consent_names": _options(CONSENT_NAMES),
        "channels": [(c, _(CHANNEL_NAMES[c])) for c in CHANNELS],
        "outcomes": [(o.value, _(OUTCOME_NAMES[o])) for o in Outcome],
        "actions": _options(dict(ACTION_NAMES)),
        "managers": known,
        "default_owner": user.manager if user.role == Role.MANAGER else card.manager,
        "today": services.tasks.today() if services.tasks is not None else date.today(),
        "errors": dict(errors or {}),
        "values": dict(values or {}),
        "notices": dict(notices or {}),
    }, status=status)


def load(request: Request, user: User, customer_id: str, orders: int = ORDERS_STEP
         ) -> cards.Card:
    """The card ``user`` may see, else the 404 page."""
    scope = scope_of(user)
    found = cards.read_card(services_of(request), customer_id, scope=scope, task_scope=scope,
                            orders=orders)
    if found is None:
        raise HTTPException(404)
    return found


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" \
        and request.headers.get("HX-Boosted") != "true"


def done(request: Request, user: User, customer_id: str, section: str,
         message: str) -> Response:
    """After a change: htmx gets the card with ``message`` in ``section``; a plain form, a
    303 back to the card with the message."""
    if _is_htmx(request):
        return render_card(request, user, load(request, user, customer_id),
                           orders_shown=ORDERS_STEP, notices={section: message})
    flash(request, message, "success")
    found = services_of(request).store.resolve_alias(customer_id)
    return RedirectResponse(card_url(found) + f"#{section}", status_code=303)


def refused(request: Request, user: User, customer_id: str, field: str, message: str,
            values: Mapping[str, str]) -> HTMLResponse:
    """The card again with ``message`` next to ``field`` (422); nothing was written."""
    return render_card(request, user, load(request, user, customer_id),
                       orders_shown=ORDERS_STEP, status=422, errors={field: message},
                       values=values)


def _field_message(e: InputError, field: str) -> str:
    """An error's sentence without the field name the API puts before it (``note: …``)."""
    text = str(e)
    prefix = f"{field}: "
    return text[len(prefix):] if field and text.startswith(prefix) else text


# -- the routes -------------------------------------------------------------------------------


@router.get("/customers/{customer_id:path}", response_class=HTMLResponse)
def customer_card(request: Request, customer_id: str, user: Reader,
                  orders: int = ORDERS_STEP) -> Response:
    shown = max(1, min(orders, ORDERS_MAX))
    return render_card(request, user, load(request, user, customer_id, shown),
                       orders_shown=shown)


@router.post("/customers/{customer_id:path}/tasks", response_class=HTMLResponse)
def create_task(request: Request, customer_id: str, user: Manager,
                action: Annotated[str, Form()] = "call",
                due_on: Annotated[str, Form()] = "",
                note: Annotated[str, Form()] = "",
                owner: Annotated[str, Form()] = "",
                channel: Annotated[str, Form()] = "") -> Response:
    values = {"task-action": action, "task-due_on": due_on, "task-note": note,
              "task-owner": owner, "task-channel": channel}
    card = load(request, user, customer_id)
    services = services_of(request)
    if services.tasks is None:
        raise HTTPException(404)
    try:
        day = date.fromisoformat(due_on.strip()) if due_on.strip() else None
    except ValueError:
        return refused(request, user, customer_id, "task-due_on",
                       _("Give the day as a date."), values)
    scope = scope_of(user)
    try:
        services.tasks.add(customer_id=card.customer_id, action=action, due_on=day,
                           owner=owner or None, channel=channel or None, note=note,
                           scope=scope,
                           caller=caller_of(user, "POST /customers/{id}/tasks"))
    except TaskError as e:
        return refused(request, user, customer_id, f"task-{e.field or 'note'}",
                       _field_message(e, e.field), values)
    return done(request, user, card.customer_id, "tasks", _("The task is created."))


@router.post("/customers/{customer_id:path}/calls", response_class=HTMLResponse)
def log_call(request: Request, customer_id: str, user: Manager,
             outcome: Annotated[str, Form()] = "",
             channel: Annotated[str, Form()] = "phone",
             note: Annotated[str, Form()] = "",
             owner: Annotated[str, Form()] = "") -> Response:
    values = {"call-outcome": outcome, "call-channel": channel, "call-note": note,
              "call-owner": owner}
    card = load(request, user, customer_id)
    services = services_of(request)
    if services.tasks is None:
        raise HTTPException(404)
    if not outcome.strip():
        return refused(request, user, customer_id, "call-outcome",
                       _("Choose how the call ended."), values)
    try:
        services.tasks.log_contact(customer_id=card.customer_id, outcome=outcome,
                                   channel=channel or None, note=note, owner=owner or None,
                                   scope=scope_of(user),
                                   caller=caller_of(user, "POST /customers/{id}/calls"))
    except TaskError as e:
        return refused(request, user, customer_id, f"call-{e.field or 'note'}",
                       _field_message(e, e.field), values)
    return done(request, user, card.customer_id, "contacts", _("The call is logged."))


@router.post("/customers/{customer_id:path}/tags", response_class=HTMLResponse)
def add_tag(request: Request, customer_id: str, user: Manager,
            tag: Annotated[str, Form()] = "") -> Response:
    card = load(request, user, customer_id)
    try:
        cards.add_tag(services_of(request), card.customer_id, tag, scope=scope_of(user),
                      caller=caller_of(user, "POST /customers/{id}/tags"))
    except cards.CardError as e:
        return refused(request, user, customer_id, "tag", str(e), {"tag": tag})
    return done(request, user, card.customer_id, "tags",
                _("Tag {tag} added.").format(tag=" ".join(tag.split())))


@router.post("/customers/{customer_id:path}/tags/remove", response_class=HTMLResponse)
def remove_tag(request: Request, customer_id: str, user: Manager,
               tag: Annotated[str, Form()] = "") -> Response:
    card = load(request, user, customer_id)
    try:
        cards.remove_tag(services_of(request), card.customer_id, tag, scope=scope_of(user),
                         caller=caller_of(user, "POST /customers/{id}/tags/remove"))
    except cards.CardError as e:
        return refused(request, user, customer_id, "tag", str(e), {})
    return done(request, user, card.customer_id, "tags",
                _("Tag {tag} removed.").format(tag=" ".join(tag.split())))


@router.post("/customers/{customer_id:path}/consent", response_class=HTMLResponse)
def change_consent(request: Request, customer_id: str, user: Manager,
                   consent_email: Annotated[str, Form()] = "",
                   consent_sms: Annotated[str, Form()] = "",
                   consent_messenger: Annotated[str, Form()] = "",
                   consent_phone: Annotated[str, Form()] = "") -> Response:
    sent = {"consent_email": consent_email, "consent_sms": consent_sms,
            "consent_messenger": consent_messenger, "consent_phone": consent_phone}
    card = load(request, user, customer_id)
    try:
        wanted = {k: cards.parse_consent(v, k) for k, v in sent.items()}
        changed = cards.set_consent(services_of(request), card.customer_id, wanted,
                                    scope=scope_of(user),
                                    caller=caller_of(user, "POST /customers/{id}/consent"))
    except cards.CardError as e:
        return refused(request, user, customer_id, e.field or "consent_email", str(e), sent)
    return done(request, user, card.customer_id, "consent",
                _("Consent saved.") if changed else _("Nothing to change."))
