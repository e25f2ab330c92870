"""``regulars points``: members and earning: enrol, accrue, sync, return, release."""

from __future__ import annotations

from typing import Annotated

import typer

from regulars import api
from regulars.domain.loyalty.ledger import Purchase
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


def enrol(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    email: Annotated[str | None, typer.Option(help=_("E-mail (to detect self-referral)."))
                     ] = None,
    phone: Annotated[str | None, typer.Option(help=_("Phone (to detect self-referral)."))
                     ] = None,
    consent: Annotated[bool, typer.Option("--consent/--no-consent",
                                          help=_("Whether the customer opted in."))] = True,
    referral_code: Annotated[str | None, typer.Option(help=_("A friend's referral code."))
                             ] = None,
    payment_fingerprint: Annotated[str | None, typer.Option(
        help=_("Fingerprint of the customer's payment card."))] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.enrol(member, consent=consent, email=email, phone=phone,
                      referral_code=referral_code, payment_fingerprint=payment_fingerprint)
        show(r, as_json, _("enrolled {m}: referral code {c}, {b} bonus points").format(
            m=r.member_id, c=r.referral_code, b=r.bonus_points))


def accrue(
    order_id: Annotated[str, typer.Argument(help=_("Order id (a retry with it earns once)."))],
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    amount: Annotated[str, typer.Argument(help=_("Amount paid."))],
    at: AtOpt = None,
    category: Annotated[list[str] | None, typer.Option(
        help=_("Product category of the order, repeatable."))] = None,
    payment_fingerprint: Annotated[str | None, typer.Option(
        help=_("Fingerprint of the payment card used."))] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        when = moment(svc, at) or svc.now()
        r = svc.accrue(Purchase(order_id, member, when, amount_of(amount, "AMOUNT"),
                                categories=tuple(category or ()),
                                payment_fingerprint=payment_fingerprint))
        show(r, as_json, _("order {o}: {p} points for {m}, {s}").format(
            o=r.order_id, p=r.points, m=r.member_id, s=r.status))


def sync_command(
    enrol_customers: Annotated[bool, typer.Option(
        "--enrol", help=_("First enrol the store's customers (opted in when they gave "
                          "consent on any channel)."))] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        overrides = {"database_url": database_url} if database_url else {}
        settings = api.load_settings(config, **overrides)
        r = api.sync_points(settings, enrol=enrol_customers)
        show(r, as_json, _(
            "enrolled {e}; orders accrued {a} ({p} points), already accrued {again}, skipped "
            "{s}; returns {r} ({rp} points back); released {rel} lots").format(
            e=r.enrolled, a=r.orders_accrued, p=r.points_earned,
            again=r.orders_already_accrued, s=r.orders_skipped, r=r.returns_recorded,
            rp=r.points_reversed, rel=r.released))
        if r.orders_unprocessable and not as_json:
            err.print(_("{n} orders could not be accrued (their data makes the accrual "
                        "fail; everyone else's were):").format(n=len(r.orders_unprocessable)),
                      highlight=False)
            for line in r.orders_unprocessable:
                err.print("  " + line, highlight=False)
        if not as_json:  # the customers left out, and why: the others were accrued
            for line in [*(_("set aside {n} {kind} ({ids}): {reasons}").format(
                    n=a["count"], kind=a["kind"], ids=", ".join(a["ids"]),
                    reasons="; ".join(a["reasons"])) for a in r.set_aside),
                         *r.skipped_lines()]:
                out.print(line, highlight=False, markup=False)


def return_command(
    return_id: Annotated[str, typer.Argument(help=_("Return id (a retry counts once)."))],
    order_id: Annotated[str, typer.Argument(help=_("The order returned."))],
    amount: Annotated[str, typer.Argument(help=_("Amount returned."))],
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.record_return(return_id, order_id, amount_of(amount, "AMOUNT"),
                              returned_at=moment(svc, at))
        show(r, as_json, _("return {r}: {p} points taken back from {m} (deficit {d}); "
                            "balance {b}").format(r=r.return_id, p=r.points_reversed,
                                                  m=r.member_id, d=r.deficit,
                                                  b=r.balance_after))


def release(
    order: Annotated[str | None, typer.Option(help=_("Release this order's points now."))
                     ] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.release_order(order) if order else svc.release_due(moment(svc, at),
                                                                   actor="cli")
        show(r, as_json, _("released {n} lots ({p} points) of {m} members").format(
            n=r.items, p=r.points, m=r.members))
