"""``regulars points``: run the loyalty programme from the command line.

Exit codes: 0 done (or a retry that changed nothing); 1 the programme refused the operation
(not enough points, unknown member, self-referral, …); 2 a usage or configuration error;
3 the store cannot be used.

Every command acts through the audited loyalty service as the CLI's caller (the OS user,
channel ``cli``): its writes are in the audit log, and tier changes are queued as
``tier_changed`` webhooks, as over HTTP. The commands live by job in ``points_earning``,
``points_spending``, ``points_runs`` and ``points_members`` (their shared options and
helpers in ``points_common``); they are added here, in the order ``--help`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from regulars.entrypoints.cli import (
    points_common,
    points_earning,
    points_members,
    points_programme,
    points_runs,
    points_spending,
)
from regulars.i18n import N_, _

points_app = typer.Typer(
    name="points",
    help=_("The loyalty programme: enrol members, earn and spend points, tiers, referrals, "
           "rewards and statements."),
    no_args_is_help=True,
)


@points_app.callback()
def _command(ctx: typer.Context) -> None:
    # the audit log names the command (the group's help stays the Typer's above)
    points_common.COMMAND.set(f"regulars points {ctx.invoked_subcommand}")


# every command, in the order --help lists them, with its help (translated as it is built)
_COMMANDS: list[tuple[str, Callable[..., None], str]] = [
    ("enrol", points_earning.enrol, N_(
        "Enrol a customer in the programme.")),
    ("accrue", points_earning.accrue, N_(
        "Earn points for one order (pending until its return window closes).")),
    ("sync", points_earning.sync_command, N_(
        "Accrue the store's imported orders and returns in bulk (safe to run again).")),
    ("return", points_earning.return_command, N_(
        "Take back points in proportion to the amount returned.")),
    ("release", points_earning.release, N_(
        "Make pending points available: those whose return window closed, or one order's.")),
    ("redeem", points_spending.redeem, N_(
        "Spend points on a reward and issue its single-use coupon.")),
    ("spend", points_spending.spend, N_(
        "Pay with points (soonest-expiring points first).")),
    ("cancel", points_spending.cancel, N_(
        "Cancel a redemption or a payment with points: its coupon stops being valid and the "
        "points go back to the lots they came from (those expired since do not come back).")),
    ("adjust", points_spending.adjust, N_(
        "A manual adjustment, with a reason and an actor.")),
    ("bonus", points_spending.bonus, N_(
        "Credit a bonus event's points (once per key).")),
    ("expire", points_runs.expire, N_(
        "Expire the points whose time has come (safe to run again).\n\n"
        "--at may not be in the future; a past moment expires only what was due by then.")),
    ("run", points_runs.run_command, N_(
        "The periodic work, as POST /v1/loyalty/run: release, expire, review tiers.\n\n"
        "--at may not be in the future, nor before the latest tier review. Each chunk of members "
        "commits with a record of what it did; a run that stops midway says what it committed, "
        "and running it again at the same --at finishes it.")),
    ("notify-expiring", points_runs.notify_expiring, N_(
        "Queue a points_expiring webhook per member and expiry date (each is sent once, "
        "ever).\n\n"
        "`regulars serve` delivers them, and runs this check itself every "
        "api.points_expiring_check_minutes. Nothing is sent while no webhook subscribes to "
        "points_expiring.")),
    ("tiers", points_runs.tiers, N_(
        "Review every member's tier (downgrades after the period and its grace).")),
    ("refer", points_members.refer, N_(
        "Record who referred a member who has not ordered yet.")),
    ("rewards", points_members.rewards, N_(
        "List the rewards catalogue.")),
    ("coupon", points_members.coupon, N_(
        "Use a coupon (once; valid only within its dates).")),
    ("club", points_members.club, N_(
        "Record a paid year of club membership.")),
    ("card", points_members.card, N_(
        "The stored-value card: top up, pay, refund.")),
    ("offer", points_members.offer, N_(
        "Issue an exclusive offer's coupons to the members its rule selects.")),
    ("statement", points_members.statement, N_(
        "A member's balance, pending points, what expires soon, tier and history.")),
    ("check", points_members.check, N_(
        "Prove the books balance: cached balances equal the ledger and the lots.")),
]
for _name, _function, _help in _COMMANDS:
    points_app.command(_name, help=_(_help))(_function)
points_app.add_typer(points_programme.programme_app)
