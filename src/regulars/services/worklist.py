"""Today's worklist (issue 18, DOMAIN §9): for each manager, whom to contact and why.

From the customer map (an analysis' rows or the served snapshot), the customers table, the
interactions, the feedback and the open tasks:

1. **candidates**: every customer with a reason (:data:`regulars.domain.worklist.REASON_ORDER`,
   the first that holds), left out when they have spent less than the median buyer and their
   reason is not one that says why (``small_customer_reasons``), or have less money at stake
   than ``min_money_at_stake``;
2. **assignment**: the customer's manager; else the default owner; else shared out evenly
   among the managers, in turn, the most money at stake first (the same data gives the same
   shares);
3. **due date and bucket** in the manager's time zone (overdue · today · this week);
4. **ranking**: by bucket, then money at stake, then customer id; an open task of a customer
   takes the customer's place (bucketed by its due date), and a customer with an open task or
   a snooze is not suggested again;
5. **held back**: a do-not-contact customer, one contacted within ``recontact_after_days``,
   or one the contact policy refuses on every channel of the action, is listed apart with the
   reason, while the list goes on to the next customer until the manager's daily capacity is
   full.

Everything over the whole base is columnar (numpy and Arrow); only the rows a manager's list
reaches go through the contact policy one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.domain.errors import InputError
from regulars.domain.tasks import CHANNEL_WAYS
from regulars.i18n import _, fmt_date, fmt_days, fmt_number, fmt_weekday, ngettext, use_language
from regulars.services.explain import sentence

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400_000_000

HELD_RECENT = "recently_contacted"
HELD_TASK = "open_task"
HELD_DNC = cp.DO_NOT_CONTACT

MARKETING_KINDS = frozenset({"offer", "greeting", "reminder", "event"})
"""Interaction kinds that count as marketing contacts for the caps; the others (a call,
support, a complaint) are about the relationship: transactional."""

CHANNEL_WORDS = {
    "phone": "phone", "call": "phone", "telephone": "phone", "tel": "phone",
    "email": "email", "e-mail": "email", "mail": "email",
    "sms": "sms", "text": "sms",
    "messenger": "messenger", "whatsapp": "messenger", "telegram": "messenger",
    "viber": "messenger", "chat": "messenger",
}
"""How interactions name the policy's channels (lower case)."""


class UnknownManagerError(InputError):
    """A manager the worklist does not know; the message lists the known ones."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(_("unknown manager {name!r}; the known managers are: {known}").format(
            name=name, known=", ".join(known) if known else _("(none)")))
        self.name = name
        self.known = list(known)


@dataclass(frozen=True)
class Suggestion:
    """One row of a manager's list (or of the held-back suggestions beside it).

    The tasks helper's ``regulars tasks plan`` reads these attributes."""

    customer_id: str
    name: str | None
    manager: str | None
    email: str | None
    phone: str | None
    channels: tuple[str, ...]
    """The action's channels consent and the policy allow, the preferred first."""
    last_order_at: datetime | None
    money_at_stake: float
    reason: str
    reason_text: str
    action: str
    action_text: str
    bucket: str
    due_on: date
    evidence: dict[str, Any]
    held_back: str | None = None
    """None, or why it is held back, in words."""
    held_back_code: str | None = None
    purpose: str = "marketing"
    contact_from: datetime | None = None
    """When quiet hours or a quiet day hold the contact now: the first moment allowed (UTC)."""
    since: str | None = None
    """What happened since the last contact, in words (the customer ordered after it)."""
    last_contact_at: datetime | None = None
    task_id: str | None = None
    """The open task this row shows, when it is one."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): codes as they are, moments and days as ISO 8601 text."""
        out = asdict(self)
        out["channels"] = list(self.channels)
        for k, v in out.items():
            if isinstance(v, date):  # a datetime is a date too
                out[k] = v.isoformat()
        return out


@dataclass(frozen=True)
class ManagerList:
    """One manager's list for their day."""

    manager: str | None
    time_zone: str
    day: date
    capacity: int
    items: tuple[Suggestion, ...]
    held_back: tuple[Suggestion, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"manager": self.manager, "time_zone": self.time_zone,
                "date": self.day.isoformat(), "capacity": self.capacity,
                "items": [s.to_dict() for s in self.items],
                "held_back": [s.to_dict() for s in self.held_back]}


@dataclass(frozen=True)
class Worklist:
    """Every manager's list (or the one asked for)."""

    on: date
    as_of: datetime | None
    lists: tuple[ManagerList, ...]
    managers: tuple[str, ...]
    candidates: int = 0
    """Customers with a reason after the filters, in all lists before capacity."""

    def items(self) -> list[Suggestion]:
        """Every manager's listed items, list after list, each in its rank order (the held-back
        suggestions are not among them)."""
        return [item for one in self.lists for item in one.items]

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.on.isoformat(),
                "map_as_of": None if self.as_of is None else self.as_of.isoformat(),
                "managers": list(self.managers), "candidates": self.candidates,
                "lists": [m.to_dict() for m in self.lists]}


