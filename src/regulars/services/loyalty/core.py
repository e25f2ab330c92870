"""What every loyalty use case shares (DOMAIN §8): the programme's versions, the idempotent
write, reading a member's account, crediting, spending and issuing coupons.

Each use case owns one transaction.

Every write is keyed: an order by its id, a return by its id, a redemption or adjustment by
the caller's idempotency key. The key is recorded with the write's result in the same
transaction, under a UNIQUE constraint, so a retried call — even one racing the original —
returns the original result and changes nothing (odoo/odoo#222372 credited points twice when a
confirmation was retried). Writes to one member serialise on that member (see
``adapters/db/loyalty_store.py``), so two redemptions cannot both spend the same points
(saleor/saleor#544).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self, TypeVar

from regulars.domain.loyalty.codes import new_code
from regulars.domain.loyalty.earning import credit_now
from regulars.domain.loyalty.errors import (
    IdempotencyConflictError,
    InsufficientPointsError,
    LoyaltyError,
    RunIncompleteError,
    RunMomentError,
    UnknownMemberError,
)
from regulars.domain.loyalty.ledger import Account, Entry, EntryKind, Member
from regulars.domain.loyalty.programme import Programme, aware
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.loyalty.ports import (
    SOURCE_FILE,
    SOURCE_WEB,
    Clock,
    Coupon,
    DuplicateKey,
    LoyaltyStore,
    LoyaltyTx,
    Operation,
    ProgrammeRecord,
    RunChunk,
)
from regulars.services.loyalty.results import from_json, to_json

R = TypeVar("R")
log = logging.getLogger("regulars.loyalty")
RETRIES = 5
# what an order's own data can make the arithmetic of its accrual raise (dates beyond the
# calendar, amounts beyond Decimal's context); a store failure is none of these
DATA_ERRORS = (ArithmeticError, ValueError)
# how far ahead of the server's clock a periodic run's moment may be (clocks drift)
RUN_CLOCK_TOLERANCE = timedelta(minutes=5)
RUN_STEPS = ("release", "expire", "tiers")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def fingerprint(kind: str, request: dict[str, Any]) -> str:
    text = json.dumps([kind, request], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _norm_email(value: str | None) -> str | None:
    return value.strip().lower() or None if value else None


def _norm_phone(value: str | None) -> str | None:
    digits = "".join(c for c in value if c.isdigit()) if value else ""
    return digits or None


class RunLog:
    """A periodic run's identity and what its committed chunks did so far."""

    def __init__(self, run_id: str, as_of: datetime, actor: str) -> None:
        self.run_id, self.as_of, self.actor = run_id, as_of, actor
        self.next_chunk: dict[str, int] = defaultdict(int)
        self.done: dict[str, dict[str, int]] = {}

    def chunk(self, step: str, members: int, items: int, points: int,
              detail: Iterable[str]) -> RunChunk:
        return RunChunk(self.run_id, step, self.next_chunk[step], self.as_of, self.actor,
                        members, items, points, tuple(detail))

    def committed(self, chunk: RunChunk) -> None:
        self.next_chunk[chunk.step] = chunk.chunk + 1
        d = self.done.setdefault(chunk.step, {"chunks": 0, "members": 0, "items": 0,
                                              "points": 0})
        d["chunks"] += 1
        d["members"] += chunk.members
        d["items"] += chunk.items
        d["points"] += chunk.points


def incomplete(log: RunLog, step: str, e: Exception) -> RunIncompleteError:
    doing = {"release": _("releasing points"), "expire": _("expiring points"),
             "tiers": _("reviewing tiers")}.get(step, step)
    cause = str(e).strip() or type(e).__name__
    d = {k: log.done.get(k, {}) for k in RUN_STEPS}
    message = _(
        "the run {run} at {at} stopped while {doing}: {cause}. What it committed is recorded: "
        "{rl} lots released ({rp} points), {el} lots expired ({ep} points), {tc} tier "
        "changes; nothing else was written. Run it again at {at} to finish: nothing is done "
        "twice.").format(run=log.run_id, at=log.as_of.isoformat(timespec="seconds"),
                         doing=doing, cause=cause, rl=d["release"].get("items", 0),
                         rp=d["release"].get("points", 0), el=d["expire"].get("items", 0),
                         ep=d["expire"].get("points", 0), tc=d["tiers"].get("items", 0))
    return RunIncompleteError(message, run_id=log.run_id, as_of=log.as_of, step=step,
                              committed={k: dict(v) for k, v in log.done.items()},
                              cause=cause)


@dataclass
class Version:
    """A recorded version of the programme: its number, from when it applies, its rules,
    and where it came from (``source``: ``file``, ``web``; None: recorded before sources
    were kept, from the file), who made it and why."""

    number: int
    effective_from: datetime
    programme: Programme
    source: str | None = None
    author: str | None = None
    note: str | None = None
    recorded_at: datetime | None = None
    fingerprint: str = ""

    @property
    def from_web(self) -> bool:
        return self.source == SOURCE_WEB


