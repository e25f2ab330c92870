"""A manager's day as the worklist page shows it: their open tasks by bucket, and the
suggestions of the worklist not yet planned as tasks.

The tasks are read by index (``tasks.owner, state, due_on``) through
:meth:`regulars.services.tasks.Tasks.list`: the open ones (a snoozed task whose day has come
included) due up to the end of the manager's week, bucketed on the manager's own day (their
``[worklist.managers."Name"] time_zone``, else the business's): **overdue** (due before
today), **today**, **this week** (:func:`regulars.domain.worklist.bucket_of`). Each row gets
the customer's last personal contact (one query for the rows shown).

The suggestions are the worklist's (:func:`regulars.services.worklist.build`), which reads
the whole customer map: it is built once per map (its ``built_at`` and ``as_of``) and kept for
:attr:`ManagerDays.ttl` seconds at most (the live map changes single customers in between),
never per request, and in a thread of its own, so that no page waits for it (the first
page of a new map shows the suggestions of the map before, or none yet). Its rows that were
tasks when it was built are left out, and so are the customers who have a live task now
(planned since, in another process). They are for the day the worklist is for (the day the
map describes), as ``regulars worklist`` and ``regulars tasks plan`` take them.

Every write goes through :class:`~regulars.services.tasks.Tasks` (``done``, ``snooze``), with
its rules and its audit entry: this module only reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from regulars.domain import worklist as wl
from regulars.domain.tasks import State
from regulars.i18n import _
from regulars.services.explain import sentence
from regulars.services.tasks import TaskFilter, Tasks
from regulars.services.worklist import Suggestion, Worklist

log = logging.getLogger("regulars.web")
Kind = Literal["task", "suggestion"]
#: The most open tasks one page lists (a manager's week is ~100 at the default capacity).
MAX_TASKS = 500


class DayReads(Protocol):
    """What the page reads besides the tasks (``regulars.adapters.db.day_rows``)."""

    def last_contacts(self, customer_ids: Sequence[str]) -> dict[str, datetime]:
        """Each customer's last personal outgoing contact: a call, or a contact that names
        its manager (a done task is recorded so), as the worklist counts them."""
    def live_among(self, customer_ids: Sequence[str]) -> set[str]:
        """The customers among ``customer_ids`` with an open or snoozed task."""


@dataclass(frozen=True)
class DayRow:
    """A row of the page: an open task, or a suggestion not yet planned (no ``task_id``)."""

    kind: Kind
    customer_id: str
    name: str | None
    bucket: str
    due_on: date
    reason: str
    evidence: Mapping[str, Any]
    action: str
    channel: str | None
    money_at_stake: float | None
    last_contact_at: datetime | None
    task_id: str | None = None
    snoozed: bool = False
    """A snoozed task whose day has come (it is open again)."""
    note: str | None = None

    def reason_text(self, currency: str | None = None) -> str:
        """Why, in a sentence in the current language: the evidence the reason rests on,
        else the reason's name."""
        return reason_sentence(self.reason, self.evidence, currency)


@dataclass(frozen=True)
class ManagerDay:
    manager: str
    time_zone: str
    today: date
    tasks: tuple[DayRow, ...]
    suggestions: tuple[DayRow, ...] = ()
    suggestions_for: date | None = None
    """The day the suggestions are for (the day the customer map describes)."""
    preparing: bool = False
    """A worklist of the current map is being built (the suggestions shown are older)."""
    buckets: tuple[str, ...] = wl.BUCKETS

    def by_bucket(self) -> list[tuple[str, list[DayRow]]]:
        """The tasks in the buckets, in the order they are worked (empty buckets too)."""
        return [(b, [r for r in self.tasks if r.bucket == b]) for b in self.buckets]


def reason_sentence(reason: str, evidence: Mapping[str, Any] | None,
                    currency: str | None = None) -> str:
    """The reason as the evidence says it (``sentence``), in the current language; the
    reason's name when there is no evidence (a task added by hand)."""
    if evidence and evidence.get("about") and evidence.get("about") != "worklist":
        return sentence(evidence, currency)
    if reason == "manual":
        return _("added by hand")
    name = wl.REASONS.get(reason)
    return _(name) if name else reason


