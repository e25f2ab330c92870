"""The periodic run: release, expiry and tier review in that order, each chunk committed and
recorded; and its dry run."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from regulars.domain.loyalty.errors import LoyaltyError
from regulars.domain.loyalty.ledger import LotState
from regulars.i18n import _
from regulars.services.loyalty.core import RUN_STEPS, RunLog, incomplete
from regulars.services.loyalty.expiry import Expiry
from regulars.services.loyalty.ports import RunChunk
from regulars.services.loyalty.results import PeriodicRun, RunMember, RunResult
from regulars.services.loyalty.returns import Returns
from regulars.services.loyalty.tiers import Tiers


class Runs(Returns, Expiry, Tiers):
    """The periodic run (release, expiry, tiers), its record and its dry run.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def release_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Make available every pending lot whose return window has closed by ``at``
        (idempotent: a released lot is not pending any more). See :meth:`run` for the
        moments allowed and what a failure midway leaves."""
        return self.run(at, steps=("release",), actor=actor).released

    def expire_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Expire every lot past its expiry at ``at``. Idempotent: expired lots are empty.
        See :meth:`run` for the moments allowed and what a failure midway leaves."""
        return self.run(at, steps=("expire",), actor=actor).expired


    def review_tiers(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Review every member's tier at ``at``: downgrades after the qualification period
        and its grace period, renewals, and any upgrade not yet applied. Idempotent. See
        :meth:`run` for the moments allowed (never before the latest review)."""
        return self.run(at, steps=("tiers",), actor=actor).tiers

    def _release_step(self, at: datetime, log: RunLog) -> RunResult:
        with self.store.reading() as tx:
            due = tx.due_releases(at)
        by_member: dict[str, list[str]] = defaultdict(list)
        for member_id, lot_ref in due:
            by_member[member_id].append(lot_ref)
        return self._release(by_member, at, explicit=False, log=log)

    def run(self, at: datetime | None = None, *, steps: Sequence[str] = RUN_STEPS,
            actor: str = "system", run_id: str | None = None) -> PeriodicRun:
        """The programme's periodic work at ``at`` (default now): release the points whose
        return window has closed, expire due lots, review tiers — in that order, each in
        chunks of ``run_chunk`` members, one transaction per chunk.

        The moment (:meth:`run_moment`): not in the future; in the past, release and expiry
        only do what was due by then (each entry is dated at its lot's own moment, so a past
        moment after a later run finds nothing: nothing twice, nothing undone); a tier review
        is refused before the latest review (:class:`RunMomentError`, nothing written).

        Every chunk records what it did (``loyalty_runs``) in its own transaction. When a
        chunk fails, :class:`RunIncompleteError` says what the committed ones did; nothing
        else was written, and running again at the same moment finishes the work (each step
        is idempotent)."""
        unknown = set(steps) - set(RUN_STEPS)
        if unknown:
            raise LoyaltyError(_("unknown run steps: {s}").format(s=", ".join(sorted(unknown))))
        self.versions()
        when = self.run_moment(at)
        if "tiers" in steps:
            with self.store.reading() as tx:
                self._check_review_moment(tx, when)
        log = RunLog(run_id or secrets.token_hex(8), when, actor)
        done: dict[str, RunResult] = {}
        step = steps[0] if steps else ""
        try:
            for step in RUN_STEPS:
                if step in steps:
                    done[step] = {"release": self._release_step, "expire": self._expire_step,
                                  "tiers": self._tiers_step}[step](when, log)
        except Exception as e:
            raise incomplete(log, step, e) from e
        return PeriodicRun(log.run_id, when, done.get("release", RunResult()),
                           done.get("expire", RunResult()), done.get("tiers", RunResult()))

    def run_record(self, run_id: str) -> list[RunChunk]:
        """What a run committed, chunk by chunk (as recorded in its chunks' transactions)."""
        with self.store.reading() as tx:
            return tx.run_chunks(run_id)

    def preview_run(self, at: datetime | None = None) -> PeriodicRun:
        """What :meth:`run` at ``at`` would do, per member (with the customer's name when the
        store has it): the points the expiry would take and the tier the review would move
        to, and the totals. Refuses the moments the run refuses. Writes nothing (one read
        transaction, rolled back)."""
        when = self.run_moment(at)
        per_member: dict[str, list[int]] = {}
        tiers: dict[str, tuple[str, str]] = {}
        with self.store.reading() as tx:
            self._check_review_moment(tx, when)
            due = tx.due_releases(when)
            due_refs = frozenset(ref for _m, ref in due)
            due_lots = tx.lots(sorted(due_refs))
            released = [lot for lot in due_lots.values()
                        if lot.state is LotState.PENDING and lot.remaining > 0]
            ids = tx.due_expiries(when)
            for i in range(0, len(ids), self.run_chunk):
                _accounts, taken = self._expire_part(tx, ids[i : i + self.run_chunk], when,
                                                     lock=False, version=None,
                                                     release=due_refs)
                for mid, n, pts, pend in taken:
                    per_member[mid] = [pts, pend, n]
            all_ids = tx.member_ids()
            for i in range(0, len(all_ids), self.run_chunk):
                part = all_ids[i : i + self.run_chunk]
                before = {m.member_id: m.tier for m in tx.members(part).values()}
                rows, _updated, _lines = self._review_part(tx, part, when, lock=False)
                for row in rows:
                    tiers[row["member_id"]] = (before[row["member_id"]], row["to_tier"])
            touched = sorted(set(per_member) | set(tiers))
            names = tx.customer_names(touched)
            current = {m.member_id: m.tier for m in tx.members(touched).values()}
        members = []
        for mid in touched:
            pts, pend, n = per_member.get(mid, [0, 0, 0])
            tier_from, tier_to = tiers.get(mid, (current.get(mid, ""), current.get(mid, "")))
            members.append(RunMember(mid, names.get(mid), pts, pend, n, tier_from, tier_to))
        lines = tuple(f"{mid}: {a} → {b}" for mid, (a, b) in sorted(tiers.items()))
        expired = RunResult(len(per_member), sum(v[2] for v in per_member.values()),
                            sum(v[0] + v[1] for v in per_member.values()))
        released_result = RunResult(len({lot.member_id for lot in released}), len(released),
                                    sum(lot.remaining for lot in released))
        return PeriodicRun("", when, released_result, expired,
                           RunResult(len(tiers), len(tiers), 0, lines), dry_run=True,
                           members=tuple(members))
