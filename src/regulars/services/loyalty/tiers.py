"""The periodic tier review (downgrades, renewals, upgrades not yet applied) and the tier
history; upgrades at the moment of an order are in ``earning``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from regulars.domain.loyalty.earning import qualifying_total
from regulars.domain.loyalty.errors import RunMomentError
from regulars.domain.loyalty.ledger import Member
from regulars.domain.loyalty.programme import aware
from regulars.domain.loyalty.tiers import review
from regulars.i18n import _
from regulars.services.loyalty.core import LoyaltyCore, RunLog
from regulars.services.loyalty.ports import Accrual, LoyaltyTx
from regulars.services.loyalty.results import RunResult


class Tiers(LoyaltyCore):
    """The tier review step of the periodic run, and the tier history.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def _tiers_step(self, at: datetime, log: RunLog) -> RunResult:
        with self.store.reading() as tx:
            ids = tx.member_ids()
        changed: list[str] = []
        for i in range(0, len(ids), self.run_chunk):
            part = ids[i : i + self.run_chunk]
            with self.store.transaction() as tx:
                self._check_review_moment(tx, at)  # a concurrent later review: stop here
                rows, updated, lines = self._review_part(tx, part, at, lock=True)
                tx.update_members(updated)
                tx.add_tier_changes(rows)
                chunk = log.chunk("tiers", len(lines), len(lines), 0, lines)
                tx.add_run_chunk(chunk, self.now())
                tx.commit()
            log.committed(chunk)
            changed += lines
        return RunResult(len(changed), len(changed), 0, tuple(changed))

    def _review_part(self, tx: LoyaltyTx, part: Sequence[str], at: datetime, *, lock: bool,
                     ) -> tuple[list[dict[str, Any]], list[Member], list[str]]:
        """The tier review of ``part`` at ``at``, in memory: the history rows, the members
        whose tier or period moves, and one line per tier change."""
        prog = self.programme
        since = at - timedelta(days=prog.tier_window_days)
        members = tx.members(part, lock=lock)
        history: dict[str, list[Accrual]] = defaultdict(list)
        for a in tx.accrual_history(part, since):
            history[a.member_id].append(a)
        rows: list[dict[str, Any]] = []
        updated: list[Member] = []
        lines: list[str] = []
        for mid, member in members.items():
            qualifying = qualifying_total(prog, history[mid], at)
            d = review(prog, current=member.tier, period_end=member.tier_period_end,
                       qualifying=qualifying, at=at)
            if d.changed_tier:
                rows.append({"member_id": mid, "at": at, "from_tier": member.tier,
                             "to_tier": d.tier, "change": d.change,
                             "qualifying": qualifying})
                lines.append(f"{mid}: {member.tier} → {d.tier}")
            if d.tier != member.tier or d.period_end != member.tier_period_end:
                member.tier, member.tier_period_end = d.tier, d.period_end
                updated.append(member)
        return rows, updated, lines

    @staticmethod
    def _check_review_moment(tx: LoyaltyTx, at: datetime) -> None:
        """Refuse a tier review before the latest one: it judges the window ending at its
        own moment, so it could move back up a member that review moved down."""
        last = tx.last_run_at("tiers")
        if last is not None and aware(at) < aware(last):
            raise RunMomentError(_(
                "the tiers were last reviewed at {last}: a review at an earlier moment "
                "({at}) could undo what that one did; use {last} or later").format(
                last=aware(last).isoformat(timespec="seconds"),
                at=aware(at).isoformat(timespec="seconds")))

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        with self.store.reading() as tx:
            return tx.tier_history(member_id)