class WorklistRows(Protocol):
    """What the worklist reads from a store (an adapter implements it)."""

    def map_snapshot(self) -> tuple[pa.Table, datetime] | None: ...

    def read_table(self, kind: Any) -> pa.Table: ...

    def tasks(self) -> pa.Table | None: ...


# --- the build ----------------------------------------------------------------------------


@dataclass
class _Base:
    """The whole base as arrays (one entry per map row)."""

    ids: pa.Array
    reason: IntArray  # index into REASON_ORDER, -1 none
    money: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]
    last_order_day: IntArray  # days since epoch, -1 unknown
    owner: pa.Array  # string: the customer's manager (null: none)
    dnc: BoolArray
    last_contact_us: npt.NDArray[np.int64]  # naive local µs since epoch; min int64 none
    answered_day: IntArray  # the latest NPS answer's day, -1 unknown
    prow: IntArray  # the customer's row of the customers table, -1 none


NONE_US = np.iinfo(np.int64).min
_ACTION_OF = np.asarray([wl.REASON_ACTION[r] for r in wl.REASON_ORDER], dtype=object)
"""The action of each reason, by its position in :data:`REASON_ORDER`."""


def build(
    map_rows: pa.Table,
    *,
    rules: wl.WorklistRules,
    policy: cp.ContactPolicy,
    on: date | datetime,
    profiles: pa.Table | None = None,
    interactions: pa.Table | None = None,
    feedback: pa.Table | None = None,
    tasks: pa.Table | None = None,
    manager: str | None = None,
    limit: int | None = None,
    as_of: datetime | None = None,
    words: str | None = None,
) -> Worklist:
    """Every manager's list for the day ``on`` (a date: that day in each manager's zone; an
    aware moment: the day it is in each manager's zone, and the moment the contact policy
    checks). ``manager`` keeps that manager's list only (:class:`UnknownManagerError` when
    unknown); ``limit`` lists at most that many customers per manager (default: each one's
    daily capacity). The sentences (reasons, actions, why held back) are in the language
    ``words`` names (``"en"`` for a file for machines), by default the current one."""
    if limit is not None and limit < 0:
        raise InputError(_("limit: must be 0 or more, not {n}").format(n=limit))
    sent = _Sent(interactions, map_rows.column("customer_id").combine_chunks())
    base = _base(map_rows, rules, profiles, sent, feedback)
    managers = _managers(base.owner, rules)
    if manager is not None and manager not in managers:
        raise UnknownManagerError(manager, managers)
    open_tasks = _open_tasks(tasks)
    keep = (base.reason >= 0)
    if open_tasks is not None:
        # a customer with an open (or snoozed) task is shown as the task, not suggested
        keep &= ~pc.is_in(base.ids, open_tasks.column("customer_id")).to_numpy(
            zero_copy_only=False)
    cand = np.flatnonzero(keep)
    # the most money at stake first, then the customer id: one order for everything after
    cand_ids = base.ids.take(pa.array(cand))
    order = pc.sort_indices(pa.table({"m": pa.array(-base.money[cand]), "id": cand_ids}),
                            [("m", "ascending"), ("id", "ascending")]).to_numpy()
    cand = cand[order]
    owners = _assign(base.owner.take(pa.array(cand)), managers, rules)
    today = _today_by_manager(managers, rules, on)
    history = _History(sent, rules.time_zone)
    facts_of = _Facts(profiles, map_rows, base)
    # each manager's candidates, in rank order: one stable sort of the owners' numbers
    by_owner = np.argsort(owners, kind="stable")
    starts = np.searchsorted(owners[by_owner], np.arange(len(managers) + 1))
    lists = []
    with use_language(words):
        for name in managers if manager is None else [manager]:
            k = managers.index(name)
            rows = cand[by_owner[starts[k]:starts[k + 1]]]
            lists.append(_manager_list(name, rows, base, map_rows, profiles, history,
                                       facts_of, open_tasks, rules, policy, on, today[name],
                                       limit))
    return Worklist(_day_of(on), as_of, tuple(lists), tuple(m for m in managers if m),
                    int(cand.size))


def _day_of(on: date | datetime) -> date:
    return on.date() if isinstance(on, datetime) else on


def _today_by_manager(managers: Sequence[str], rules: wl.WorklistRules,
                      on: date | datetime) -> dict[str, date]:
    if not isinstance(on, datetime):
        return dict.fromkeys(managers, on)
    moment = on if on.tzinfo is not None else on.replace(tzinfo=ZoneInfo(rules.time_zone))
    return {m: moment.astimezone(ZoneInfo(rules.zone(m or None))).date() for m in managers}


