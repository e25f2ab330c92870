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

import typer

from regulars.entrypoints.cli import (
    points_common,
    points_earning,
    points_members,
    points_runs,
    points_spending,
)
from regulars.i18n import _

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


points_app.command("enrol")(points_earning.enrol)
points_app.command("accrue")(points_earning.accrue)
points_app.command("sync")(points_earning.sync_command)
points_app.command("return")(points_earning.return_command)
points_app.command("release")(points_earning.release)
points_app.command("redeem")(points_spending.redeem)
points_app.command("spend")(points_spending.spend)
points_app.command("cancel")(points_spending.cancel)
points_app.command("adjust")(points_spending.adjust)
points_app.command("bonus")(points_spending.bonus)
points_app.command("expire")(points_runs.expire)
points_app.command("run")(points_runs.run_command)
points_app.command("notify-expiring")(points_runs.notify_expiring)
points_app.command("tiers")(points_runs.tiers)
points_app.command("refer")(points_members.refer)
points_app.command("rewards")(points_members.rewards)
points_app.command("coupon")(points_members.coupon)
points_app.command("club")(points_members.club)
points_app.command("card")(points_members.card)
points_app.command("offer")(points_members.offer)
points_app.command("statement")(points_members.statement)
points_app.command("check")(points_members.check)
