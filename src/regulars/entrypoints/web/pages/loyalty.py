"""``/loyalty…``: the loyalty programme's admin, for the marketer (and the owner).

The programme's overview and its versions with what each changed; the rewards, the tiers,
the exclusive offers and the bonus events, each added and edited with a form. A save is a
new version of the programme in the store, made through the loyalty service
(:meth:`~regulars.services.loyalty.programmes.Programmes.save_programme`): the engine runs
it at once, so a new reward is at the till and in ``GET /v1/loyalty/rewards`` as soon as it
is saved. Nothing is deleted: a reward or an offer is deactivated (its coupons stay good).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regulars.domain.loyalty.errors import ProgrammeRuleError, StaleProgrammeError
from regulars.domain.loyalty.programme import Programme
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Marketer
from regulars.entrypoints.web.pages import loyalty_forms as forms
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import flash
from regulars.i18n import N_, _
from regulars.services.audit import Caller, acting_as
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.programmes import (
    OFFER_KIND_NAMES,
    REWARD_KIND_NAMES,
    RULE_NAMES,
    Part,
    new_code,
    offer_part,
    put_offer,
    put_reward,
    put_tier,
    reward_part,
    rules_part,
    set_rules,
    tier_part,
    version_changes,
)
from regulars.services.users import Role, User

router = APIRouter()
nav.add(nav.NavItem(N_("Loyalty programme"), "/loyalty", {Role.MARKETER, Role.OWNER},
                    order=40))

#: how a reward's code may be written (the till and the API name the reward by it)
CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _service(request: Request) -> LoyaltyService:
    loyalty = request.app.state.services.loyalty
    if loyalty is None:
        raise HTTPException(404)
    service: LoyaltyService = loyalty.service
    return service


def _common(request: Request, service: LoyaltyService) -> dict[str, Any]:
    newest = service.newest_version()
    tiers = [t.name for t in newest.programme.tiers]
    return {"newest": newest, "in_force": service.in_force(),
            "file_differs": service.file_differs,
            "local": service.programme.local,
            "currency": request.app.state.settings.currency,
            "reward_kinds": REWARD_KIND_NAMES, "offer_kinds": OFFER_KIND_NAMES,
            "reward_kind_options": [(k, _(v)) for k, v in REWARD_KIND_NAMES.items()],
            "offer_kind_options": [(k, _(v)) for k, v in OFFER_KIND_NAMES.items()],
            "tier_options": [(t, t) for t in tiers],
            "reward_options": [(r.code, r.name) for r in newest.programme.rewards
                               if r.active]}


def _form_page(request: Request, service: LoyaltyService, template: str,
               extra: Mapping[str, Any], *, status: int = 200) -> Response:
    ctx = {**_common(request, service), "errors": {}, "note": "", "starts": "",
           "conflict": None, **extra}
    ctx.setdefault("base_version", ctx["newest"].number)
    return page(request, template, ctx, status=status)


def _save(request: Request, user: User, form: Mapping[str, Any], *, template: str,
          extra: Mapping[str, Any], change: Callable[[Programme], Callable[[Programme],
                                                                           Programme]],
          part: Part, current: Callable[[Programme], dict[str, Any] | None],
          done: str, editing: bool = True) -> Response:
    """Save ``change(newest)`` (which parses the form, raising FormError) as a new version
    made by ``user``; on a problem the form again with it (422; 409 for a stale edit).
    ``editing``: ``part`` names an item that must exist (else the 404 page)."""
    service = _service(request)
    if editing and part(service.newest_version().programme) is None:
        raise HTTPException(404)
    kept = {"values": forms.form_values(form), "note": str(form.get("note") or ""),
            "starts": str(form.get("starts") or ""), **extra}
    try:
        base = forms.parse_base(form)
        starts = forms.parse_starts(form)
        edit = change(service.newest_version().programme)
        caller = Caller.web(user.login, user.display_name, action=f"POST {request.url.path}")
        with acting_as(caller):
            saved = service.save_programme(edit, base_version=base, part=part,
                                           author=user.display_name,
                                           note=str(form.get("note") or ""), starts=starts)
    except forms.FormError as e:
        return _form_page(request, service, template, {**kept, "errors": e.errors}, status=422)
    except ProgrammeRuleError as e:
        return _form_page(request, service, template,
                          {**kept, "errors": {e.field or "": str(e)}}, status=422)
    except StaleProgrammeError as e:
        values = current(service.newest_version().programme)
        if values is None:
            raise HTTPException(404) from None
        return _form_page(request, service, template,
                          {**kept, "values": values, "conflict": str(e)}, status=409)
    if saved is None:
        flash(request, _("Nothing changed: no new version."), "info")
    else:
        flash(request, _("Saved as version {n} of the programme.").format(n=saved.number),
              "success")
    return RedirectResponse(done, status_code=303)


# -- the overview ----------------------------------------------------------------------------


@router.get("/loyalty", response_class=HTMLResponse)
def overview(request: Request, user: Marketer) -> Response:
    service = _service(request)
    versions = service.versions()
    changes = version_changes(versions)
    history = [(v, changes.get(v.number, [])) for v in reversed(versions)]
    return page(request, "loyalty/overview.html", {
        **_common(request, service), "programme": service.programme, "history": history})


# -- rewards ---------------------------------------------------------------------------------


@router.get("/loyalty/rewards", response_class=HTMLResponse)
def rewards(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return page(request, "loyalty/rewards.html", {
        **_common(request, service), "rewards": service.programme.rewards,
        "scheduled": service.newest_version().programme.rewards,
        "left": service.stock_left()})


@router.get("/loyalty/rewards/new", response_class=HTMLResponse)
def new_reward(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return _form_page(request, service, "loyalty/reward_form.html", {
        "new": True,
        "values": {"kind": "discount_coupon", "valid_days": "90", "active": True}})


@router.post("/loyalty/rewards/new", response_class=HTMLResponse)
async def add_reward(request: Request, user: Marketer) -> Response:
    form = await request.form()

    def change(newest: Programme) -> Callable[[Programme], Programme]:
        given = str(form.get("code") or "").strip().lower()
        if given and not CODE.fullmatch(given):
            raise forms.FormError({"code": _(
                "letters a–z, digits and . _ - (up to 64), starting with a letter or digit")})
        code = given or new_code(str(form.get("name") or ""),
                                 [r.code for r in newest.rewards])
        reward = forms.parse_reward({**form, "active": "on"}, code)
        if not given:  # the form sent twice: the reward it added, not a second one
            reward = next((r for r in newest.rewards
                           if dataclasses.replace(reward, code=r.code) == r), reward)
        return lambda p: put_reward(p, reward, new=True)

    code = str(form.get("code") or "").strip().lower()
    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/reward_form.html",
        extra={"new": True}, change=change,
        part=reward_part(code or "\0new"), current=lambda _p: None, editing=False,
        done="/loyalty/rewards")


def _reward_or_404(service: LoyaltyService, code: str) -> Any:
    reward = service.newest_version().programme.reward(code)
    if reward is None:
        raise HTTPException(404)
    return reward


@router.get("/loyalty/rewards/{code}", response_class=HTMLResponse)
def edit_reward(request: Request, user: Marketer, code: str) -> Response:
    service = _service(request)
    reward = _reward_or_404(service, code)
    return _form_page(request, service, "loyalty/reward_form.html", {
        "new": False, "code": code,
        "values": forms.reward_values(reward)})


@router.post("/loyalty/rewards/{code}", response_class=HTMLResponse)
async def save_reward(request: Request, user: Marketer, code: str) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        reward = forms.parse_reward(form, code)
        return lambda p: put_reward(p, reward, new=False)

    def current(p: Programme) -> dict[str, Any] | None:
        r = p.reward(code)
        return None if r is None else forms.reward_values(r)

    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/reward_form.html",
        extra={"new": False, "code": code},
        change=change, part=reward_part(code), current=current,
        done="/loyalty/rewards")


# -- tiers -----------------------------------------------------------------------------------


@router.get("/loyalty/tiers", response_class=HTMLResponse)
def tiers(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return page(request, "loyalty/tiers.html", {**_common(request, service),
                                                "programme": service.programme})


@router.get("/loyalty/tiers/new", response_class=HTMLResponse)
def new_tier(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return _form_page(request, service, "loyalty/tier_form.html", {
        "new": True, "values": {"multiplier": "1", "discount_percent": "0"}})


@router.post("/loyalty/tiers/new", response_class=HTMLResponse)
async def add_tier(request: Request, user: Marketer) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        tier = forms.parse_tier(form)
        return lambda p: put_tier(p, tier, new=True)

    name = str(form.get("name") or "").strip()
    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/tier_form.html", extra={"new": True},
        change=change, part=tier_part(name or "\0new"), current=lambda _p: None,
        editing=False,
        done="/loyalty/tiers")


def _tier_or_404(service: LoyaltyService, name: str) -> Any:
    tier = tier_part(name)(service.newest_version().programme)
    if tier is None:
        raise HTTPException(404)
    return tier


@router.get("/loyalty/tiers/{name}", response_class=HTMLResponse)
def edit_tier(request: Request, user: Marketer, name: str) -> Response:
    service = _service(request)
    tier = _tier_or_404(service, name)
    return _form_page(request, service, "loyalty/tier_form.html", {
        "new": False, "name": name, "values": forms.tier_values(tier)})


@router.post("/loyalty/tiers/{name}", response_class=HTMLResponse)
async def save_tier(request: Request, user: Marketer, name: str) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        tier = forms.parse_tier(form, name)
        return lambda p: put_tier(p, tier, new=False)

    def current(p: Programme) -> dict[str, Any] | None:
        t = tier_part(name)(p)
        return None if t is None else forms.tier_values(t)  # type: ignore[arg-type]

    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/tier_form.html",
        extra={"new": False, "name": name}, change=change, part=tier_part(name),
        current=current, done="/loyalty/tiers")


# -- offers and bonus events ------------------------------------------------------------------


@router.get("/loyalty/offers", response_class=HTMLResponse)
def offers(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return page(request, "loyalty/offers.html", {
        **_common(request, service), "programme": service.programme,
        "rule_names": RULE_NAMES})


@router.get("/loyalty/offers/new", response_class=HTMLResponse)
def new_offer(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return _form_page(request, service, "loyalty/offer_form.html", {
        "new": True,
        "values": {"kind": "spent_over", "window_days": "365", "min_tenure_days": "365",
                   "winners": "1", "min_spend": "0", "active": True}})


@router.post("/loyalty/offers/new", response_class=HTMLResponse)
async def add_offer(request: Request, user: Marketer) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        offer = forms.parse_offer(form)
        return lambda p: put_offer(p, offer, new=True)

    name = str(form.get("name") or "").strip()
    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/offer_form.html",
        extra={"new": True}, change=change,
        part=offer_part(name or "\0new"), current=lambda _p: None, editing=False,
        done="/loyalty/offers")


def _offer_or_404(service: LoyaltyService, name: str) -> Any:
    offer = service.newest_version().programme.offer(name)
    if offer is None:
        raise HTTPException(404)
    return offer


@router.get("/loyalty/offers/{name}", response_class=HTMLResponse)
def edit_offer(request: Request, user: Marketer, name: str) -> Response:
    service = _service(request)
    offer = _offer_or_404(service, name)
    return _form_page(request, service, "loyalty/offer_form.html", {
        "new": False, "name": name, "values": forms.offer_values(offer)})


@router.post("/loyalty/offers/{name}", response_class=HTMLResponse)
async def save_offer(request: Request, user: Marketer, name: str) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        offer = forms.parse_offer(form, name)
        return lambda p: put_offer(p, offer, new=False)

    def current(p: Programme) -> dict[str, Any] | None:
        o = p.offer(name)
        return None if o is None else forms.offer_values(o)

    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/offer_form.html",
        extra={"new": False, "name": name}, change=change,
        part=offer_part(name), current=current, done="/loyalty/offers")


@router.get("/loyalty/bonuses", response_class=HTMLResponse)
def bonuses(request: Request, user: Marketer) -> Response:
    service = _service(request)
    return _form_page(request, service, "loyalty/bonuses.html", {
        "rule_names": RULE_NAMES,
        "values": forms.rules_values(service.newest_version().programme)})


@router.post("/loyalty/bonuses", response_class=HTMLResponse)
async def save_bonuses(request: Request, user: Marketer) -> Response:
    form = await request.form()

    def change(_newest: Programme) -> Callable[[Programme], Programme]:
        values = forms.parse_rules(form)
        return lambda p: set_rules(p, **values)

    return await run_in_threadpool(
        _save, request, user, form, template="loyalty/bonuses.html",
        extra={"rule_names": RULE_NAMES}, change=change,
        part=rules_part(*RULE_NAMES), current=forms.rules_values,
        done="/loyalty/offers")