def _day_in(zone: str, now: datetime) -> date:
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class ManagerDays:
    """Reads a manager's day (see the module). One per server process: it keeps the
    suggestions of the current map.

    ``suggestions``: builds the worklist of the served map (None: no suggestions shown);
    ``map_version``: what identifies the served map (None: no map yet), read per request;
    ``ttl``: seconds a built worklist is kept at most; ``background``: build it in a thread
    of its own (a page never waits; False: in the page's request, for tests)."""

    def __init__(self, tasks: Tasks, rules: wl.WorklistRules, reads: DayReads, *,
                 suggestions: Callable[[], Worklist] | None = None,
                 map_version: Callable[[], object | None] | None = None,
                 ttl: float = 1800.0, background: bool = True) -> None:
        self.tasks = tasks
        self.rules = rules
        self.reads = reads
        self.suggest = suggestions
        self.map_version = map_version
        self.ttl = ttl
        self.background = background
        self._built: tuple[object, float, Worklist] | None = None
        self._building = False
        self._managers: tuple[float, list[str]] | None = None
        self._lock = threading.Lock()

    def today(self, manager: str) -> date:
        """The manager's day now (their time zone)."""
        return _day_in(self.rules.zone(manager or None), self.tasks.clock())

    def day(self, manager: str, *, suggestions: bool = True) -> ManagerDay:
        """``manager``'s open tasks due by the end of their week, bucketed on their day, and
        (``suggestions``) the worklist's suggestions for them not yet planned."""
        zone = self.rules.zone(manager or None)
        today = self.today(manager)
        week_end = today + timedelta(days=max(self.rules.week_days - 1, 0))
        listed = self.tasks.list(TaskFilter(owner=manager, state=State.OPEN, due_to=week_end,
                                            limit=MAX_TASKS))
        contacts = self.reads.last_contacts(sorted({t["customer_id"] for t in listed}))
        rows = [self._task_row(t, today, contacts) for t in listed]
        rows.sort(key=lambda r: (wl.BUCKETS.index(r.bucket), -(r.money_at_stake or 0.0),
                                 r.due_on, r.customer_id))
        found: tuple[DayRow, ...] = ()
        for_day = None
        preparing = False
        if suggestions:
            found, for_day, preparing = self._suggestions(manager,
                                                          {r.customer_id for r in rows})
        return ManagerDay(manager, zone, today, tuple(rows), found, for_day, preparing)

    def _task_row(self, t: Mapping[str, Any], today: date,
                  contacts: Mapping[str, datetime]) -> DayRow:
        due = date.fromisoformat(str(t["due_on"])[:10])
        bucket = _bucket(due, today, self.rules.week_days)
        stake = t.get("money_at_stake")
        return DayRow(
            kind="task", customer_id=t["customer_id"], name=t.get("name"), bucket=bucket,
            due_on=due, reason=t["reason"], evidence=t.get("evidence") or {},
            action=t["action"], channel=t.get("channel"),
            money_at_stake=None if stake is None else float(stake),
            last_contact_at=contacts.get(t["customer_id"]), task_id=t["task_id"],
            snoozed=t.get("snoozed_until") is not None, note=t.get("note"))

    # -- suggestions ------------------------------------------------------------------------

    def _worklist(self) -> tuple[Worklist | None, bool]:
        """The kept worklist (None: none yet) and whether a newer one is being built.

        In the background (the default), a page never waits for a build: the first page of
        a map starts it and shows the worklist kept before (or none); the next pages get
        the new one once it is there."""
        if self.suggest is None or self.map_version is None:
            return None, False
        version = self.map_version()
        if version is None:
            return None, False
        with self._lock:
            built = self._built
            fresh = (built is not None and built[0] == version
                     and time.monotonic() - built[1] < self.ttl)
            kept = built[2] if built is not None else None
            if fresh:
                return kept, False
            if not self.background:
                return self._build(version), False
            if not self._building:
                self._building = True
                threading.Thread(target=self._build_apart, args=(version,), daemon=True,
                                 name="worklist-suggestions").start()
            return kept, True

    def _build(self, version: object) -> Worklist:
        assert self.suggest is not None
        listed = self.suggest()
        self._built = (version, time.monotonic(), listed)
        return listed

    def _build_apart(self, version: object) -> None:
        try:
            listed = self.suggest() if self.suggest is not None else None
            if listed is not None:
                with self._lock:
                    self._built = (version, time.monotonic(), listed)
        except Exception:  # the page goes on without suggestions; the next page tries again
            log.exception("the worklist's suggestions could not be built")
        finally:
            with self._lock:
                self._building = False

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until no build is under way (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._building:
                    return
            time.sleep(0.02)

    def close(self, timeout: float = 60.0) -> None:
        """Let a build under way finish before the store it reads is closed (the app's
        shutdown): a thread cut off mid-read would leave its connection open."""
        self.wait(timeout)

    def known_managers(self) -> list[str]:
        """The managers the owner may pick (the tasks' known managers), kept a minute: it
        reads every customer card."""
        now = time.monotonic()
        if self._managers is None or now - self._managers[0] > 60:
            self._managers = (now, self.tasks.known_managers())
        return list(self._managers[1])

    def _suggestions(self, manager: str, tasked: set[str]
                     ) -> tuple[tuple[DayRow, ...], date | None, bool]:
        listed, preparing = self._worklist()
        if listed is None:
            return (), None, preparing
        mine = [s for one in listed.lists if (one.manager or "") == manager
                for s in one.items if s.task_id is None and s.customer_id not in tasked]
        live = self.reads.live_among([s.customer_id for s in mine]) if mine else set()
        return (tuple(_suggestion_row(s) for s in mine if s.customer_id not in live), listed.on,
                preparing)

    def forget(self) -> None:
        """Drop the kept worklist (the next page builds it again)."""
        with self._lock:
            self._built = None


def _bucket(due: date, today: date, week_days: int) -> str:
    """The bucket of a task due on ``due`` (one due later than the week is not read)."""
    found = wl.bucket_of(due.toordinal(), today.toordinal(), week_days)
    return found or "week"


def _suggestion_row(s: Suggestion) -> DayRow:
    return DayRow(kind="suggestion", customer_id=s.customer_id, name=s.name, bucket=s.bucket,
                  due_on=s.due_on, reason=s.reason, evidence=s.evidence, action=s.action,
                  channel=s.channels[0] if s.channels else None,
                  money_at_stake=s.money_at_stake,
                  last_contact_at=_moment(s.last_contact_at))