def _base(map_rows: pa.Table, rules: wl.WorklistRules, profiles: pa.Table | None,
          sent: _Sent, feedback: pa.Table | None) -> _Base:
    n = map_rows.num_rows
    ids = sent.ids

    def status(*codes: str) -> BoolArray:
        return _among(map_rows, "status", codes)

    revenue = _floats(map_rows, "revenue")
    money = _money(map_rows)
    reason = np.full(n, -1, dtype=np.int64)
    not_lost = ~status("lost")
    signals = map_rows.column("signals")
    for k, code in enumerate(wl.REASON_ORDER):
        if code == wl.LAPSING:
            holds = status("lapsing")
        elif code == wl.LOST:
            buyers = revenue[np.nan_to_num(revenue) > 0]
            floor = (float(np.quantile(buyers, rules.win_back_min_revenue_quantile))
                     if buyers.size else 0.0)
            holds = status("lost") & (np.nan_to_num(revenue) >= floor)
        elif code == wl.BETWEEN_ORDERS:
            holds = (_among(map_rows, "rung", wl.REGULAR_RUNGS)
                     & status("active", "won_back"))
        else:
            holds = _has_signal(signals, code, n) & not_lost
        reason[(reason < 0) & holds] = k
    # customers worth saving: no one below the median buyer unless their reason says why
    spent = np.nan_to_num(revenue)
    buyers = spent[spent > 0]
    median = float(np.median(buyers)) if buyers.size else 0.0
    small_ok = np.isin(reason, [wl.REASON_ORDER.index(r) for r in rules.small_customer_reasons])
    reason[(spent < median) & ~small_ok] = -1
    reason[money < rules.min_money_at_stake] = -1

    owner, dnc, prow = _profile_columns(ids, map_rows, profiles)
    last_contact = _last_contact(sent)
    answered = _answered(ids, feedback)
    last_order = _days(map_rows.column("last_order_at")) if (
        "last_order_at" in map_rows.column_names) else np.full(n, -1, np.int64)
    return _Base(ids, reason, money, revenue, last_order, owner, dnc, last_contact, answered,
                 prow)


