"""The managers' tasks (issue 18): add, plan from the worklist, list, done, snooze, reassign,
cancel; the rules are :mod:`regulars.domain.tasks`.

Every change is one transaction of the API store, with its audit entry: a task closed as done
and the ``out`` interaction that records the contact (and, for ``do_not_contact``, the
customer's flag) commit together or not at all. A write may carry an idempotency key (the
HTTP ``Idempotency-Key``): the answer is kept under it in the same transaction, and the same
request again replays it, as ingest does.

``scope``: the manager whose tasks the caller may see and change (a key of the role manager
bound to a manager); a task of someone else is "not found" for it. None: every task.

:meth:`Tasks.plan` reads suggestions through :class:`SuggestionLike`, the attribute names of
``regulars.services.worklist.Suggestion``, so that it need not import the worklist.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from regulars.domain import tasks as rules
from regulars.domain.tables import INTERACTIONS
from regulars.domain.tasks import (
    CHANNEL_WAYS,
    Outcome,
    State,
    TaskError,
    TaskForbiddenError,
    TaskState,
    UnknownManagerError,
    UnknownTaskError,
)
from regulars.i18n import _
from regulars.services import task_report
from regulars.services.api.ingest import IdempotencyConflictError, canonical, row_hash
from regulars.services.api.ports import DuplicateError, StoredResponse
from regulars.services.audit import AuditTrail, Caller
from regulars.services.audit import Outcome as Done

# -- ports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFilter:
    owner: str | None = None
    state: State | None = None  # as a person sees it: a due snoozed task is open
    due_from: date | None = None
    due_to: date | None = None
    customer_id: str | None = None
    limit: int = 200


class TaskTx(Protocol):
    """One write transaction (the API store's): rolled back unless committed."""

    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None: ...
    def keep_response(self, key_id: str, idempotency_key: str, request_hash: str, status: int,
                      body: str) -> None: ...
    def audit(self, *, key_id: str, action: str, subject: str, status: int | None,
              detail: Mapping[str, Any], channel: str = "http", use_case: str = "",
              outcome: str = "") -> None: ...
    def task(self, task_id: str) -> dict[str, Any] | None:
        """The stored task, locked until the commit (PostgreSQL: FOR UPDATE)."""
    def insert_task(self, row: Mapping[str, Any]) -> None:
        """Raises :class:`DuplicateError` when the id exists."""
    def update_task(self, task_id: str, values: Mapping[str, Any]) -> None: ...
    def live_tasks(self, customer_ids: Sequence[str]) -> set[str]:
        """The customers among ``customer_ids`` with an open or snoozed task."""
    def existing_tasks(self, task_ids: Sequence[str]) -> set[str]: ...
    def customer_facts(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``customer_id -> {name, manager, do_not_contact, consent_*}`` (aliases resolved:
        the key is the id asked for, ``customer_id`` in the value the card's)."""
    def standing(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's ``status`` and ``rung`` in the served map (``mapped``: whether it
        has the customer) and the card's ``attributes``, for the contact policy."""
    def contact_history(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's outgoing interactions (``at, channel, kind``): imported, and the
        done tasks, which are written there."""
    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def update_customer(self, customer_id: str, values: Mapping[str, Any]) -> None: ...
    def touch_customers(self, ids: Iterable[str]) -> None: ...
    def commit(self) -> None: ...


class TaskStore(Protocol):
    def begin(self) -> AbstractContextManager[TaskTx]: ...
    def list_tasks(self, f: TaskFilter, today: date) -> list[dict[str, Any]]:
        """Tasks with the customer's ``name, email, phone``, by due day, then id."""
    def store_managers(self) -> list[str]:
        """Managers named on customer cards or bound to an API key."""
    def report_tasks(self) -> list[dict[str, Any]]:
        """Every task (for the report)."""


class SuggestionLike(Protocol):
    """What :meth:`Tasks.plan` reads of a worklist suggestion."""

    @property
    def customer_id(self) -> str: ...
    @property
    def manager(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def channels(self) -> Sequence[str]: ...
    @property
    def money_at_stake(self) -> float | Decimal | None: ...
    @property
    def bucket(self) -> str: ...
    @property
    def due_on(self) -> date: ...
    @property
    def evidence(self) -> Mapping[str, Any]: ...
    @property
    def held_back(self) -> str | None: ...


class PolicyCheck(Protocol):
    """The contact policy's verdict on a task added by hand, read in the task's transaction:
    the warnings it gives (none when the contact would be allowed); the task is added all the
    same (:func:`regulars.services.task_policy.policy_check`)."""

    def __call__(self, tx: TaskTx, facts: Mapping[str, Any], channel: str, action: str,
                 at: datetime) -> list[str]: ...


class ReportInputs(Protocol):
    """What the report reads besides the tasks (:class:`task_report.StoreInputs`)."""

    def orders(self) -> list[tuple[str, datetime, float]]: ...
    def outbound(self) -> dict[str, list[datetime]]: ...
    def situations(self, day: date) -> Mapping[str, task_report.Situation]: ...


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskAnswer:
    """A task as it is after the change; ``replayed``: the answer kept for the idempotency
    key (nothing written now); ``warnings``: sentences for the person who asked."""

    task: dict[str, Any]
    outcome: Done
    replayed: bool = False
    kept_status: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanResult:
    on: date
    created: list[dict[str, Any]]
    skipped: list[dict[str, str]]  # customer_id, name, reason code, why (a sentence)

    def to_dict(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "created": self.created, "skipped": self.skipped}


# -- the use cases -----------------------------------------------------------------------------

USE_CASES = ("tasks.add", "tasks.plan", "tasks.done", "tasks.snooze", "tasks.reassign",
             "tasks.cancel", "tasks.log")
PLAN_BUCKETS = ("overdue", "today")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def public(row: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A stored task (with the customer's contacts, when read with them) as people and
    clients read it: the state as of ``today``, evidence decoded, money as a number."""
    state = rules.effective_state(row["state"], row.get("snoozed_until"), today)
    evidence = row.get("evidence")
    stake = row.get("money_at_stake")
    due = row["due_on"]
    return {
        "task_id": row["task_id"], "customer_id": row["customer_id"],
        "name": row.get("name"), "email": row.get("email"), "phone": row.get("phone"),
        "owner": row["owner"], "due_on": due, "reason": row["reason"],
        "action": row["action"], "channel": row["channel"],
        "evidence": json.loads(evidence) if isinstance(evidence, str) else (evidence or {}),
        "money_at_stake": None if stake is None else float(stake),
        "state": state.value, "snoozed_until": row.get("snoozed_until"),
        "overdue": rules.overdue(row["state"], due, row.get("snoozed_until"), today),
        "outcome": row.get("outcome"), "note": row.get("note"), "source": row["source"],
        "created_at": row["created_at"], "closed_at": row.get("closed_at"),
        "created_by": row.get("created_by"),
    }


def plan_task_id(on: date, customer_id: str) -> str:
    """The id of the task the morning plan of ``on`` makes for a customer: the same every
    time, so that a second plan of the day finds it and writes nothing."""
    return hashlib.sha256(f"plan:{on.isoformat()}:{customer_id}".encode()).hexdigest()[:16]


def _plan_row(s: SuggestionLike, task_id: str, customer_id: str, day: date, now: datetime,
              caller: Caller) -> dict[str, Any]:
    """The stored row of the task a suggestion becomes: its action's channel when consent
    allows it, else the first channel consent allows."""
    act = s.action if s.action in rules.ACTION_KINDS else "call"
    chans = [c for c in s.channels if c in rules.CHANNELS]
    chan = rules.ACTION_CHANNELS.get(act, "phone")
    chan = chan if not chans or chan in chans else chans[0]
    stake = s.money_at_stake
    return {"task_id": task_id, "customer_id": customer_id, "owner": s.manager,
            "due_on": max(s.due_on, day), "reason": rules.check_code(s.reason, "reason"),
            "action": act, "channel": chan,
            "evidence": json.dumps(_json(dict(s.evidence)), sort_keys=True),
            "money_at_stake": None if stake is None else Decimal(str(stake)),
            "state": State.OPEN.value, "snoozed_until": None, "outcome": None, "note": None,
            "source": "plan", "created_at": now, "closed_at": None,
            "created_by": caller.ledger_actor}


def _record_contact(tx: TaskTx, row: Mapping[str, Any], result: Outcome,
                    now: datetime) -> None:
    """The contact of a task done with ``result``: one ``out`` interaction (channel, kind
    from the action, outcome, the owner as its manager, now), ``do_not_contact`` set on the
    card for that outcome, and the live map told; in the task's transaction."""
    record = {
        "interaction_id": f"task-{row['task_id']}", "customer_id": row["customer_id"],
        "at": now, "channel": row["channel"], "direction": "out",
        "kind": rules.interaction_kind(row["action"]),
        "responded_at": rules.responded_at(result, now), "outcome": result.value,
        "manager": row["owner"]}
    stored = canonical(INTERACTIONS, record, None)
    tx.insert("interactions", [{**stored, "row_hash": row_hash(INTERACTIONS, stored),
                                "import_id": None}])
    if result is Outcome.DO_NOT_CONTACT:
        tx.update_customer(row["customer_id"], {"do_not_contact": True})
    tx.touch_customers([row["customer_id"]])  # the live map reads the contact


class Tasks:
    """The task use cases over a :class:`TaskStore` (see the module docstring).

    ``configured_managers``: managers named in the settings (``[worklist] managers``);
    ``zone``: the business's time zone, whose calendar says what "today" is;
    ``clock``: now as naive UTC (tests); ``policy``: the contact policy for tasks added by hand;
    ``report_inputs``: the store's orders, contacts and map as of a day, for :meth:`report`.
    """

    def __init__(self, store: TaskStore, *, configured_managers: Iterable[str] = (),
                 zone: str = "UTC", clock: Callable[[], datetime] | None = None,
                 policy: PolicyCheck | None = None,
                 report_inputs: Callable[[], ReportInputs] | None = None) -> None:
        self.store = store
        self.report_inputs = report_inputs
        self.closers: list[Callable[[], object]] = []  # run by close()
        self.configured = [m for m in configured_managers if m]
        self.zone = ZoneInfo(zone)
        self.clock = clock or _now
        self.policy = policy

    def close(self) -> None:
        """Release what the composition root opened for these tasks (a store's engines)."""
        for close in self.closers:
            close()
        self.closers.clear()

    # -- time and managers --------------------------------------------------------------------

    def local_day(self, at: datetime) -> date:
        """The business's calendar day of a stored (naive UTC) moment."""
        return at.replace(tzinfo=UTC).astimezone(self.zone).date()

    def today(self) -> date:
        return self.local_day(self.clock())

    def known_managers(self) -> list[str]:
        """Managers on customer cards, in the settings, or bound to a key (sorted)."""
        return sorted(set(self.store.store_managers()) | set(self.configured))

    def _known(self, owner: str, field_name: str = "owner") -> str:
        name = owner.strip()
        known = self.known_managers()
        if name not in known:
            raise UnknownManagerError(name, known, field=field_name)
        return name

    # -- writing -------------------------------------------------------------------------------

    def _keyed(self, caller: Caller, key: str | None, fingerprint: str,
               work: Callable[[TaskTx], tuple[dict[str, Any], Done, list[str]]]) -> TaskAnswer:
        """``work`` in one transaction, its answer kept under ``key`` in it; a repeat of the
        request replays the kept answer, another request under the key is a conflict."""
        for _attempt in range(5):
            try:
                with self.store.begin() as tx:
                    kept = tx.get_response(caller.actor, key) if key else None
                    if kept is not None:
                        if kept.request_hash != fingerprint:
                            raise IdempotencyConflictError(_(
                                "Idempotency-Key {key!r} was used with another request"
                            ).format(key=key))
                        return TaskAnswer(json.loads(kept.body), Done.REPLAYED, True,
                                          kept.status)
                    body, outcome, warnings = work(tx)
                    body = _json(body)
                    if key:
                        tx.keep_response(caller.actor, key, fingerprint,
                                         caller.status(outcome) or 0, json.dumps(body))
                    tx.commit()
                    return TaskAnswer(body, outcome, False, None, warnings)
            except DuplicateError:
                continue  # a concurrent twin wrote first: look again
        raise TaskError(_("the request kept colliding with concurrent writes; retry it"))

    @staticmethod
    def _audit(tx: TaskTx, caller: Caller, use_case: str, subject: str, outcome: Done,
               detail: Mapping[str, Any]) -> None:
        AuditTrail.write_in(tx, caller, use_case, subject=subject, outcome=outcome,
                            detail=_json(detail))

    def _customer(self, tx: TaskTx, customer_id: str) -> dict[str, Any]:
        cid = rules.check_code(customer_id, "customer_id") if customer_id else ""
        facts = tx.customer_facts([cid]).get(cid) if cid else None
        if facts is None:
            raise TaskError(_("customer_id: no customer {id} in the store").format(
                id=customer_id), field="customer_id")
        return facts

    def add(self, *, customer_id: str, action: str, due_on: date | None = None,
            owner: str | None = None,
            reason: str = "manual", channel: str | None = None, note: str | None = None,
            evidence: Mapping[str, Any] | None = None,
            money_at_stake: float | Decimal | None = None, scope: str | None = None,
            caller: Caller | None = None, idempotency_key: str | None = None,
            fingerprint: str = "") -> TaskAnswer:
        """A task added by hand. ``owner``: default the customer's manager (``scope``'s when
        the caller is bound to one). Allowed even when the contact policy or the customer's
        flags would hold the contact back: the answer's warnings say so."""
        caller = caller or Caller.python()
        act = rules.check_action(action)
        chan = rules.check_channel(channel, act)
        why = rules.check_code(reason, "reason")
        text = rules.check_note(note)
        today = self.today()
        due_on = due_on or today
        if due_on < today:
            raise TaskError(_("due_on: {day} is in the past; give today or a later day").format(
                day=due_on.isoformat()), field="due_on")

        def work(tx: TaskTx) -> tuple[dict[str, Any], Done, list[str]]:
            facts = self._customer(tx, customer_id)
            cid = facts["customer_id"]
            who = self._owner_of(facts, owner, scope)
            warnings = self._warnings(tx, facts, chan, act, due_on)
            now = self.clock()
            row = {"task_id": secrets.token_hex(8), "customer_id": cid, "owner": who,
                   "due_on": due_on, "reason": why, "action": act, "channel": chan,
                   "evidence": json.dumps(_json(dict(evidence or {})), sort_keys=True),
                   "money_at_stake": None if money_at_stake is None
                   else Decimal(str(money_at_stake)),
                   "state": State.OPEN.value, "snoozed_until": None, "outcome": None,
                   "note": text, "source": "manual", "created_at": now, "closed_at": None,
                   "created_by": caller.ledger_actor}
            tx.insert_task(row)
            body = public({**row, **facts, "customer_id": cid}, today)
            self._audit(tx, caller, "tasks.add", row["task_id"], Done.CREATED,
                        {"customer_id": cid, "owner": who, "due_on": due_on, "action": act,
                         **({"warnings": warnings} if warnings else {})})
            return body, Done.CREATED, warnings

        return self._keyed(caller, idempotency_key, fingerprint, work)

    def add_for_playbook(self, *, task_id: str, customer_id: str, action: str,
                         due_on: date, playbook: str, channel: str | None = None,
                         note: str | None = None) -> tuple[str, dict[str, Any] | None]:
        """A task a playbook's step makes for the customer's manager (issue 20), source
        ``playbook``, reason the playbook's name. ``task_id`` is derived from the step's job,
        so a repeat finds it: ``("created", task)``. Not made: ``("no_manager", None)`` (the
        card names none, or one not known), ``("task_exists", None)`` (the customer has an open
        or snoozed task already: one conversation at a time), ``("unknown_customer", None)``.
        ``action`` a task action code, else a free text kept as the note of a ``call``."""
        code = action.strip().lower()
        if code not in rules.ACTION_KINDS:
            note = "\n".join(t for t in (action.strip(), note) if t)
            code = "call"
        chan = rules.check_channel(channel, code)
        text = rules.check_note(note)
        why = rules.check_code(playbook, "reason")
        caller = Caller.python()

        def work(tx: TaskTx) -> tuple[str, dict[str, Any] | None]:
            if tx.existing_tasks([task_id]):
                row = tx.task(task_id)
                return "created", row
            facts = tx.customer_facts([customer_id]).get(customer_id)
            if facts is None:
                return "unknown_customer", None
            cid = facts["customer_id"]
            who = facts.get("manager")
            if not who or str(who).strip() not in self.known_managers():
                return "no_manager", None
            if tx.live_tasks([cid]):
                return "task_exists", None
            row = {"task_id": task_id, "customer_id": cid, "owner": str(who).strip(),
                   "due_on": due_on, "reason": why, "action": code, "channel": chan,
                   "evidence": json.dumps({"playbook": playbook}), "money_at_stake": None,
                   "state": State.OPEN.value, "snoozed_until": None, "outcome": None,
                   "note": text, "source": "playbook", "created_at": self.clock(),
                   "closed_at": None, "created_by": caller.ledger_actor}
            tx.insert_task(row)
            self._audit(tx, caller, "tasks.add", task_id, Done.CREATED,
                        {"customer_id": cid, "owner": row["owner"], "due_on": due_on,
                         "action": code, "playbook": playbook})
            tx.commit()
            return "created", row

        for _attempt in range(5):
            try:
                with self.store.begin() as tx:
                    return work(tx)
            except DuplicateError:  # a racing repeat of the same job: it made the task
                continue
        return "created", None

    def _owner_of(self, facts: dict[str, Any], owner: str | None, scope: str | None) -> str:
        """Whose task a new one is: ``owner`` when named, else the key's manager (``scope``),
        else the customer's; a manager's key adds tasks for that manager only."""
        who = owner if owner is not None and owner.strip() else (scope or facts["manager"])
        if not who:
            raise TaskError(_("owner: customer {id} has no manager; name the owner").format(
                id=facts["customer_id"]), field="owner")
        who = self._known(who)
        if scope is not None and who != scope:
            raise TaskForbiddenError(_(
                "owner: a key of manager {scope} adds tasks for {scope} only").format(
                scope=scope), field="owner")
        return who

    def log_contact(self, *, customer_id: str, outcome: Outcome | str,
                    action: str = "call", channel: str | None = None,
                    note: str | None = None, owner: str | None = None,
                    scope: str | None = None, caller: Caller | None = None) -> TaskAnswer:
        """A contact already made (a call a manager logs on the customer's card): a task added
        by hand and done at once, in one transaction with its ``out`` interaction, as
        :meth:`done` writes it; the note is kept with the task (and erased with the
        customer's other notes). ``owner``: as :meth:`add` chooses it."""
        caller = caller or Caller.python()
        act = rules.check_action(action)
        chan = rules.check_channel(channel, act)
        result = rules.parse_outcome(outcome)
        text = rules.check_note(note)
        today = self.today()

        def work(tx: TaskTx) -> tuple[dict[str, Any], Done, list[str]]:
            facts = self._customer(tx, customer_id)
            cid = facts["customer_id"]
            who = self._owner_of(facts, owner, scope)
            now = self.clock()
            row = {"task_id": secrets.token_hex(8), "customer_id": cid, "owner": who,
                   "due_on": today, "reason": "manual", "action": act, "channel": chan,
                   "evidence": "{}", "money_at_stake": None,
                   "state": State.DONE.value, "snoozed_until": None, "outcome": result.value,
                   "note": text, "source": "manual", "created_at": now, "closed_at": now,
                   "created_by": caller.ledger_actor}
            tx.insert_task(row)
            _record_contact(tx, row, result, now)
            body = public({**row, **facts, "customer_id": cid}, today)
            self._audit(tx, caller, "tasks.log", row["task_id"], Done.CREATED,
                        {"customer_id": cid, "owner": who, "action": act, "channel": chan,
                         "outcome": result.value})
            return body, Done.CREATED, []

        return self._keyed(caller, None, "", work)

    def _warnings(self, tx: TaskTx, facts: Mapping[str, Any], channel: str, action: str,
                  due_on: date) -> list[str]:
        out: list[str] = []
        cid = facts["customer_id"]
        if facts.get("do_not_contact"):
            out.append(_("customer {id} asked not to be contacted").format(id=cid))
        consent = {"email": "consent_email", "sms": "consent_sms",
                   "messenger": "consent_messenger", "phone": "consent_phone"}.get(channel)
        if consent and facts.get(consent) is False:
            out.append(_("customer {id} has not consented to contact {channel}").format(
                id=cid, channel=_(CHANNEL_WAYS.get(channel, channel))))
        if tx.live_tasks([cid]):
            out.append(_("customer {id} has another open task").format(id=cid))
        if self.policy is not None:
            out += self.policy(tx, facts, channel, action, self._moment(due_on))
        return out

    def _moment(self, day: date) -> datetime:
        """When a task due on ``day`` would be done, as the policy checks it (aware): now
        when it is due today, else noon of its day in the business's zone."""
        now = self.clock().replace(tzinfo=UTC)
        if day <= self.local_day(self.clock()):
            return now
        return datetime.combine(day, time(12, 0), tzinfo=self.zone)

    def plan(self, suggestions: Iterable[SuggestionLike], *, on: date | None = None,
             buckets: Sequence[str] = PLAN_BUCKETS, per_manager: int | None = None,
             caller: Caller | None = None) -> PlanResult:
        """The morning plan: the suggestions in ``buckets`` (today's and the overdue ones, by
        default), in the order given (the worklist's rank), the first ``per_manager`` of each
        manager, become tasks due ``on`` (or their own later due day). Idempotent: a customer
        with an open or snoozed task gets none, and a second plan of the day finds its tasks
        and writes nothing. Suggestions held back by the contact policy are skipped."""
        caller = caller or Caller.python()
        day = on or self.today()
        wanted: list[SuggestionLike] = []
        skipped: list[dict[str, str]] = []
        taken: dict[str, int] = {}
        seen: set[str] = set()
        for s in suggestions:
            if s.bucket not in buckets or s.customer_id in seen:
                continue
            seen.add(s.customer_id)
            if s.held_back:
                skipped.append({"customer_id": s.customer_id, "reason": "held_back",
                                "why": s.held_back})
                continue
            if not s.manager:
                skipped.append({"customer_id": s.customer_id, "reason": "no_owner",
                                "why": _("no manager to own it")})
                continue
            if per_manager is not None and taken.get(s.manager, 0) >= per_manager:
                continue
            taken[s.manager] = taken.get(s.manager, 0) + 1
            wanted.append(s)

        def work(tx: TaskTx) -> tuple[dict[str, Any], Done, list[str]]:
            skip = list(skipped)  # a retried transaction starts from the same list
            ids = {s.customer_id: plan_task_id(day, s.customer_id) for s in wanted}
            already = tx.existing_tasks(sorted(ids.values()))
            busy = tx.live_tasks(sorted(ids))
            facts = tx.customer_facts(sorted(ids))
            now = self.clock()
            created: list[dict[str, Any]] = []
            for s in wanted:
                tid = ids[s.customer_id]
                if tid in already:
                    skip.append({"customer_id": s.customer_id, "reason": "planned",
                                    "why": _("planned already today")})
                    continue
                if s.customer_id in busy:
                    skip.append({"customer_id": s.customer_id, "reason": "open_task",
                                    "why": _("has an open task")})
                    continue
                card = facts.get(s.customer_id)
                if card is None:
                    skip.append({"customer_id": s.customer_id, "reason": "unknown",
                                    "why": _("not in the store")})
                    continue
                row = _plan_row(s, tid, card["customer_id"], day, now, caller)
                tx.insert_task(row)
                busy.add(s.customer_id)
                created.append(public({**row, **card}, day))
            body = {"created": created, "skipped": skip}
            outcome = Done.CREATED if created else Done.UNCHANGED
            self._audit(tx, caller, "tasks.plan", day.isoformat(), outcome,
                        {"on": day, "created": len(created), "skipped": len(skip)})
            return body, outcome, []

        done = self._keyed(caller, None, "", work)
        return PlanResult(day, done.task["created"], done.task["skipped"])

    def _change(self, task_id: str, to: State, use_case: str, *, scope: str | None,
                caller: Caller | None, idempotency_key: str | None, fingerprint: str,
                apply: Callable[[TaskTx, dict[str, Any], datetime], dict[str, Any]],
                detail: Mapping[str, Any]) -> TaskAnswer:
        caller = caller or Caller.python()
        today = self.today()

        def work(tx: TaskTx) -> tuple[dict[str, Any], Done, list[str]]:
            row = tx.task(task_id)
            if row is None or (scope is not None and row["owner"] != scope):
                raise UnknownTaskError(_("task_id: no task {id}").format(id=task_id),
                                       field="task_id")
            rules.check_transition(TaskState(row["task_id"], State(row["state"]),
                                             row["due_on"], row.get("snoozed_until")),
                                   to, today)
            now = self.clock()
            values = apply(tx, row, now)
            tx.update_task(task_id, values)
            facts = tx.customer_facts([row["customer_id"]]).get(row["customer_id"], {})
            body = public({**row, **facts, **values}, today)
            self._audit(tx, caller, use_case, task_id, Done.DONE,
                        {"customer_id": row["customer_id"], **detail})
            return body, Done.DONE, []

        return self._keyed(caller, idempotency_key, fingerprint, work)

    def done(self, task_id: str, outcome: Outcome | str, note: str | None = None,
             by: str | None = None, *, scope: str | None = None, caller: Caller | None = None,
             idempotency_key: str | None = None, fingerprint: str = "") -> TaskAnswer:
        """Close the task with ``outcome``; the contact is written as one ``out``
        interaction (channel, kind from the action, outcome, the owner as its manager, now)
        in the same transaction, and ``do_not_contact`` sets the customer's flag there too.
        ``by``: who made the contact, for the audit log (default: the caller)."""
        result = rules.parse_outcome(outcome)
        text = rules.check_note(note)

        def apply(tx: TaskTx, row: dict[str, Any], now: datetime) -> dict[str, Any]:
            _record_contact(tx, row, result, now)
            return {"state": State.DONE.value, "outcome": result.value, "note": text,
                    "closed_at": now, "snoozed_until": None}

        return self._change(task_id, State.DONE, "tasks.done", scope=scope, caller=caller,
                            idempotency_key=idempotency_key, fingerprint=fingerprint,
                            apply=apply, detail={"outcome": result.value,
                                                 **({"by": by} if by else {})})

    def snooze(self, task_id: str, until: date, *, scope: str | None = None,
               caller: Caller | None = None, idempotency_key: str | None = None,
               fingerprint: str = "") -> TaskAnswer:
        """Put the task off to ``until`` (a day after today): it is due then, and open again."""
        day = rules.check_snooze(until, self.today())
        return self._change(
            task_id, State.SNOOZED, "tasks.snooze", scope=scope, caller=caller,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
            apply=lambda tx, row, now: {"state": State.SNOOZED.value, "snoozed_until": day,
                                        "due_on": day},
            detail={"until": day})

    def reassign(self, task_id: str, owner: str, *, scope: str | None = None,
                 caller: Caller | None = None, idempotency_key: str | None = None,
                 fingerprint: str = "") -> TaskAnswer:
        """Hand the task to another known manager (its state stays)."""
        who = self._known(owner)

        def apply(tx: TaskTx, row: dict[str, Any], now: datetime) -> dict[str, Any]:
            return {"owner": who}

        # a reassignment keeps the state: checked as a move to the state it has
        return self._change(task_id, State.OPEN, "tasks.reassign", scope=scope,
                            caller=caller, idempotency_key=idempotency_key,
                            fingerprint=fingerprint, apply=apply, detail={"owner": who})

    def cancel(self, task_id: str, note: str | None = None, *, scope: str | None = None,
               caller: Caller | None = None, idempotency_key: str | None = None,
               fingerprint: str = "") -> TaskAnswer:
        text = rules.check_note(note)

        def apply(tx: TaskTx, row: dict[str, Any], now: datetime) -> dict[str, Any]:
            return {"state": State.CANCELLED.value, "closed_at": now,
                    "note": text if text is not None else row.get("note")}

        return self._change(task_id, State.CANCELLED, "tasks.cancel", scope=scope,
                            caller=caller, idempotency_key=idempotency_key,
                            fingerprint=fingerprint, apply=apply, detail={})

    # -- reading -------------------------------------------------------------------------------

    def list(self, f: TaskFilter | None = None, *, scope: str | None = None
             ) -> list[dict[str, Any]]:
        """Tasks by due day (the customer's name and contacts on each), filtered; a caller
        bound to a manager sees that manager's only."""
        f = f or TaskFilter()
        if f.state is not None:
            f = replace(f, state=rules.parse_state(f.state))
        if f.due_from and f.due_to and f.due_to < f.due_from:
            raise TaskError(_("due_to: {b} is before due_from ({a})").format(
                a=f.due_from.isoformat(), b=f.due_to.isoformat()), field="due_to")
        if scope is not None:
            if f.owner is not None and f.owner != scope:
                raise TaskForbiddenError(_(
                    "owner: a key of manager {scope} sees {scope}'s tasks only").format(
                    scope=scope), field="owner")
            f = replace(f, owner=scope)
        today = self.today()
        # dates and moments as ISO text, as every answer of the task use cases gives them
        return [_json(public(r, today)) for r in self.store.list_tasks(f, today)]

    def report(self, *, since: date | None = None, until: date | None = None,
               window_days: int = task_report.WINDOW_DAYS,
               cohort_days: int = task_report.COHORT_DAYS,
               scope: str | None = None) -> task_report.TaskReport:
        """Per manager: the tasks closed from ``since`` (default: 180 days before ``until``)
        to ``until`` (default: today), on time or late, their outcomes, the open overdue
        ones, and the revenue of the contacted customers in the ``window_days`` after the
        contact against similar customers nobody contacted: an observation, not a causal
        claim (:mod:`regulars.services.task_report`)."""
        today = self.today()
        end = until or today
        start = since or end - timedelta(days=180)
        if start > end:
            raise TaskError(_("since: {a} is after until ({b})").format(
                a=start.isoformat(), b=end.isoformat()), field="since")
        if window_days < 1 or cohort_days < 1:
            raise TaskError(_("window_days and cohort_days: give whole days, 1 or more"),
                            field="window_days")
        if self.report_inputs is None:
            raise TaskError(_("the report needs the store's orders; none are wired here"))
        inputs = self.report_inputs()
        rows = [r for r in self.store.report_tasks() if scope is None or r["owner"] == scope]
        return task_report.report(rows, orders=inputs.orders(), outbound=inputs.outbound(),
                                  snapshots=inputs.situations, since=start, until=end,
                                  today=today, local_day=self.local_day,
                                  window_days=window_days, cohort_days=cohort_days)
