"""Playbooks (DOMAIN §9, issue 20): trigger → conditions → steps, with waits, a goal and a
control group. This module is the shared vocabulary: what a parsed playbook is. Parsing
(TOML → these types, with errors naming file, playbook and step) lives in
:mod:`regulars.domain.playbooks.parse`; running them lives in ``services/playbooks``.

Plain data, frozen, no I/O. Every code here is language-neutral; the words a person reads
are written where they are shown.

A playbook's ``steps`` are a list; execution starts at the first and goes to the next unless a
:class:`Branch` jumps (by step id) or an :class:`Exit` ends the journey. Branches may only jump
forward: a jump back could loop, so the parser refuses it (a "cycle in branches").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import time

# --- triggers -------------------------------------------------------------------------------

EVENT = "event"
CHANGE = "change"
DATE = "date"
CADENCE = "cadence"
TRIGGER_KINDS = (EVENT, CHANGE, DATE, CADENCE)

# events the product itself raises (orders arrive through import or POST /v1/orders); any
# other name sent to POST /v1/events (cart_abandoned, signed_up, …) is a custom event
FIRST_ORDER = "first_order"
ORDER_PLACED = "order_placed"
SIGNED_UP = "signed_up"
CART_ABANDONED = "cart_abandoned"
NPS_ANSWERED = "nps_answered"
REVIEW_POSTED = "review_posted"
KNOWN_EVENTS = (FIRST_ORDER, ORDER_PLACED, SIGNED_UP, CART_ABANDONED, NPS_ANSWERED,
                REVIEW_POSTED)

# what a change trigger watches
CHANGE_FIELDS = ("rung", "status", "signal", "tier")

# what a date trigger counts from
BIRTHDAY = "birthday"                # customers.birthday
FIRST_ORDER_ANNIVERSARY = "first_order_anniversary"
HOLIDAY = "holiday"                  # a public holiday of the customer's country (`holidays`)
ATTRIBUTE = "attribute"              # a date in the customer's attributes, e.g. founded=2011-05-17
DATE_BASES = (BIRTHDAY, FIRST_ORDER_ANNIVERSARY, HOLIDAY, ATTRIBUTE)

CADENCES = ("week", "month", "quarter", "year")


@dataclass(frozen=True)
class Trigger:
    """What makes a customer enter a playbook.

    - ``event``: ``event`` names it (``order_placed``, ``cart_abandoned``, …);
    - ``change``: ``field`` (rung, status, signal, tier) moved ``to`` a value (and, if given,
      ``from_`` another); for ``signal``, ``to`` is the signal raised;
    - ``date``: ``base`` with ``offset_days`` (negative: before); ``holiday`` names the holiday
      for ``base = "holiday"`` (``new_year``, or a name the `holidays` library uses), and
      ``attribute`` the customer attribute for ``base = "attribute"`` (a day, ``MM-DD`` or
      ``YYYY-MM-DD``);
    - ``cadence``: once per ``every`` (a calendar week, month, quarter or year), on day
      ``offset_days`` of it (0: its first day).
    """

    kind: str
    event: str | None = None
    field: str | None = None
    to: str | None = None
    from_: str | None = None
    base: str | None = None
    holiday: str | None = None
    attribute: str | None = None
    offset_days: int = 0
    every: str | None = None


# --- conditions -----------------------------------------------------------------------------

# operators of a clause
OPS = ("eq", "ne", "in", "not_in", "gte", "lte", "gt", "lt", "has", "lacks", "exists")
"""``has``/``lacks``: a list field (signals, traits, tags) contains / does not contain the value
(or any of the values, for a list); ``exists``: the field has a value (true) or not (false)."""

# fields a clause may name; ``attribute.<name>`` reads a customer attribute (disc=D → "D")
CONDITION_FIELDS = (
    "rung", "status", "signals", "traits", "rfm_segment", "money_at_stake", "revenue", "orders",
    "days_since_last_order", "p_alive", "clv", "tier", "points", "tags", "manager",
    "consent_email", "consent_sms", "consent_messenger", "consent_phone", "do_not_contact",
    "language", "country",
)
ATTRIBUTE_PREFIX = "attribute."


@dataclass(frozen=True)
class Clause:
    """One test of a customer's facts: ``field op value``."""

    field: str
    op: str
    value: object


