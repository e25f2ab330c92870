"""Today's worklist (DOMAIN §9, issue 18): the reasons a manager contacts a customer, the
action the articles suggest for each, and when it is due.

A customer's **reason** is the strongest of what the map says about them, in the order of
:data:`REASON_ORDER` (a detractor first: article 001 wants the manager on the phone within two
days; then an overdue order, which 68 % of lost customers never got a reminder of; …). A
customer with no warning signal may still be on the list: a valuable former customer for one
minimal win-back contact, and a regular between orders for the quarterly call of the
communication plan.

Every code here is language-neutral (machine-readable output uses it); :data:`ACTIONS` and
:data:`REASONS` give the names a person reads, translated where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from regulars.i18n import N_

# --- actions (the tasks helper imports these codes) ----------------------------------------

REMINDER = "reminder"
CALL = "call"
CALL_DETRACTOR = "call_detractor"
ASK_ADDONS = "ask_addons"
WIN_BACK = "win_back"
QUARTERLY_CALL = "quarterly_call"
REVIEW_TERMS = "review_terms"

ACTIONS = MappingProxyType({
    REMINDER: N_("remind them of the order they are due to place"),
    CALL: N_("the manager calls: ask what changed"),
    CALL_DETRACTOR: N_("the manager calls within two days: hear the complaint out"),
    ASK_ADDONS: N_("ask how the service they stopped using served them"),
    WIN_BACK: N_("one minimal win-back contact: news or a greeting, no pressure"),
    QUARTERLY_CALL: N_("the quarterly call between orders: share news, learn theirs"),
    REVIEW_TERMS: N_("review the terms of the relationship"),
})
"""Each action code and what the manager does, in the articles' words."""

ACTION_NAMES = MappingProxyType({
    REMINDER: N_("remind of the order"),
    CALL: N_("call"),
    CALL_DETRACTOR: N_("call the detractor"),
    ASK_ADDONS: N_("ask about add-ons"),
    WIN_BACK: N_("win back"),
    QUARTERLY_CALL: N_("quarterly call"),
    REVIEW_TERMS: N_("review the terms"),
})
"""Each action code's short name, for a column of tasks."""

ACTION_CHANNELS = MappingProxyType({
    REMINDER: ("phone", "email", "messenger", "sms"),
    CALL: ("phone",),
    CALL_DETRACTOR: ("phone",),
    ASK_ADDONS: ("phone", "email"),
    WIN_BACK: ("email", "messenger", "sms", "phone"),
    QUARTERLY_CALL: ("phone",),
    REVIEW_TERMS: ("phone", "email"),
})
"""The channels each action is done on, the preferred first (a call is a phone call)."""

ACTION_PURPOSE = MappingProxyType({
    REMINDER: "marketing",
    CALL: "marketing",
    # answering a customer's own bad score, or talking about the terms of an account, is
    # about something the customer started: transactional
    CALL_DETRACTOR: "transactional",
    ASK_ADDONS: "marketing",
    WIN_BACK: "marketing",
    QUARTERLY_CALL: "marketing",
    REVIEW_TERMS: "transactional",
})
"""The purpose of each action for the contact policy."""

# --- reasons --------------------------------------------------------------------------------

LOST = "lost"
"""Reason of a win-back: a valuable former customer (status lost)."""
BETWEEN_ORDERS = "between_orders"
"""Reason of a quarterly call: a regular between orders, no contact for a quarter."""
LAPSING = "lapsing"
"""Reason of a reminder when the status says lapsing but no signal was raised."""

REASON_ORDER = (
    "detractor",
    "overdue",
    "shrinking_orders",
    "widening_gaps",
    "dropped_addons",
    "complaints_returns",
    "slower_payments",
    "churn_risk",
    "review_relationship",
    LAPSING,
    LOST,
    BETWEEN_ORDERS,
)
"""The reasons from strongest to weakest: a customer's reason is the first that holds. The
signal ``unresponsive`` is no reason to contact (they do not answer offers); it stays in the
evidence."""

