"""Where points expire: the periodic run's expiry step, chunk by chunk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from regulars.domain.loyalty.ledger import Account
from regulars.domain.loyalty.release import expire_accounts
from regulars.services.loyalty.core import LoyaltyCore, RunLog
from regulars.services.loyalty.ports import LoyaltyTx
from regulars.services.loyalty.results import RunResult


class Expiry(LoyaltyCore):
    """The expiry step of the periodic run.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def _expire_step(self, at: datetime, log: RunLog) -> RunResult:
        with self.store.reading() as tx:
            ids = tx.due_expiries(at)
        members_done = lots_done = points = 0
        for i in range(0, len(ids), self.run_chunk):
            part = ids[i : i + self.run_chunk]
            with self.store.transaction() as tx:
                accounts, taken = self._expire_part(tx, part, at, lock=True,
                                                    version=self.current_version)
                tx.save_accounts(accounts)
                m, n, p = len(taken), sum(t[1] for t in taken), sum(t[2] + t[3] for t in taken)
                chunk = log.chunk("expire", m, n, p,
                                  [f"{mid}: {pts + pend}" for mid, _n, pts, pend in taken])
                tx.add_run_chunk(chunk, self.now())
                tx.commit()
            log.committed(chunk)
            members_done, lots_done, points = members_done + m, lots_done + n, points + p
        return RunResult(members_done, lots_done, points)

    @staticmethod
    def _expire_part(tx: LoyaltyTx, part: Sequence[str], at: datetime, *, lock: bool,
                     version: int | None, release: frozenset[str] = frozenset(),
                     ) -> tuple[list[Account], list[tuple[str, int, int, int]]]:
        """The accounts of ``part`` with their lots due at ``at`` expired (in memory), and per
        member touched: (id, lots, spendable points, pending points) taken. Lots named in
        ``release`` are made available first (a dry run: the run releases before expiring)."""
        members = tx.members(part, lock=lock)
        lots = tx.open_lots(part)
        accounts = [Account.of(m, lots.get(mid, [])) for mid, m in members.items()]
        return accounts, expire_accounts(accounts, at, version=version, release=release)
