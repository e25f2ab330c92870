"""The notices of points about to expire, each sent once, ever."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from regulars.domain.loyalty.errors import LoyaltyError
from regulars.domain.loyalty.programme import aware
from regulars.i18n import _, fmt_days
from regulars.services.loyalty.core import RETRIES, LoyaltyCore
from regulars.services.loyalty.ports import DuplicateKey, ExpiringPoints
from regulars.services.loyalty.results import NoticeResult


class Notices(LoyaltyCore):
    """Notices of points about to expire.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def _notice_window(self, at: datetime | None, within_days: int) -> tuple[datetime, datetime]:
        if within_days < 1:
            raise LoyaltyError(_("the notice window must be at least one day, not {days}").format(
                days=fmt_days(within_days)))
        start = aware(at) if at is not None else self.now()
        return start, start + timedelta(days=within_days)

    def expiring_points(self, at: datetime | None = None, *,
                        within_days: int) -> list[ExpiringPoints]:
        """The available points that expire after ``at`` (default now) and at most
        ``within_days`` days later, per member and expiry instant, that no notice has been
        recorded for (pending points cannot be spent before they expire: they are left
        out). Computed by the store in one grouped query."""
        start, until = self._notice_window(at, within_days)
        with self.store.reading() as tx:
            return tx.expiring_points(start, until)

    def notify_expiring(self, send: Callable[[Sequence[ExpiringPoints]], object], *,
                        at: datetime | None = None, within_days: int,
                        chunk: int = 500) -> NoticeResult:
        """Send one notice per member and expiry instant of the points expiring within
        ``within_days`` days of ``at`` (see :meth:`expiring_points`), through ``send``.

        A notice is recorded (under the primary key member + expiry) *before* it is handed to
        ``send``, in batches of ``chunk``: a second run, a concurrent one or one after a
        restart finds it recorded and sends nothing again. When ``send`` raises, the batch's
        records are removed again (so the next run retries it) and the error propagates; a
        crash between the two loses a notice rather than sending it twice.

        ``at`` may not lie in the future (:meth:`run_moment`): a notice is sent once, ever, so
        one recorded early would keep the real one from going out."""
        self.versions()
        at = self.run_moment(at) if at is not None else None
        start, until = self._notice_window(at, within_days)
        with self.store.reading() as tx:
            found = tx.expiring_points(start, until)
        notices = members = points = 0
        for i in range(0, len(found), chunk):
            fresh = self._record_notices(found[i : i + chunk], start)
            if not fresh:
                continue
            try:
                send(fresh)
            except BaseException:
                with self.store.transaction() as tx:
                    tx.delete_expiry_notices(fresh)
                    tx.commit()
                raise
            notices += len(fresh)
            members += len({n.member_id for n in fresh})
            points += sum(n.points for n in fresh)
        return NoticeResult(start, until, notices, members, points)

    def _record_notices(self, part: Sequence[ExpiringPoints],
                        start: datetime) -> list[ExpiringPoints]:
        """Record the notices of ``part`` nobody recorded yet; returns those (with ids)."""
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    done = tx.expiry_notices({n.member_id for n in part}, start)
                    fresh = [replace(n, notice_id=secrets.token_hex(16)) for n in part
                             if (n.member_id, aware(n.expires_at)) not in done]
                    tx.add_expiry_notices(fresh, self.now())
                    tx.commit()
                return fresh
            except DuplicateKey:
                continue  # a concurrent run recorded some of them first: look again
        raise LoyaltyError(_("too many concurrent runs of the expiry notices; try again"))
