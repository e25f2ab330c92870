"""``regulars points``: run the loyalty programme from the command line.

Exit codes: 0 done (or a retry that changed nothing); 1 the programme refused the operation
(not enough points, unknown member, self-referral, …); 2 a usage or configuration error;
3 the store cannot be used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api, bootstrap
from regulars.domain.errors import ConfigError, InputError, RegularsError, StoreError
from regulars.domain.loyalty.errors import LoyaltyError, RunMomentError
from regulars.domain.loyalty.ledger import Purchase
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, fail, out, remember_store
from regulars.i18n import _
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.results import PeriodicRun, to_json

points_app = typer.Typer(
    name="points",
    help=_("The loyalty programme: enrol members, earn and spend points, tiers, referrals, "
           "rewards and statements."),
    no_args_is_help=True,
)
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help=_("When, as ISO 8601 (local time of the programme unless it "
                                "names a zone); default now."), show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help=_("Print JSON."))]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help=_("Show, member by member, what the run would take and change; write "
                        "nothing."))]


_fail = fail


@contextmanager
def _handled() -> Iterator[None]:
    try:
        yield
    except RunMomentError as e:
        _fail(str(e), 2)  # a bad --at: a usage error
    except LoyaltyError as e:
        _fail(str(e), 1)
    except (ConfigError, InputError) as e:
        _fail(str(e), 2)
    except StoreError as e:
        _fail(str(e), 3)
    except RegularsError as e:
        _fail(str(e), 2)


@contextmanager
def _service(config: Path | None, database_url: str | None) -> Iterator[LoyaltyService]:
    overrides = {"database_url": database_url} if database_url else {}
    with _handled():
        settings = bootstrap.load_settings(config, **overrides)
        remember_store(settings.database_url)
        with bootstrap.open_loyalty(settings) as svc:
            yield svc


def _when(service: LoyaltyService, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(_("expected ISO 8601, e.g. 2026-03-01T12:00"),
                                 param_hint="--at") from None
    return at if at.tzinfo else at.replace(tzinfo=service.programme.tz)


def _money(text: str, hint: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise typer.BadParameter(_("expected an amount such as 12.50"), param_hint=hint) from None
    if not value.is_finite():
        raise typer.BadParameter(_("expected an amount such as 12.50"), param_hint=hint)
    return value


def _show(result: Any, as_json: bool, line: str) -> None:
    if as_json:
        typer.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
        return
    if getattr(result, "replayed", False):
        line += "  " + _("(already done: nothing changed)")
    out.print(line, highlight=False)


@points_app.command("enrol")
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
    """Enrol a customer in the programme."""
    with _service(config, database_url) as svc:
        r = svc.enrol(member, consent=consent, email=email, phone=phone,
                      referral_code=referral_code, payment_fingerprint=payment_fingerprint)
        _show(r, as_json, _("enrolled {m}: referral code {c}, {b} bonus points").format(
            m=r.member_id, c=r.referral_code, b=r.bonus_points))


@points_app.command("accrue")
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
    """Earn points for one order (pending until its return window closes)."""
    with _service(config, database_url) as svc:
        when = _when(svc, at) or svc.now()
        r = svc.accrue(Purchase(order_id, member, when, _money(amount, "AMOUNT"),
                                categories=tuple(category or ()),
                                payment_fingerprint=payment_fingerprint))
        _show(r, as_json, _("order {o}: {p} points for {m}, {s}").format(
            o=r.order_id, p=r.points, m=r.member_id, s=r.status))


@points_app.command("sync")
def sync_command(
    enrol_customers: Annotated[bool, typer.Option(
        "--enrol", help=_("First enrol the store's customers (opted in when they gave "
                          "consent on any channel)."))] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Accrue the store's imported orders and returns in bulk (safe to run again)."""
    with _handled():
        overrides = {"database_url": database_url} if database_url else {}
        settings = bootstrap.load_settings(config, **overrides)
        r = api.sync_points(settings, enrol=enrol_customers)
        _show(r, as_json, _(
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


@points_app.command("return")
def return_command(
    return_id: Annotated[str, typer.Argument(help=_("Return id (a retry counts once)."))],
    order_id: Annotated[str, typer.Argument(help=_("The order returned."))],
    amount: Annotated[str, typer.Argument(help=_("Amount returned."))],
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Take back points in proportion to the amount returned."""
    with _service(config, database_url) as svc:
        r = svc.record_return(return_id, order_id, _money(amount, "AMOUNT"),
                              returned_at=_when(svc, at))
        _show(r, as_json, _("return {r}: {p} points taken back from {m} (deficit {d}); "
                            "balance {b}").format(r=r.return_id, p=r.points_reversed,
                                                  m=r.member_id, d=r.deficit,
                                                  b=r.balance_after))


@points_app.command("release")
def release(
    order: Annotated[str | None, typer.Option(help=_("Release this order's points now."))
                     ] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Make pending points available: those whose return window closed, or one order's."""
    with _service(config, database_url) as svc:
        r = svc.release_order(order) if order else svc.release_due(_when(svc, at),
                                                                   actor="cli")
        _show(r, as_json, _("released {n} lots ({p} points) of {m} members").format(
            n=r.items, p=r.points, m=r.members))


@points_app.command("redeem")
def redeem(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    reward: Annotated[str, typer.Argument(help=_("Reward code (see `regulars points "
                                                 "rewards`)."))],
    key: Annotated[str, typer.Option(help=_("Idempotency key: a retry with it redeems once."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Spend points on a reward and issue its single-use coupon."""
    with _service(config, database_url) as svc:
        r = svc.redeem(member, reward, key=key)
        _show(r, as_json, _("{m} redeemed {r} for {p} points: coupon {c} valid until {u}; "
                            "balance {b}").format(m=r.member_id, r=r.reward, p=r.points,
                                                  c=r.coupon_code, u=r.valid_until,
                                                  b=r.balance_after))


@points_app.command("spend")
def spend(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    points: Annotated[int, typer.Argument(help=_("Points to spend."), min=1)],
    key: Annotated[str, typer.Option(help=_("Idempotency key: a retry with it spends once."))],
    reason: Annotated[str, typer.Option(help=_("What the points paid for."))] = "payment",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Pay with points (soonest-expiring points first)."""
    with _service(config, database_url) as svc:
        r = svc.spend(member, points, key=key, reason=reason)
        _show(r, as_json, _("{m} spent {p} points; balance {b}").format(
            m=r.member_id, p=r.points, b=r.balance_after))


@points_app.command("cancel")
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
    """Cancel a redemption or a payment with points: its coupon stops being valid and the
    points go back to the lots they came from (those expired since do not come back)."""
    if (coupon is None) == (key is None):
        raise typer.BadParameter(_("give --coupon or --key (one of them)"))
    with _service(config, database_url) as svc:
        r = svc.cancel_redemption(key=key, coupon_code=coupon, reason=reason, actor=actor)
        _show(r, as_json, _("{m}: redemption {k} cancelled, {p} points back ({lapsed} expired "
                            "since); balance {b}").format(m=r.member_id, k=r.redemption,
                                                          p=r.points_back, lapsed=r.points_lapsed,
                                                          b=r.balance_after))


@points_app.command("adjust")
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
    """A manual adjustment, with a reason and an actor."""
    with _service(config, database_url) as svc:
        r = svc.adjust(member, points, reason=reason, actor=actor, key=key)
        _show(r, as_json, _("{m}: {p:+d} points ({reason}, by {a}); balance {b}").format(
            m=r.member_id, p=r.points, reason=r.reason, a=r.actor, b=r.balance_after))


@points_app.command("bonus")
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
    """Credit a bonus event's points (once per key)."""
    with _service(config, database_url) as svc:
        r = svc.award_bonus(member, event, key=key)
        _show(r, as_json, _("{m}: {p} points for {e}").format(m=r.member_id, p=r.points,
                                                                e=r.event))


@points_app.command("expire")
def expire(
    at: AtOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Expire the points whose time has come (safe to run again).

    --at may not be in the future; a past moment expires only what was due by then."""
    with _service(config, database_url) as svc:
        if dry_run:
            _show_preview(svc.preview_run(_when(svc, at)), as_json, tiers=False)
            return
        r = svc.expire_due(_when(svc, at), actor="cli")
        _show(r, as_json, _("expired {n} lots ({p} points) of {m} members").format(
            n=r.items, p=r.points, m=r.members))


@points_app.command("run")
def run_command(
    at: AtOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """The periodic work, as POST /v1/loyalty/run: release, expire, review tiers.

    --at may not be in the future, nor before the latest tier review. Each chunk of members
    commits with a record of what it did; a run that stops midway says what it committed,
    and running it again at the same --at finishes it."""
    with _service(config, database_url) as svc:
        when = _when(svc, at)
        if dry_run:
            _show_preview(svc.preview_run(when), as_json, tiers=True)
            return
        r = svc.run(when, actor="cli")
        if as_json:
            typer.echo(json.dumps(to_json(r), ensure_ascii=False, indent=2))
            return
        out.print(_("run {id} at {at}: released {rl} lots ({rp} points), expired {el} lots "
                    "({ep} points) of {em} members, {tc} tier changes").format(
            id=r.run_id, at=r.as_of.isoformat(timespec="seconds"), rl=r.released.items,
            rp=r.released.points, el=r.expired.items, ep=r.expired.points,
            em=r.expired.members, tc=r.tiers.items), highlight=False)
        for line in r.tiers.details:
            out.print("  " + line, highlight=False)


def _show_preview(p: PeriodicRun, as_json: bool, *, tiers: bool) -> None:
    if as_json:
        typer.echo(json.dumps(to_json(p), ensure_ascii=False, indent=2))
        return
    table = Table(title=_("a run at {at} would (nothing was written)").format(
        at=p.as_of.isoformat(timespec="seconds")))
    for col in (_("customer"), _("name"), _("points expiring"), _("pending expiring")):
        table.add_column(col)
    if tiers:
        table.add_column(_("tier"))
    for m in p.members:
        if not tiers and not m.lots_expiring:
            continue
        row = [m.member_id, m.name or "", str(m.points_expiring), str(m.pending_expiring)]
        if tiers:
            row.append(m.tier_from if m.tier_from == m.tier_to
                       else f"{m.tier_from} → {m.tier_to}")
        table.add_row(*row)
    out.print(table)
    line = _("in all: {el} lots ({ep} points) of {em} members would expire").format(
        el=p.expired.items, ep=p.expired.points, em=p.expired.members)
    if tiers:
        line += "; " + _("{rl} lots ({rp} points) would be released; {tc} tiers would "
                         "change").format(rl=p.released.items, rp=p.released.points,
                                          tc=p.tiers.items)
    out.print(line, highlight=False)


@points_app.command("notify-expiring")
def notify_expiring(
    within: Annotated[int | None, typer.Option(
        "--within", min=1, max=3650, metavar="DAYS",
        help=_("Points expiring within this many days (default from settings: "
               "api.points_expiring_notice_days, 14)."), show_default=False)] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Queue a points_expiring webhook per member and expiry date (each is sent once, ever).

    `regulars serve` delivers them, and runs this check itself every
    api.points_expiring_check_minutes. Nothing is sent while no webhook subscribes to
    points_expiring.
    """
    overrides = {"database_url": database_url} if database_url else {}
    with _handled():
        settings = bootstrap.load_settings(config, **overrides)
        when = None
        if at:
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                raise typer.BadParameter(_("expected ISO 8601, e.g. 2026-03-01T12:00"),
                                         param_hint="--at") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=bootstrap.loyalty_programme(settings).tz)
        r = api.notify_expiring(settings, at=when, within_days=within)
    if as_json:
        typer.echo(json.dumps(r, ensure_ascii=False, indent=2, default=str))
        return
    if not r["subscribers"]:
        out.print(_("no webhook subscribes to points_expiring: nothing sent"), highlight=False)
        return
    out.print(_("{n} points_expiring notices queued for {m} members ({p} points expiring "
                "by {until})").format(n=r["sent"], m=r["members"], p=r["points"],
                                      until=r["until"].isoformat(timespec="minutes")),
              highlight=False)


@points_app.command("tiers")
def tiers(
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Review every member's tier (downgrades after the period and its grace)."""
    with _service(config, database_url) as svc:
        r = svc.review_tiers(_when(svc, at), actor="cli")
        _show(r, as_json, _("{n} tier changes").format(n=r.items))
        if not as_json:
            for line in r.details:
                out.print("  " + line, highlight=False)


@points_app.command("refer")
def refer(
    member: Annotated[str, typer.Argument(help=_("The new customer (referee)."))],
    code: Annotated[str, typer.Argument(help=_("The referrer's code."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Record who referred a member who has not ordered yet."""
    with _service(config, database_url) as svc:
        r = svc.refer(member, code)
        _show(r, as_json, _("{m} was referred by {by}").format(m=r.member_id, by=r.referred_by))


@points_app.command("rewards")
def rewards(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """List the rewards catalogue."""
    with _handled():
        overrides = {"database_url": database_url} if database_url else {}
        settings = bootstrap.load_settings(config, **overrides)
        programme = bootstrap.loyalty_programme(settings)
        left: dict[str, int] = {}
        if any(r.stock is not None for r in programme.rewards):
            with bootstrap.open_loyalty(settings) as svc:
                left = svc.stock_left()
        table = Table(title=_("rewards"))
        for col in (_("code"), _("name"), _("kind"), _("points"), _("value"), _("left"),
                    _("per member")):
            table.add_column(col)
        for r in programme.rewards:
            value = f"{r.percent} %" if r.percent else str(r.value)
            stock = "–" if r.stock is None else f"{left.get(r.code, r.stock)} / {r.stock}"
            table.add_row(r.code, r.name, r.kind.value, str(r.points), value, stock,
                          "–" if r.per_member is None else str(r.per_member))
        out.print(table)


@points_app.command("coupon")
def coupon(
    code: Annotated[str, typer.Argument(help=_("Coupon code."))],
    order: Annotated[str, typer.Option(help=_("The order it is used on."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Use a coupon (once; valid only within its dates)."""
    with _service(config, database_url) as svc:
        r = svc.use_coupon(code, order_id=order)
        _show(r, as_json, _("coupon {c} ({r}) used on order {o}").format(
            c=r.code, r=r.reward, o=r.order_id))


@points_app.command("club")
def club(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    payment_ref: Annotated[str, typer.Option(help=_("Reference of the fee's payment."))],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Record a paid year of club membership."""
    with _service(config, database_url) as svc:
        r = svc.join_club(member, payment_ref=payment_ref)
        _show(r, as_json, _("{m} is in the club until {u}").format(m=r.member_id,
                                                                    u=r.club_until))


@points_app.command("card")
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
    """The stored-value card: top up, pay, refund."""
    with _service(config, database_url) as svc:
        money = _money(amount, "AMOUNT")
        if action == "top-up":
            r = svc.top_up(member, money, ref=ref, payment_method=payment_method or "")
        elif action == "pay":
            r = svc.pay_with_card(member, money, ref=ref)
        elif action == "refund":
            r = svc.refund_to_card(member, money, ref=ref, original_ref=original or "")
        else:
            raise typer.BadParameter(_("use top-up, pay or refund"), param_hint="ACTION")
        _show(r, as_json, _("{m}: card {k} {a}; the card holds {b}").format(
            m=r.member_id, k=r.kind, a=r.amount, b=r.balance_after))


@points_app.command("offer")
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
    """Issue an exclusive offer's coupons to the members its rule selects."""
    with _service(config, database_url) as svc:
        r = svc.run_offer(name, run_key=run_key, seed=seed)
        _show(r, as_json, _("{o}: {n} of {e} eligible members got a coupon{s}").format(
            o=r.offer, n=len(r.issued), e=r.eligible,
            s=f" (seed {r.seed})" if r.seed is not None else ""))


@points_app.command("statement")
def statement(
    member: Annotated[str, typer.Argument(help=_("Customer id."))],
    at: AtOpt = None,
    history: Annotated[int, typer.Option(help=_("Ledger lines to show."))] = 20,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """A member's balance, pending points, what expires soon, tier and history."""
    with _service(config, database_url) as svc:
        s = svc.statement(member, at=_when(svc, at), history=history)
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
        out.print(_("tier {t} (×{mult}, {d} % off): {q} {basis} in the window; {nxt}").format(
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


@points_app.command("check")
def check(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """Prove the books balance: cached balances equal the ledger and the lots."""
    with _service(config, database_url) as svc:
        problems = svc.verify()
        for p in problems:
            err.print(p, highlight=False)
        if problems:
            raise typer.Exit(1)
        out.print(_("the ledger balances: every cached balance equals its entries and lots"))
