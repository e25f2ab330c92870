"""``regulars points``: referrals, the catalogue, coupons, the club and stored value, offers,
statements and the books' check."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.points_common import (
    AtOpt,
    JsonOpt,
    amount_of,
    handled,
    loyalty_service,
    moment,
    show,
)
from regulars.i18n import _
from regulars.services.loyalty.results import to_json


def refer(
    member: Annotated[str, typer.Argument(help=_("The new customer (referee)."))],
    code: Annotated[str, typer.Argument(help=_("The referrer's code."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.refer(member, code)
        show(r, as_json, _("{m} was referred by {by}").format(m=r.member_id, by=r.referred_by))


def rewards(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with handled():
        overrides = {"database_url": database_url} if database_url else {}
        settings = api.load_settings(config, **overrides)
        # the programme in force: the store's when it was edited on the web
        with api.open_loyalty(settings) as svc:
            programme = svc.programme
            left = svc.stock_left() if any(r.stock is not None for r in programme.rewards) \
                else {}
        table = Table(title=_("rewards"))
        for col in (_("code"), _("name"), _("kind"), _("points"), _("value"), _("left"),
                    _("per member")):
            table.add_column(col)
        for r in programme.rewards:
            if not r.active:
                continue
            value = f"{r.percent} %" if r.percent else str(r.value)
            stock = "–" if r.stock is None else f"{left.get(r.code, r.stock)} / {r.stock}"
            table.add_row(r.code, r.name, r.kind.value, str(r.points), value, stock,
                          "–" if r.per_member is None else str(r.per_member))
        out.print(table)


def coupon(
    code: Annotated[str, typer.Argument(help=_("Coupon code."))],
    order: Annotated[str, typer.Option(help=_("The order it is used on."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.use_coupon(code, order_id=order)
        show(r, as_json, _("coupon {c} ({r}) used on order {o}").format(
            c=r.code, r=r.reward, o=r.order_id))


def club(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    payment_ref: Annotated[str, typer.Option(help=_("Reference of the fee's payment."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.join_club(member, payment_ref=payment_ref)
        show(r, as_json, _("{m} is in the club until {u}").format(m=r.member_id,
                                                                    u=r.club_until))


def card(
    action: Annotated[str, typer.Argument(help=_("top-up, pay or refund."))],
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    amount: Annotated[str, typer.Argument(help=_("Amount."))],
    ref: Annotated[str, typer.Option(help=_("Reference of this operation (once per ref)."))],
    payment_method: Annotated[str | None, typer.Option(
        help=_("For top-up: how it was paid (not the card itself)."))] = None,
    original: Annotated[str | None, typer.Option(
        help=_("For refund: the ref of the payment refunded."))] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        money = amount_of(amount, "AMOUNT")
        if action == "top-up":
            r = svc.top_up(member, money, ref=ref, payment_method=payment_method or "")
        elif action == "pay":
            r = svc.pay_with_card(member, money, ref=ref)
        elif action == "refund":
            r = svc.refund_to_card(member, money, ref=ref, original_ref=original or "")
        else:
            raise typer.BadParameter(_("use top-up, pay or refund"), param_hint="ACTION")
        show(r, as_json, _("{m}: card {k} {a}; the card holds {b}").format(
            m=r.member_id, k=r.kind, a=r.amount, b=r.balance_after))


def offer(
    name: Annotated[str, typer.Argument(help=_("The offer's name in [loyalty] offers."))],
    run_key: Annotated[str | None, typer.Option(
        help=_("Which run (default today's date): a second run with it changes nothing."))
    ] = None,
    seed: Annotated[int | None, typer.Option(help=_("Seed of a draw (recorded)."))] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.run_offer(name, run_key=run_key, seed=seed)
        show(r, as_json, _("{o}: {n} of {e} eligible members got a coupon{s}").format(
            o=r.offer, n=len(r.issued), e=r.eligible,
            s=f" (seed {r.seed})" if r.seed is not None else ""))


def statement(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    at: AtOpt = None,
    history: Annotated[int, typer.Option(help=_("Ledger lines to show."))] = 20,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        s = svc.statement(member, at=moment(svc, at), history=history)
        if as_json:
            typer.echo(json.dumps(to_json(s), ensure_ascii=False, indent=2))
            return
        out.print(_("[bold]{m}[/]: {b} points available, {p} pending").format(
            m=s.member_id, b=s.balance, p=s.pending))
        if s.expired_unswept:
            out.print(_("{n} points have expired (written off at the next `regulars points "
                        "expire`)").format(n=s.expired_unswept), highlight=False)
        if s.debt or s.deficit:
            out.print(_("owed back: {d}; written off: {f}").format(d=s.debt, f=s.deficit))
        for day, n in s.expiring:
            out.print(_("  {n} expire after {day}").format(n=n, day=day), highlight=False)
        nxt = _("top tier") if s.next_tier is None else _("{x} more to {t}").format(
            x=s.to_next_tier, t=s.next_tier)
        out.print(_("tier {t} (×{mult}, discount {d} %): {q} {basis} in the window; {nxt}").format(
            t=s.tier, mult=s.tier_multiplier, d=s.tier_discount_percent, q=s.qualifying,
            basis=s.tier_basis, nxt=nxt), highlight=False)
        if s.referral_code:
            out.print(_("referral code: {c}").format(c=s.referral_code), highlight=False)
        for c in s.coupons:
            out.print(_("coupon {c}").format(c=c), highlight=False)
        table = Table(title=_("history"))
        for col in (_("when"), _("what"), _("points"), _("pending"), _("why")):
            table.add_column(col)
        for line in s.history:
            table.add_row(line.at.isoformat(timespec="minutes"), line.kind, f"{line.points:+d}",
                          f"{line.pending:+d}", line.reason)
        out.print(table)


def check(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    with loyalty_service(config, database_url) as svc:
        problems = svc.verify()
        for p in problems:
            err.print(p, highlight=False)
        if problems:
            raise typer.Exit(1)
        out.print(_("the ledger balances: every cached balance equals its entries and lots"))