@dataclass(frozen=True)
class Condition:
    """All of ``all_`` and, if ``any_`` is not empty, at least one of ``any_`` (an empty
    condition is true)."""

    all_: tuple[Clause, ...] = ()
    any_: tuple[Clause, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.all_ and not self.any_


# --- steps ----------------------------------------------------------------------------------

CHANNEL_EMAIL = "email"
CHANNEL_SMS = "sms"
CHANNEL_MESSENGER = "messenger"
SEND_CHANNELS = (CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_MESSENGER)
MARKETING = "marketing"
TRANSACTIONAL = "transactional"


@dataclass(frozen=True)
class Wait:
    """Wait ``days``/``hours``, then (if ``until`` is set) until the next ``until`` o'clock of
    the customer's wall clock (their time zone; DST-safe: a wall time that does not exist that
    day moves forward to the first that does, one that repeats is taken once, the first)."""

    id: str
    days: int = 0
    hours: int = 0
    until: time | None = None


@dataclass(frozen=True)
class Branch:
    """Go to step ``then`` if ``condition`` holds, else to ``else_`` (None: the next step)."""

    id: str
    condition: Condition
    then: str
    else_: str | None = None


@dataclass(frozen=True)
class Send:
    """Send the message ``template`` on ``channel``, for ``purpose`` (marketing or
    transactional: the contact policy treats them differently)."""

    id: str
    channel: str
    template: str
    purpose: str = MARKETING


@dataclass(frozen=True)
class CreateTask:
    """A task for the customer's manager (the worklist's tasks), due ``due_in_days`` after the
    step runs; ``action`` is a worklist action code (domain/worklist.py ACTIONS) or a free
    text, ``channel`` how to contact (phone by default)."""

    id: str
    action: str
    due_in_days: int = 0
    channel: str = "phone"
    note: str | None = None


@dataclass(frozen=True)
class AwardPoints:
    """Award ``points`` in the loyalty programme (the customer must be a member)."""

    id: str
    points: int
    reason: str = "playbook"


@dataclass(frozen=True)
class IssueCoupon:
    """Issue a coupon for the loyalty programme's reward ``reward``."""

    id: str
    reward: str


@dataclass(frozen=True)
class Tag:
    """Add (or, with ``remove``, take away) tag ``tag`` (the customer's tags, which conditions
    read with ``tags``)."""

    id: str
    tag: str
    remove: bool = False


@dataclass(frozen=True)
class CallWebhook:
    """POST the customer's journey event to ``url`` (signed, retried like every webhook)."""

    id: str
    url: str


@dataclass(frozen=True)
class Exit:
    """End the journey here."""

    id: str


Step = Wait | Branch | Send | CreateTask | AwardPoints | IssueCoupon | Tag | CallWebhook | Exit
STEP_KINDS = {
    "wait": Wait, "branch": Branch, "send": Send, "task": CreateTask, "award_points": AwardPoints,
    "issue_coupon": IssueCoupon, "tag": Tag, "webhook": CallWebhook, "exit": Exit,
}
"""The ``kind`` a step is written with in TOML → its type."""


def step_kind(step: Step) -> str:
    for name, cls in STEP_KINDS.items():
        if isinstance(step, cls):
            return name
    raise TypeError(f"not a step: {step!r}")


# --- the playbook ---------------------------------------------------------------------------

REENTRY_NEVER = "never"          # once per customer, ever
REENTRY_AFTER_EXIT = "after_exit"  # again once the previous journey has ended
REENTRY_AFTER_DAYS = "after_days"  # again ``reentry_days`` after the previous entry
REENTRY = (REENTRY_NEVER, REENTRY_AFTER_EXIT, REENTRY_AFTER_DAYS)


@dataclass(frozen=True)
class Goal:
    """The journey's goal: the event ``event`` (``order_placed`` by default) within ``days``
    of entering. Reaching it ends the journey (``exit_on_goal``) and counts for the report."""

    event: str = ORDER_PLACED
    days: int = 30


@dataclass(frozen=True)
class Playbook:
    """A parsed playbook. ``set`` is the set it belongs to (``communication_plan``,
    ``retention``, or the business's own); a playbook runs only when its set is enabled
    (``[playbooks] enabled``) and ``enabled`` is not false. ``source`` names the file it came
    from, for errors."""

    name: str
    title: str
    set: str
    trigger: Trigger
    steps: tuple[Step, ...]
    conditions: Condition = field(default_factory=Condition)
    goal: Goal | None = field(default_factory=Goal)
    exit_when_unmatched: bool = True
    reentry: str = REENTRY_AFTER_EXIT
    reentry_days: int = 0
    control_share: float | None = None  # None: [playbooks] control_share
    enabled: bool = True
    description: str = ""
    source: str = ""

    @property
    def version(self) -> str:
        """A digest of what the playbook does (not its source or description): a journey
        records the version it entered, so an edit shows in the report."""
        data = asdict(self)
        for key in ("source", "description", "title", "enabled"):
            data.pop(key, None)
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def after(self, step_id: str) -> str | None:
        """The id of the step after ``step_id`` (None: the end)."""
        ids = [s.id for s in self.steps]
        i = ids.index(step_id)
        return ids[i + 1] if i + 1 < len(ids) else None


# --- message templates ----------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A message in one language: ``subject`` (e-mail only), ``text`` and ``html`` (e-mail
    only; None: the plain text alone), Jinja2 source, written in a playbooks file as
    ``[templates.<name>.<language>]``. Rendering may use only :data:`TEMPLATE_VARIABLES`."""

    name: str
    language: str
    text: str
    subject: str | None = None
    html: str | None = None
    source: str = ""


TEMPLATE_VARIABLES = {
    "customer": ("customer_id", "name", "first_name", "email", "phone", "manager", "rung",
                 "status", "tier", "points", "orders", "last_order_at", "attributes"),
    "business": ("name", "phone", "email", "website"),
    "manager": ("name",),
    "playbook": ("name", "title"),
    "unsubscribe_url": None,
    "coupon": ("code", "reward"),
}
"""What a template may name: a top-level name and, for an object, its attributes
(``{{ customer.first_name }}``). Anything else is refused when the playbooks are loaded."""