REASON_ACTION = MappingProxyType({
    "detractor": CALL_DETRACTOR,
    "overdue": REMINDER,
    "shrinking_orders": CALL,
    "widening_gaps": CALL,
    "dropped_addons": ASK_ADDONS,
    "complaints_returns": CALL,
    "slower_payments": CALL,
    "churn_risk": CALL,
    "review_relationship": REVIEW_TERMS,
    LAPSING: REMINDER,
    LOST: WIN_BACK,
    BETWEEN_ORDERS: QUARTERLY_CALL,
})
"""The action the articles suggest for each reason (DOMAIN §9): overdue → a reminder;
shrinking orders or a detractor → the manager calls, a detractor within two days; dropped
add-ons → ask about the service; valuable and lost → one win-back contact; a regular between
orders → the quarterly call."""

REASONS = MappingProxyType({
    "detractor": N_("a detractor"),
    "overdue": N_("an order is overdue"),
    "shrinking_orders": N_("orders shrinking"),
    "widening_gaps": N_("gaps widening"),
    "dropped_addons": N_("add-ons dropped"),
    "complaints_returns": N_("complaints or returns"),
    "slower_payments": N_("slower payments"),
    "churn_risk": N_("churn risk"),
    "review_relationship": N_("review the relationship"),
    LAPSING: N_("lapsing"),
    LOST: N_("a valuable former customer"),
    BETWEEN_ORDERS: N_("a regular between orders"),
})

REGULAR_RUNGS = ("regular", "loyal", "advocate")
"""Rungs of the customers the communication plan's quarterly call is for."""

BUCKETS = ("overdue", "today", "week")
"""The list's buckets, in the order they are worked: due before today, due today, due later
this week (Bitrix24's fixed columns; the manager's time zone decides the day)."""


# --- due dates (days since 1970-01-01, so the same rules run on a number or a numpy array) ---

DETRACTOR_DAYS = 2
"""Article 001: the manager calls a detractor within two days of the answer."""


def detractor_due(today: int, answered: int | None) -> int:
    """A detractor's call is due today, and overdue once two days have passed since the
    answer (when the day of the answer is known)."""
    if answered is None:
        return today
    return min(today, answered + DETRACTOR_DAYS)


def quarterly_due(last_touch: int, every_days: int) -> int:
    """The quarterly call is due ``every_days`` after the last contact or order."""
    return last_touch + every_days


def week_due(today: int, week_days: int) -> int:
    """A contact that can wait for any day of this week (a win-back, reviewing terms)."""
    return today + max(week_days - 1, 0)


def bucket_of(due: int, today: int, week_days: int) -> str | None:
    """``overdue`` before today, ``today``, ``week`` up to ``week_days - 1`` days ahead, else
    None (not on this week's list)."""
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    if due < today + week_days:
        return "week"
    return None


# --- the rules a business configures ([worklist]) -------------------------------------------


@dataclass(frozen=True)
class ManagerRules:
    """One manager's own settings: their time zone and daily capacity (None: the list's)."""

    time_zone: str | None = None
    daily_capacity: int | None = None


@dataclass(frozen=True)
class WorklistRules:
    """The worklist's rules, the ``[worklist]`` settings validated (see its docs)."""

    daily_capacity: int = 15
    recontact_after_days: int = 30
    default_owner: str | None = None
    week_days: int = 7
    managers: MappingProxyType[str, ManagerRules] | dict[str, ManagerRules] = field(
        default_factory=dict)
    time_zone: str = "UTC"
    """The business's zone: a manager's days when they name none, and of naive times."""
    min_money_at_stake: float = 0.0
    small_customer_reasons: tuple[str, ...] = ("detractor", "complaints_returns")
    """Reasons for which a customer who has spent less than the median buyer is still
    listed (a detractor or a complaint needs an answer whatever the size)."""
    quarterly_call_days: int = 90
    """Days after the last contact (or order) that a regular's quarterly call falls due."""
    win_back_min_revenue_quantile: float = 0.5
    """A former customer is valuable (worth a win-back) from this quantile of the buyers'
    revenue so far (0.5: the median buyer)."""

    def capacity(self, manager: str | None) -> int:
        own = self.managers.get(manager or "") if manager else None
        if own is not None and own.daily_capacity is not None:
            return own.daily_capacity
        return self.daily_capacity

    def zone(self, manager: str | None) -> str:
        own = self.managers.get(manager or "") if manager else None
        if own is not None and own.time_zone:
            return own.time_zone
        return self.time_zone
