"""``/till``: the cashier's page (the owner is admitted too). Find a member by phone, card or
id; their panel; accrue an order, redeem a reward, use a coupon, give a card, enrol.

The page is thin: :class:`regulars.services.till.Till` reads and writes, through the loyalty
engine and the ingest, as the signed-in person (``Caller.web``). Every form is a POST with
the CSRF token and a one-time ``key`` (the same form sent twice is one write). The answer to
a form is the member's panel again, with a receipt of what was done or, beside the action,
why it was refused (409) or which field is wrong (422). With htmx the forms swap only the
panel (``hx-select``); without scripts they load the whole page.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regulars.domain.errors import InputError
from regulars.domain.loyalty.errors import (
    CardError,
    ConsentRequiredError,
    CouponUsedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    LoyaltyError,
    OutOfStockError,
    UnknownCouponError,
    UnknownMemberError,
)
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Cashier
from regulars.entrypoints.web.rendering import page
from regulars.i18n import N_, _, fmt_number, ngettext
from regulars.services.api import ApiServices
from regulars.services.api.ingest import IdempotencyConflictError as IngestConflictError
from regulars.services.api.ingest import RejectedRecordsError
from regulars.services.audit import Caller
from regulars.services.till import Till, new_form_key
from regulars.services.users import Role, User

router = APIRouter()

nav.add(nav.NavItem(N_("Till"), "/till", {Role.CASHIER, Role.OWNER}, order=20))
nav.LANDING[Role.CASHIER] = "/till"

Text = Annotated[str, Form(max_length=200)]
Key = Annotated[str, Form(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
#: The largest amount the till takes for one order (a typo guard, not a business rule).
MAX_AMOUNT = Decimal("10000000")


def till_of(request: Request) -> Till:
    services: ApiServices = request.app.state.services
    if services.loyalty is None:
        raise HTTPException(503, _("The loyalty programme is not available on this server."))
    return Till(services.loyalty, services.ingest)


def caller_of(user: User, action: str) -> Caller:
    return Caller.web(user.login, user.display_name, action=action)


def member_url(member_id: str) -> str:
    return "/till/members/" + quote(member_id, safe="")


def parse_amount(text: str) -> Decimal | None:
    """An amount as a cashier types it (``12,50``, ``12.50``, ``1 234,5``): None when it is
    not a positive amount with at most two decimals below :data:`MAX_AMOUNT`."""
    cleaned = "".join(c for c in text.strip() if not c.isspace() and c != "\u00a0")
    cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT or (
            amount.as_tuple().exponent < -2):  # type: ignore[operator]
        return None
    return amount


def refusal(e: Exception) -> str:
    """An engine's refusal in the reader's words."""
    if isinstance(e, InsufficientPointsError):
        return ngettext("Not enough points: {balance} available, {needed} needed.",
                        "Not enough points: {balance} available, {needed} needed.",
                        e.balance).format(balance=fmt_number(e.balance),
                                          needed=fmt_number(e.needed))
    if isinstance(e, OutOfStockError):
        return _("This reward is out of stock: all of it has been redeemed.")
    if isinstance(e, ConsentRequiredError):
        return _("The member has not agreed to the programme: they cannot earn or redeem.")
    if isinstance(e, IdempotencyConflictError | IngestConflictError):
        return _("This form was already sent with other values. Open the member again and "
                 "repeat.")
    if isinstance(e, RejectedRecordsError):
        details = "; ".join(p.message for p in e.problems[:3])
        return _("The order was not recorded: {why}").format(why=details or str(e))
    return str(e)


def show(request: Request, till: Till, member_id: str, *, status: int = 200,
         receipt: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
         values: dict[str, str] | None = None) -> HTMLResponse:
    try:
        panel = till.panel(member_id)
    except UnknownMemberError as e:
        raise HTTPException(404) from e
    return page(request, "till/member.html", {
        "panel": panel, "receipt": receipt, "errors": errors or {}, "values": values or {},
        "key": new_form_key(), "query": "", "currency": request.app.state.settings.currency,
        "basis": till.programme.tier_basis.value}, status=status)


# -- find ---------------------------------------------------------------------------------


@router.get("/till", response_class=HTMLResponse)
def find(request: Request, user: Cashier, q: str = "") -> Response:
    till = till_of(request)
    query = q.strip()[:200]
    found = till.find(query) if query else None
    if found is not None and len(found.members) == 1:
        return RedirectResponse(member_url(found.members[0].member_id), status_code=303)
    return page(request, "till/find.html", {"query": query, "found": found,
                                            "key": new_form_key(), "errors": {},
                                            "values": {}})


@router.get("/till/members/{member_id:path}", response_class=HTMLResponse)
def member(request: Request, user: Cashier, member_id: str) -> Response:
    return show(request, till_of(request), member_id)


# -- writes -------------------------------------------------------------------------------


@router.post("/till/accrue", response_class=HTMLResponse)
def accrue(request: Request, user: Cashier, member_id: Text, key: Key,
           amount: Annotated[str, Form(max_length=40)] = "",
           reference: Annotated[str, Form(max_length=100)] = "") -> Response:
    till = till_of(request)
    values = {"amount": amount, "reference": reference}
    value = parse_amount(amount)
    if value is None:
        return show(request, till, member_id, status=422, values=values, errors={
            "amount": _("Type the order's amount, more than 0, for example 12.50.")})
    try:
        done = till.accrue(member_id, value, key=key, reference=reference or None,
                           caller=caller_of(user, "POST /till/accrue"))
    except UnknownMemberError as e:
        raise HTTPException(404) from e
    except (LoyaltyError, InputError) as e:
        return show(request, till, member_id, status=409, values=values,
                    errors={"accrue": refusal(e)})
    return show(request, till, member_id, receipt={"kind": "accrue", "done": done})


@router.post("/till/redeem", response_class=HTMLResponse)
def redeem(request: Request, user: Cashier, member_id: Text, key: Key,
           reward: Annotated[str, Form(min_length=1, max_length=100)]) -> Response:
    till = till_of(request)
    option = next((r for r in till.programme.rewards if r.code == reward), None)
    if option is None:
        return show(request, till, member_id, status=422,
                    errors={"redeem": _("There is no such reward in the catalogue.")})
    try:
        done = till.redeem(member_id, reward, key=key,
                           caller=caller_of(user, "POST /till/redeem"))
    except UnknownMemberError as e:
        raise HTTPException(404) from e
    except LoyaltyError as e:
        return show(request, till, member_id, status=409,
                    errors={"redeem": refusal(e), "reward": reward})
    return show(request, till, member_id, receipt={"kind": "redeem", "done": done,
                                                   "reward": option})


@router.post("/till/coupon", response_class=HTMLResponse)
def use_coupon(request: Request, user: Cashier, member_id: Text, key: Key,
               code: Annotated[str, Form(max_length=64)] = "",
               reference: Annotated[str, Form(max_length=100)] = "") -> Response:
    till = till_of(request)
    values = {"code": code, "coupon_reference": reference}
    if not code.strip():
        return show(request, till, member_id, status=422, values=values,
                    errors={"code": _("Type or scan the coupon's code.")})
    try:
        done = till.use_coupon(code, key=key, reference=reference or None,
                               caller=caller_of(user, "POST /till/coupon"))
    except UnknownCouponError as e:
        return show(request, till, member_id, status=404, values=values,
                    errors={"code": str(e)})
    except (CouponUsedError, LoyaltyError) as e:
        return show(request, till, member_id, status=409, values=values,
                    errors={"code": refusal(e)})
    reward = till.programme.reward(done.reward)
    return show(request, till, member_id, receipt={
        "kind": "coupon", "done": done, "reward_name": reward.name if reward else done.reward,
        "owner": done.member_id})


@router.post("/till/card", response_class=HTMLResponse)
def give_card(request: Request, user: Cashier, member_id: Text,
              card: Annotated[str, Form(max_length=64)] = "") -> Response:
    till = till_of(request)
    try:
        done = till.give_card(member_id, card, caller=caller_of(user, "POST /till/card"))
    except UnknownMemberError as e:
        raise HTTPException(404) from e
    except CardError as e:
        return show(request, till, member_id, status=422, values={"card": card},
                    errors={"card": str(e)})
    return show(request, till, member_id, receipt={"kind": "card", "done": done})


@router.post("/till/enrol", response_class=HTMLResponse)
def enrol(request: Request, user: Cashier, key: Key,
          customer_id: Annotated[str, Form(max_length=200)] = "",
          name: Annotated[str, Form(max_length=200)] = "",
          phone: Annotated[str, Form(max_length=40)] = "",
          card: Annotated[str, Form(max_length=64)] = "",
          consent: Annotated[str, Form(max_length=8)] = "") -> Response:
    till = till_of(request)
    values = {"customer_id": customer_id, "name": name, "phone": phone, "card": card,
              "consent": consent}
    errors: dict[str, str] = {}
    if not consent:
        errors["consent"] = _("The customer must agree to join the programme.")
    if not customer_id.strip() and not phone.strip():
        errors["phone"] = _("Type the customer's phone number.")
    if not errors:
        try:
            done = till.enrol(customer_id.strip() or None, name=name.strip(),
                              phone=phone.strip(), card=card.strip() or None,
                              caller=caller_of(user, "POST /till/enrol"))
        except CardError as e:
            errors["card"] = str(e)
        except IdempotencyConflictError:  # a member already: their panel
            return RedirectResponse(member_url(till.loyalty.member_id(customer_id.strip())),
                                    status_code=303)
        except (LoyaltyError, InputError) as e:
            errors["enrol"] = refusal(e)
        else:
            return RedirectResponse(member_url(done.member_id), status_code=303)
    found = till.find(phone or customer_id) if (phone or customer_id).strip() else None
    return page(request, "till/find.html", {
        "query": (phone or customer_id).strip(), "found": found, "key": key,
        "errors": errors, "values": values}, status=422)