def _among(table: pa.Table, name: str, codes: Sequence[str]) -> BoolArray:
    """Whether each row's text column ``name`` is one of ``codes`` (a null or a missing
    column is not)."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    hit = pc.is_in(table.column(name), value_set=pa.array(list(codes), pa.string()))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), bool)


def _floats(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    if name not in table.column_names:
        return np.zeros(table.num_rows)
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False), np.float64)


_STAKE = (r'"about":\s*"stake",\s*"code":\s*"money_at_stake".*?"money_at_stake":\s*'
          r'(?P<m>-?[0-9.eE+-]+)')


def _money(table: pa.Table) -> npt.NDArray[np.float64]:
    """Money at stake: the column, or (the served snapshot) read from the stake evidence."""
    if "money_at_stake" in table.column_names:
        return np.nan_to_num(_floats(table, "money_at_stake"))
    if "evidence" not in table.column_names:
        return np.zeros(table.num_rows)
    found = pc.struct_field(pc.extract_regex(
        pc.fill_null(table.column("evidence"), ""), _STAKE), "m")
    number = pc.cast(pc.if_else(pc.equal(found, ""), None, found), pa.float64())
    return np.nan_to_num(np.asarray(
        pc.fill_null(number, 0.0).to_numpy(zero_copy_only=False), np.float64))


def _has_signal(signals: pa.ChunkedArray, code: str, n: int) -> BoolArray:
    """Whether each row's signals hold ``code``: a list column (an analysis) or its JSON text
    (the served snapshot)."""
    if pa.types.is_string(signals.type) or pa.types.is_large_string(signals.type):
        return np.asarray(pc.fill_null(pc.match_substring(signals, f'"{code}"'), False)
                          .to_numpy(zero_copy_only=False), bool)
    col = signals.combine_chunks()
    flat = pc.list_flatten(col)
    parents = pc.list_parent_indices(col)
    out = np.zeros(n, dtype=bool)
    hit = pc.equal(flat, code)
    out[pc.filter(parents, hit).to_numpy()] = True
    return out


def _days(column: pa.ChunkedArray) -> IntArray:
    """A timestamp or date column as days since 1970-01-01 (its own wall clock), -1 null."""
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(col.type):
        col = pc.cast(col, pa.timestamp("us"))
    if pa.types.is_timestamp(col.type):
        if col.type.tz is not None:
            col = pc.local_timestamp(col)
        col = pc.cast(col, pa.timestamp("us"))
        us = pc.cast(col, pa.int64())
        days = pc.floor(pc.divide(pc.cast(us, pa.float64()), float(US_PER_DAY)))
        return np.asarray(pc.fill_null(pc.cast(days, pa.int64()), -1).to_numpy(
            zero_copy_only=False), np.int64)
    days32 = pc.cast(pc.cast(col, pa.date32()), pa.int32())
    return np.asarray(pc.fill_null(pc.cast(days32, pa.int64()), -1).to_numpy(
        zero_copy_only=False), np.int64)


def _lookup(ids: pa.Array, table: pa.Table) -> pa.Array:
    return pc.index_in(ids, table.column("customer_id"))


def _profile_columns(ids: pa.Array, map_rows: pa.Table, profiles: pa.Table | None
                     ) -> tuple[pa.Array, BoolArray, IntArray]:
    n = len(ids)
    owner: pa.Array = pa.nulls(n, pa.string())
    dnc = np.zeros(n, dtype=bool)
    prow = np.full(n, -1, dtype=np.int64)
    if "manager" in map_rows.column_names:
        owner = map_rows.column("manager").combine_chunks().cast(pa.string())
    if profiles is not None:
        at = _lookup(ids, profiles)
        prow = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), np.int64)
        if "manager" in profiles.column_names:
            owner = _array(pc.take(profiles.column("manager").cast(pa.string()), at))
        if "do_not_contact" in profiles.column_names:
            flag = pc.take(profiles.column("do_not_contact"), at)
            dnc = np.asarray(pc.fill_null(flag, False).to_numpy(zero_copy_only=False), bool)
    # blank manager names are no manager
    owner = _array(pc.if_else(pc.equal(pc.utf8_trim_whitespace(owner), ""), None, owner))
    return owner, dnc, prow


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _local_us(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(col.type):
        col = pc.cast(col, pa.timestamp("us"))
    if col.type.tz is not None:
        col = pc.local_timestamp(col)
    return pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())


def _outgoing(interactions: pa.Table) -> pa.Table:
    return interactions.filter(pc.equal(interactions.column("direction"), "out"))


class _Sent:
    """The outgoing interactions, each coded by its customer's map row once (one hash look-up
    of every contact: the costliest step at a million customers), for the last personal
    contact and for the policy's histories."""

    def __init__(self, interactions: pa.Table | None, ids: pa.Array) -> None:
        self.ids = ids
        self.table: pa.Table | None = None
        self.code = np.zeros(0, dtype=np.int64)
        if interactions is None or interactions.num_rows == 0:
            return
        sent = _outgoing(interactions)
        if sent.num_rows == 0:
            return
        self.table = sent
        self.code = np.asarray(pc.fill_null(pc.index_in(sent.column("customer_id"), ids), -1)
                               .to_numpy(zero_copy_only=False), np.int64)


def _personal(sent: pa.Table) -> BoolArray:
    """Which outgoing contacts a person made: a call, or any contact that names its manager
    (a done task is recorded so). A newsletter or a season's greeting to everyone is not one:
    it counts towards the caps, but does not stop a manager's call."""
    personal = pc.equal(sent.column("kind"), "call")
    if "manager" in sent.column_names:
        named = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(
            pc.fill_null(sent.column("manager").cast(pa.string()), ""))), 0)
        personal = pc.or_(personal, named)
    return np.asarray(pc.fill_null(personal, False).to_numpy(zero_copy_only=False), bool)


def _last_contact(sent: _Sent) -> npt.NDArray[np.int64]:
    """The moment (naive wall clock, µs) of each customer's last personal contact
    (:func:`_personal`)."""
    out = np.full(len(sent.ids), NONE_US, dtype=np.int64)
    if sent.table is None:
        return out
    keep = _personal(sent.table) & (sent.code >= 0)
    if not keep.any():
        return out
    us = np.asarray(pc.fill_null(_local_us(sent.table.column("at")), NONE_US)
                    .to_numpy(zero_copy_only=False), np.int64)
    np.maximum.at(out, sent.code[keep], us[keep])
    return out


def _answered(ids: pa.Array, feedback: pa.Table | None) -> IntArray:
    """The day of each customer's latest NPS answer (-1 none)."""
    out = np.full(len(ids), -1, dtype=np.int64)
    if feedback is None or feedback.num_rows == 0 or "nps" not in feedback.column_names:
        return out
    rated = feedback.filter(pc.is_valid(feedback.column("nps")))
    if rated.num_rows == 0:
        return out
    t = pa.table({"customer_id": rated.column("customer_id"),
                  "day": pa.array(_days(rated.column("at")))})
    last = t.group_by("customer_id").aggregate([("day", "max")])
    found = pc.take(last.column("day_max"), _lookup(ids, last))
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)


