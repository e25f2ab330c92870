"""``regulars points``: spending and adjusting: redeem, spend, cancel, adjust, bonus."""

from __future__ import annotations

from typing import Annotated

import typer

from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt
from regulars.entrypoints.cli.points_common import (
    JsonOpt,
    loyalty_service,
    show,
)
from regulars.i18n import _


def redeem(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    reward: Annotated[str, typer.Argument(help=_("Reward code (see `regulars points "
                                                 "rewards`)."))],
    key: Annotated[str, typer.Option(help=_("Idempotency key: a retry with it redeems once."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.redeem(member, reward, key=key)
        show(r, as_json, _("{m} redeemed {r} for {p} points: coupon {c} valid until {u}; "
                            "balance {b}").format(m=r.member_id, r=r.reward, p=r.points,
                                                  c=r.coupon_code, u=r.valid_until,
                                                  b=r.balance_after))


def spend(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    points: Annotated[int, typer.Argument(help=_("Points to spend."), min=1)],
    key: Annotated[str, typer.Option(help=_("Idempotency key: a retry with it spends once."))],
    reason: Annotated[str, typer.Option(help=_("What the points paid for."))] = "payment",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.spend(member, points, key=key, reason=reason)
        show(r, as_json, _("{m} spent {p} points; balance {b}").format(
            m=r.member_id, p=r.points, b=r.balance_after))


def cancel(
    reason: Annotated[str, typer.Option(help=_("Why (kept in the ledger)."))],
    actor: Annotated[str, typer.Option(help=_("Who (kept in the ledger)."))],
    coupon: Annotated[str | None, typer.Option(
        help=_("The coupon the redemption issued."))] = None,
    key: Annotated[str | None, typer.Option(
        help=_("The redemption's (or payment's) idempotency key, instead of --coupon."))
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    if (coupon is None) == (key is None):
        raise typer.BadParameter(_("give --coupon or --key (one of them)"))
    with loyalty_service(config, database_url) as svc:
        r = svc.cancel_redemption(key=key, coupon_code=coupon, reason=reason, actor=actor)
        show(r, as_json, _("{m}: redemption {k} cancelled, {p} points back ({lapsed} expired "
                            "since); balance {b}").format(m=r.member_id, k=r.redemption,
                                                          p=r.points_back, lapsed=r.points_lapsed,
                                                          b=r.balance_after))


def adjust(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    points: Annotated[int, typer.Argument(help=_("Points to add (negative: to remove)."))],
    reason: Annotated[str, typer.Option(help=_("Why (kept in the ledger)."))],
    actor: Annotated[str, typer.Option(help=_("Who (kept in the ledger)."))],
    key: Annotated[str, typer.Option(help=_("Idempotency key."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.adjust(member, points, reason=reason, actor=actor, key=key)
        show(r, as_json, _("{m}: {p:+d} points ({reason}, by {a}); balance {b}").format(
            m=r.member_id, p=r.points, reason=r.reason, a=r.actor, b=r.balance_after))


def bonus(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    event: Annotated[str, typer.Argument(help=_("sign_up, birthday, review or nps_answer."))],
    key: Annotated[str | None, typer.Option(
        help=_("What the bonus is for (the review's id; default the year for birthdays)."))
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.award_bonus(member, event, key=key)
        show(r, as_json, _("{m}: {p} points for {e}").format(m=r.member_id, p=r.points,
                                                                e=r.event))