class LoyaltyCore:
    """The state and helpers the use-case modules share; see :class:`LoyaltyService`.

    **Where the rules come from.** ``programme`` (the settings' ``[loyalty]``) is the source
    until the programme is edited on the web. Then the newest version in the store is a web
    one, and every process (the server's workers, the CLI, the worker) runs the store's
    version in force now: the file's ``[loyalty]`` is no longer applied, and when it differs
    from the store's newest version :attr:`file_differs` says so and the log warns (once per
    process). ``regulars points programme adopt-file`` (:meth:`adopt_file`) makes the file
    the source again. A process looks for a new version at most every ``refresh_seconds``
    (the one that saved it sees it at once)."""

    def __init__(
        self,
        store: LoyaltyStore,
        programme: Programme,
        *,
        clock: Clock | None = None,
        chunk: int = 500,
        run_chunk: int = 200,
        normalise_email: Callable[[str | None], str | None] = _norm_email,
        normalise_phone: Callable[[str | None], str | None] = _norm_phone,
        currency: str | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        self.store = store
        #: the programme the settings file defines (``[loyalty]``)
        self.configured = programme
        #: the business's currency (ISO 4217), for the amounts its messages name
        self.currency = currency
        self.clock: Clock = clock or _utcnow
        self.chunk = chunk
        self.run_chunk = run_chunk
        self.normalise_email = normalise_email
        self.normalise_phone = normalise_phone
        self.refresh_seconds = refresh_seconds
        #: the store is the source and the file's ``[loyalty]`` differs from its newest version
        self.file_differs = False
        self._versions: list[Version] | None = None
        self._checked = 0.0
        self._warned = False

    def close(self) -> None:
        """Close the store's pooled connections (the service can still be used after)."""
        self.store.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        return aware(self.clock())

    @property
    def programme(self) -> Programme:
        """The rules in force now: the file's, or (once edited on the web) the store's."""
        return self._in_force(self.versions()).programme

    @property
    def from_web(self) -> bool:
        """Whether the store is the programme's source (its newest version was made on the
        web)."""
        return self.versions()[-1].from_web

    def versions(self) -> list[Version]:
        """Every recorded version of the programme, oldest first (recording the file's one
        while the file is the source)."""
        tick = time.monotonic()
        versions = self._versions
        if versions is None:
            versions = self._record_programme()
            assert versions is not None
            self._checked = tick
        elif tick - self._checked >= self.refresh_seconds:
            self._checked = tick
            with self.store.reading() as tx:
                head = tx.programme_head()
            if head != versions[-1].number:
                versions = self._record_programme(record=False) or versions
        self._versions = versions
        return versions

    def forget_versions(self) -> None:
        """Read the versions again on next use (after a write of one)."""
        self._versions = None

    @property
    def current_version(self) -> int:
        return self._in_force(self.versions()).number

    def _in_force(self, versions: list[Version]) -> Version:
        if not versions[-1].from_web:
            return versions[-1]  # the file's: in force from when it was recorded, as before
        now = self.now()
        chosen = versions[0]
        for v in versions:
            if v.effective_from <= now:
                chosen = v
        return chosen

    def _record_programme(self, *, record: bool = True) -> list[Version] | None:
        """The versions; the file's programme recorded as a new one when it differs from the
        newest and the file is the source (``record`` False: None instead of recording)."""
        fp = self.configured.fingerprint()
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    rows = tx.programme_versions()
                    web = bool(rows) and rows[-1].from_web
                    if not web and (not rows or rows[-1].fingerprint != fp):
                        if not record:
                            return None
                        number = rows[-1].version + 1 if rows else 1
                        start = self.configured.effective_from or self.now()
                        if rows and aware(start) < rows[-1].effective_from:
                            start = rows[-1].effective_from
                        now = self.now()
                        tx.add_programme_version(number, start, fp, self.configured.to_dict(),
                                                 now, source=SOURCE_FILE)
                        rows.append(ProgrammeRecord(number, aware(start), fp,
                                                    self.configured.to_dict(), now,
                                                    SOURCE_FILE))
                        tx.commit()
                out = [Version(r.version, aware(r.effective_from),
                               Programme.from_dict(r.definition), r.source, r.author, r.note,
                               r.recorded_at, r.fingerprint) for r in rows]
                self.file_differs = web and rows[-1].fingerprint != fp
                if not web:
                    out[-1].programme = self.configured
                elif self.file_differs and not self._warned:
                    self._warned = True
                    log.warning(
                        "the loyalty programme is edited on the web (version %s, by %s): the "
                        "[loyalty] of the settings file differs from it and is not applied; "
                        "`regulars points programme adopt-file` applies the file's",
                        rows[-1].version, rows[-1].author or "?")
                return out
            except DuplicateKey:
                continue
        raise LoyaltyError(_("could not record the programme's version"))

    def version_at(self, at: datetime) -> Version:
        """The version in force at ``at`` (the first one for anything before it)."""
        versions = self.versions()
        chosen = versions[0]
        for v in versions:
            if v.effective_from <= aware(at):
                chosen = v
        return chosen

    def _once(self, key: str, kind: str, request: dict[str, Any], cls: type[R],
              work: Callable[[LoyaltyTx, datetime], R], member_id: str | None = None) -> R:
        """Run ``work`` once per ``key``: a retry returns the first result unchanged."""
        self.versions()
        fp = fingerprint(kind, request)
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    if member_id is not None:
                        # lock first: the operation check below then sees any write that
                        # finished while we waited
                        tx.members([member_id], lock=True)
                    prior = tx.operations([key]).get(key)
                    if prior is not None:
                        return self._replay(prior, fp, cls)
                    now = self.now()
                    result = work(tx, now)
                    tx.add_operations([Operation(key, kind, member_id, fp, to_json(result))], now)
                    tx.commit()
                    return result
            except DuplicateKey:
                continue  # someone recorded the same key (or a code collided): look again
        raise LoyaltyError(_("{key}: too many conflicting writes; try again").format(key=key))

    @staticmethod
    def _replay(prior: Operation, fp: str, cls: type[R]) -> R:
        if prior.fingerprint != fp:
            raise IdempotencyConflictError(
                _("{key} was already used for a different request").format(key=prior.key))
        return from_json(cls, prior.result, replayed=True)

    def _member(self, tx: LoyaltyTx, member_id: str, *, lock: bool = True) -> Member:
        member = tx.members([member_id], lock=lock).get(member_id)
        if member is None:
            raise UnknownMemberError(_("no member {id} in the programme").format(id=member_id))
        return member

    def _account(self, tx: LoyaltyTx, member: Member, extra_lots: Iterable[str] = ()) -> Account:
        lots = tx.open_lots([member.member_id]).get(member.member_id, [])
        have = {lot.lot_ref for lot in lots}
        missing = [r for r in extra_lots if r not in have]
        if missing:
            lots += list(tx.lots(missing).values())
        return Account.of(member, lots)

    def _credit(self, account: Account, *, ref: str, source: str, points: int, at: datetime,
                kind: EntryKind, reason: str, actor: str = "system",
                programme: Programme | None = None, version: int | None = None) -> Entry:
        """Add an immediately available lot (bonus, adjustment, referral)."""
        return credit_now(account, programme or self.programme, ref=ref, source=source,
                          points=points, at=at, kind=kind, reason=reason, actor=actor,
                          version=version or self.current_version)

    def _spend(self, tx: LoyaltyTx, member: Member, points: int, at: datetime, *, ref: str,
               reason: str, kind: EntryKind = EntryKind.REDEEM, actor: str = "system") -> Account:
        account = self._account(tx, member)
        account.expire(at, version=self.current_version)
        if member.balance < points:
            raise InsufficientPointsError(
                ngettext("{id} has {balance} point available; {needed} needed",
                         "{id} has {balance} points available; {needed} needed",
                         member.balance).format(id=member.member_id,
                                                balance=fmt_number(member.balance),
                                                needed=fmt_number(points)),
                balance=member.balance, needed=points)
        account.spend(points, at, ref=ref, kind=kind, reason=reason, actor=actor,
                      version=self.current_version)
        tx.save_accounts([account])
        return account

    def _coupon(self, member_id: str, reward: str, kind: str, value: Decimal, percent: Decimal,
                at: datetime, valid_days: int, source_ref: str) -> Coupon:
        last_day = self.programme.local(at).date() + timedelta(days=valid_days)
        until = self.programme.midnight(last_day + timedelta(days=1))
        return Coupon(new_code(10, "C"), member_id, reward, kind, value, percent, at, until,
                      source_ref=source_ref)

    def run_moment(self, at: datetime | None) -> datetime:
        """The moment a periodic run may run at: ``at`` (default now), refused with
        :class:`RunMomentError` when it is later than now plus :data:`RUN_CLOCK_TOLERANCE`
        (a run in the future expires points and moves tiers before their time, and nothing
        can undo it)."""
        now = self.now()
        if at is None:
            return now
        when = aware(at)
        if when > now + RUN_CLOCK_TOLERANCE:
            raise RunMomentError(_(
                "{at} is in the future (it is now {now}): a run may not take points or move "
                "tiers before their time").format(at=when.isoformat(timespec="seconds"),
                                                  now=now.isoformat(timespec="seconds")))
        try:
            when - timedelta(days=self.programme.tier_window_days
                             + self.programme.tier_grace_days + 366)
        except OverflowError:
            raise RunMomentError(_("{at} is too far in the past for a run").format(
                at=when.isoformat(timespec="seconds"))) from None
        return when