def _managers(owner: pa.Array, rules: wl.WorklistRules) -> list[str]:
    """The managers with a list: those customers name, those the settings name, and the
    default owner; sorted. None of them: one list without a manager ("")."""
    named = {str(m) for m in pc.unique(owner).to_pylist() if m}
    named |= set(rules.managers)
    if rules.default_owner:
        named.add(rules.default_owner)
    return sorted(named) if named else [""]


def _assign(owner: pa.Array, managers: Sequence[str], rules: wl.WorklistRules) -> IntArray:
    """Each candidate's owner, as a position in ``managers``: their manager, else the default
    owner, else the managers in turn (the candidates come ranked, so each gets the same share
    of the money at stake)."""
    code = pc.index_in(owner, value_set=pa.array(list(managers), pa.string()))
    out = np.asarray(pc.fill_null(code, -1).to_numpy(zero_copy_only=False), np.int64)
    free = np.flatnonzero(out < 0)
    if free.size:
        if rules.default_owner:
            out[free] = list(managers).index(rules.default_owner)
        else:
            out[free] = np.arange(free.size) % len(managers)
    return out


def _open_tasks(tasks: pa.Table | None) -> pa.Table | None:
    """Tasks still open: ``open``, or ``snoozed`` (shown again on their date)."""
    if tasks is None or tasks.num_rows == 0:
        return None
    return tasks.filter(pc.is_in(tasks.column("state"), pa.array(["open", "snoozed"])))


# --- one manager's list ----------------------------------------------------------------------


def _manager_list(name: str, rows: IntArray, base: _Base, map_rows: pa.Table,
                  profiles: pa.Table | None, history: _History, facts_of: _Facts,
                  open_tasks: pa.Table | None, rules: wl.WorklistRules,
                  policy: cp.ContactPolicy, on: date | datetime, day: date,
                  limit: int | None) -> ManagerList:
    owner = name or None
    capacity = rules.capacity(owner)
    room = capacity if limit is None else min(capacity, limit)
    today = (day - EPOCH).days
    reason = base.reason[rows]
    action = _ACTION_OF[reason] if rows.size else np.zeros(0, dtype=object)
    due = _due(rows, reason, action, base, today, rules)
    bucket = np.full(rows.size, 3, dtype=np.int64)
    bucket[due < today] = 0
    bucket[due == today] = 1
    bucket[(due > today) & (due < today + rules.week_days)] = 2
    listed = bucket < 3
    rows, due, bucket, action, reason = (rows[listed], due[listed], bucket[listed],
                                         action[listed], reason[listed])
    # the list's order: bucket, then money at stake (rows come ranked by money, id already)
    order = np.argsort(bucket, kind="stable")
    rows, due, bucket, action, reason = (rows[order], due[order], bucket[order],
                                         action[order], reason[order])
    tasks = _task_items(owner, open_tasks, base, map_rows, profiles, today, rules)
    items: list[Suggestion] = []
    held: list[Suggestion] = []
    merged = _merge(tasks, rows, bucket, base)
    # the open tasks are the manager's word already given: every one is listed (an explicit
    # limit aside); the suggestions fill what room the daily capacity leaves
    last_task = max((n for n, (kind, _k) in enumerate(merged) if kind == "task"),
                    default=-1) if tasks else -1
    for n, (kind, k) in enumerate(merged):
        if kind == "task":
            if limit is None or len(items) < limit:
                items.append(tasks[k])
            continue
        if len(items) >= room:
            if n > last_task:
                break
            continue
        i = int(rows[k])
        if len(held) >= capacity and _cheaply_held(i, base, today, rules):
            continue  # held back, and the held-back list is full: no need to say why
        s = _suggestion(i, owner, wl.REASON_ORDER[int(reason[k])], str(action[k]),
                        wl.BUCKETS[int(bucket[k])], EPOCH + timedelta(days=int(due[k])),
                        base, map_rows, profiles)
        why = _held(i, s, base, today, rules, policy, on, day, history, facts_of)
        if isinstance(why, Suggestion):
            items.append(why)
        elif len(held) < capacity:
            held.append(why[0])
    return ManagerList(owner, rules.zone(owner), day, capacity, tuple(items), tuple(held))


def _cheaply_held(i: int, base: _Base, today: int, rules: wl.WorklistRules) -> bool:
    """Held back by do-not-contact or a recent contact (known without the policy)."""
    if base.dnc[i]:
        return True
    last = int(base.last_contact_us[i])
    return (last != NONE_US and rules.recontact_after_days > 0
            and today - last // US_PER_DAY < rules.recontact_after_days)


def _due(rows: IntArray, reason: IntArray, action: npt.NDArray[np.object_], base: _Base,
         today: int, rules: wl.WorklistRules) -> IntArray:
    due = np.full(rows.size, today, dtype=np.int64)
    detractor = action == wl.CALL_DETRACTOR
    answered = base.answered_day[rows]
    known = detractor & (answered >= 0)
    due[known] = np.minimum(today, answered[known] + wl.DETRACTOR_DAYS)
    later = (action == wl.WIN_BACK) | (action == wl.REVIEW_TERMS)
    due[later] = wl.week_due(today, rules.week_days)
    quarterly = action == wl.QUARTERLY_CALL
    contact_day = np.where(base.last_contact_us[rows] == NONE_US, -1,
                           np.floor_divide(base.last_contact_us[rows], US_PER_DAY))
    touch = np.maximum(contact_day, base.last_order_day[rows])
    due[quarterly] = wl.quarterly_due(touch[quarterly], rules.quarterly_call_days)
    return due


def _merge(tasks: list[Suggestion], rows: IntArray, bucket: IntArray, base: _Base
           ) -> Iterable[tuple[str, int]]:
    """Tasks and suggestions in one order: bucket, the tasks before the suggestions, then
    money at stake."""
    keyed = [((wl.BUCKETS.index(t.bucket), 0, -t.money_at_stake, t.customer_id), ("task", k))
             for k, t in enumerate(tasks)]
    if not keyed:  # the suggestions alone, as many as the list reaches
        return (("row", k) for k in range(rows.size))
    keyed += [((int(bucket[k]), 1, -float(base.money[rows[k]]), ""), ("row", k))
              for k in range(rows.size)]
    keyed.sort(key=lambda x: x[0])
    return [v for _k, v in keyed]


class _History:
    """Each customer's outgoing contacts, as the policy counts them: the interactions coded
    by the customer's map row once (a hash look-up and an integer sort), each customer's
    rows found by bisection when the policy needs them."""

    def __init__(self, sent: _Sent, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.table: pa.Table | None = None
        if sent.table is None:
            return
        code = sent.code
        self.order = np.argsort(code, kind="stable")
        self.codes = code[self.order]
        self.table = sent.table.select([c for c in ("at", "channel", "kind")
                                        if c in sent.table.column_names])

    def of(self, row: int) -> list[cp.Contact]:
        if self.table is None:
            return []
        lo = int(np.searchsorted(self.codes, row, side="left"))
        hi = int(np.searchsorted(self.codes, row, side="right"))
        if hi <= lo:
            return []
        out = []
        for r in self.table.take(pa.array(self.order[lo:hi])).to_pylist():
            at = r["at"]
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            if at.tzinfo is None:
                at = at.replace(tzinfo=self.zone)
            channel = CHANNEL_WORDS.get(str(r.get("channel") or "").strip().lower(),
                                        str(r.get("channel") or ""))
            purpose = "marketing" if r.get("kind") in MARKETING_KINDS else "transactional"
            out.append(cp.Contact(at, channel, purpose))
        return out


class _Facts:
    """The policy's facts of a customer (from the customers table and the map)."""

    def __init__(self, profiles: pa.Table | None, map_rows: pa.Table, base: _Base) -> None:
        self.profiles = profiles
        self.map_rows = map_rows
        self.prow = base.prow

    def of(self, row: int, customer_id: str) -> cp.CustomerFacts:
        status = _cell(self.map_rows, "status", row)
        rung = _cell(self.map_rows, "rung", row)
        at = int(self.prow[row])
        if self.profiles is None or at < 0:
            return cp.CustomerFacts(customer_id, status, rung)
        p = self.profiles.slice(at, 1).to_pylist()[0]
        consent = {c: p.get(f"consent_{c}") for c in cp.CHANNELS}
        return cp.CustomerFacts(customer_id, status, rung, consent,
                                bool(p.get("do_not_contact")), time_zone_tag(p.get("attributes")))


def time_zone_tag(attributes: Any) -> str | None:
    """The customer's ``time_zone=Europe/Tallinn`` tag (attributes ``;``-separated or a
    list), when it names a zone that exists."""
    if not attributes:
        return None
    tags = attributes if isinstance(attributes, list) else str(attributes).split(";")
    for tag in tags:
        key, _eq, value = str(tag).partition("=")
        if key.strip().lower() in ("time_zone", "timezone", "tz") and value.strip():
            try:
                ZoneInfo(value.strip())
            except (KeyError, ValueError):
                return None
            return value.strip()
    return None


def _moment(on: date | datetime, day: date, zone: str) -> datetime:
    """The moment the policy checks: ``on`` when it is a moment; for a day, noon of it in the
    zone (a contact planned for the day, not for midnight)."""
    if isinstance(on, datetime):
        return on if on.tzinfo is not None else on.replace(tzinfo=ZoneInfo(zone))
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(zone))


def _held(i: int, s: Suggestion, base: _Base, today: int, rules: wl.WorklistRules,
          policy: cp.ContactPolicy, on: date | datetime, day: date, history: _History,
          facts_of: _Facts) -> Suggestion | tuple[Suggestion]:
    """The suggestion as listed (channels the policy allows), or held back with why."""
    if base.dnc[i]:
        return (_hold(s, HELD_DNC, _("held back: the customer asked not to be contacted")),)
    last = int(base.last_contact_us[i])
    if last != NONE_US and rules.recontact_after_days > 0:
        last_day = last // US_PER_DAY
        if today - last_day < rules.recontact_after_days:
            again = EPOCH + timedelta(days=last_day + rules.recontact_after_days)
            return (_hold(s, HELD_RECENT, _(
                "held back: contacted {ago} ({day}); not again before {again}").format(
                    ago=_ago(today - last_day), day=fmt_date(EPOCH + timedelta(days=last_day)),
                    again=fmt_date(again))),)
    facts = facts_of.of(i, s.customer_id)
    moment = _moment(on, day, rules.zone(s.manager))
    contacts = history.of(i)
    allowed: list[str] = []
    waits: list[datetime] = []
    refusals: list[cp.Decision] = []
    for channel in wl.ACTION_CHANNELS[s.action]:
        d = policy.check(facts, channel, s.purpose, moment, contacts)
        if d.allowed:
            allowed.append(channel)
        elif d.quiet_only:
            allowed.append(channel)
            if d.next_allowed is not None:
                waits.append(d.next_allowed)
        else:
            refusals.append(d)
    if not allowed:
        first = refusals[0]
        return (_hold(s, first.reason, decision_text(first, facts)),)
    return _with(s, channels=tuple(allowed), contact_from=min(waits) if waits else None)


def _ago(days: int) -> str:
    return _("today") if days == 0 else ngettext("{n} day ago", "{n} days ago", days).format(
        n=fmt_number(days))


def _hold(s: Suggestion, code: str, text: str) -> Suggestion:
    return _with(s, held_back=text, held_back_code=code, channels=())


def _with(s: Suggestion, **changes: Any) -> Suggestion:
    return replace(s, **changes)


def _way(channel: object) -> str:
    """How a contact is made, in a sentence: ``by phone``, ``по телефону``."""
    way = CHANNEL_WAYS.get(str(channel))
    return _(way) if way else str(channel)


def decision_text(d: cp.Decision, facts: cp.CustomerFacts | None = None) -> str:
    """A policy's decision in words: ``held back: 2 contacts in the last 365 days for a former
    customer``."""
    p = d.params
    if d.allowed:
        return _("allowed")
    if d.reason == cp.DO_NOT_CONTACT:
        return _("held back: the customer asked not to be contacted")
    if d.reason == cp.NO_CONSENT:
        return _("held back: no consent to contact {channel}").format(
            channel=_way(p["channel"]))
    if d.reason == cp.CONSENT_UNKNOWN:
        return _("held back: consent to contact {channel} is not recorded (a marketing "
                 "contact needs it)").format(channel=_way(p["channel"]))
    if d.reason == cp.CAP:
        who = {cp.FORMER: _("for a former customer"), cp.ALL: _("for any customer")}.get(
            # a rung or status code: its name is in the catalogue (regulars.entrypoints.labels)
            str(p["who"]), _("for a customer who is {who}").format(who=_(str(p["who"]))))
        text = ngettext("held back: {n} contact in the last {days} {who}",
                        "held back: {n} contacts in the last {days} {who}", int(p["count"])
                        ).format(n=fmt_number(p["count"]), days=fmt_days(p["days"]), who=who)
        if d.next_allowed is not None:
            text += " " + _("(allowed again from {day})").format(day=fmt_date(d.next_allowed))
        return text
    if d.reason == cp.QUIET_DAY:
        return _("wait: {day} is a quiet day ({zone})").format(day=fmt_weekday(str(p["day"])),
                                                               zone=p["time_zone"])
    if d.reason == cp.QUIET_HOURS:
        return _("wait: quiet hours {start}-{end} ({zone})").format(
            start=p["start"], end=p["end"], zone=p["time_zone"])
    return d.reason


# --- rows in words ---------------------------------------------------------------------------


def _cell(table: pa.Table | None, name: str, row: int | None) -> Any:
    if table is None or row is None or row < 0 or name not in table.column_names:
        return None
    return table.column(name)[row].as_py()


def _suggestion(i: int, owner: str | None, reason: str, action: str, bucket: str, due: date,
                base: _Base, map_rows: pa.Table, profiles: pa.Table | None) -> Suggestion:
    cid = str(base.ids[i].as_py())
    prow = int(base.prow[i]) if base.prow[i] >= 0 else None

    def contact(col: str) -> Any:
        value = _cell(profiles, col, prow)
        return value if value is not None else _cell(map_rows, col, i)

    evidence = _reason_item(map_rows, i, reason)
    last_order = _cell(map_rows, "last_order_at", i)
    if isinstance(last_order, str):
        last_order = datetime.fromisoformat(last_order)
    last_contact = (None if base.last_contact_us[i] == NONE_US else
                    datetime(1970, 1, 1) + timedelta(microseconds=int(base.last_contact_us[i])))
    return Suggestion(
        customer_id=cid, name=contact("name"), manager=owner, email=contact("email"),
        phone=contact("phone"), channels=(), last_order_at=last_order,
        money_at_stake=round(float(base.money[i]), 2), reason=reason,
        reason_text=_reason_text(reason, evidence, base, i, last_contact),
        action=action, action_text=_(wl.ACTIONS[action]), bucket=bucket, due_on=due,
        evidence=evidence, purpose=wl.ACTION_PURPOSE[action],
        since=_since(last_contact, last_order), last_contact_at=last_contact)


def _reason_item(map_rows: pa.Table, i: int, reason: str) -> dict[str, Any]:
    raw = _cell(map_rows, "evidence", i)
    items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    for item in items:
        about, code = item.get("about"), item.get("code")
        if (about == "signal" and code == reason) or (
                about == "status" and code == reason) or (
                reason == wl.BETWEEN_ORDERS and about == "rung"):
            return dict(item)
    return {"about": "worklist", "code": reason}


def _reason_text(reason: str, item: Mapping[str, Any], base: _Base, i: int,
                 last_contact: datetime | None) -> str:
    if reason == wl.BETWEEN_ORDERS:
        if last_contact is None:
            return _("a regular between orders, never contacted: the quarterly call of the "
                     "communication plan is due")
        return _("a regular between orders, last contacted on {day}: the quarterly call of "
                 "the communication plan is due").format(day=fmt_date(last_contact))
    if item.get("about") == "worklist":
        return _(wl.REASONS[reason])
    return sentence(item)


def _since(last_contact: datetime | None, last_order: datetime | None) -> str | None:
    """What happened after the last contact: an order, said with its day."""
    if last_contact is None:
        return None
    if last_order is not None and last_order > last_contact:
        return _("ordered on {order} after the contact on {contact}").format(
            order=fmt_date(last_order), contact=fmt_date(last_contact))
    return _("no order since the contact on {contact}").format(contact=fmt_date(last_contact))


# --- open tasks as rows ----------------------------------------------------------------------


def _task_items(owner: str | None, open_tasks: pa.Table | None, base: _Base,
                map_rows: pa.Table, profiles: pa.Table | None, today: int,
                rules: wl.WorklistRules) -> list[Suggestion]:
    """The manager's open tasks (and snoozed ones due again) as rows of the list."""
    if open_tasks is None:
        return []
    mine = open_tasks.filter(pc.equal(open_tasks.column("owner"), owner or ""))
    out = []
    index = None
    for t in mine.to_pylist():
        snoozed = t.get("snoozed_until")
        if t["state"] == "snoozed" and snoozed is not None and _as_day(snoozed) > today:
            continue
        due = _as_day(t.get("due_on")) if t.get("due_on") is not None else today
        if t["state"] == "snoozed" and snoozed is not None:
            due = max(due, _as_day(snoozed))
        b = wl.bucket_of(due, today, rules.week_days)
        if b is None:
            continue
        if index is None:
            index = {cid: k for k, cid in enumerate(base.ids.to_pylist())}
        i = index.get(t["customer_id"])
        reason = str(t.get("reason") or "")
        action = str(t.get("action") or wl.CALL)
        evidence = t.get("evidence")
        evidence = json.loads(evidence) if isinstance(evidence, str) else (evidence or {})
        if i is None:
            s = Suggestion(t["customer_id"], _cell(profiles, "name", None), owner, None, None,
                           (), None, float(t.get("money_at_stake") or 0.0), reason,
                           sentence(evidence) if evidence else _(wl.REASONS.get(reason, reason)),
                           action, _(wl.ACTIONS.get(action, action)), b,
                           EPOCH + timedelta(days=due), evidence)
        else:
            s = _suggestion(i, owner, reason if reason in wl.REASONS else wl.LAPSING, action
                            if action in wl.ACTIONS else wl.CALL, b,
                            EPOCH + timedelta(days=due), base, map_rows, profiles)
            s = _with(s, reason=reason, action=action,
                      money_at_stake=float(t.get("money_at_stake") or s.money_at_stake))
        out.append(_with(s, task_id=str(t["task_id"]),
                         channels=(str(t["channel"]),) if t.get("channel") else ()))
    return out


def _as_day(value: Any) -> int:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return int((value - EPOCH).days)


def now() -> datetime:
    """The clock, aware (UTC)."""
    return datetime.now(UTC)


__all__ = ["ManagerList", "Suggestion", "UnknownManagerError", "Worklist", "WorklistRows",
           "build", "decision_text", "now", "time_zone_tag"]
