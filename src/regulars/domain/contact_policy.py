"""The contact policy every contact obeys (DOMAIN §9, issue 18): caps over rolling windows,
quiet hours and days in the customer's time zone, consent per channel, do-not-contact, and
transactional against marketing contacts.

Pure: no I/O, no clock. :meth:`ContactPolicy.check` takes the customer's facts, the channel,
the purpose, the moment and the contacts so far, and returns a :class:`Decision`: whether the
contact is allowed, the reason as a code with its parameters (the words are written where a
person reads them, :func:`decision_text`), and the next moment the policy would allow it.

The rules, in the order they are checked (the first that refuses decides):

1. **do-not-contact** blocks every contact but a transactional one;
2. **consent** per channel: ``True`` allows both purposes, ``False`` neither, unknown
   (``None``) a transactional contact only (a marketing contact needs a recorded yes);
3. **caps**: each :class:`CapRule` that applies to the customer (``who``) and the contact
   (``channels``, ``purpose``) counts the earlier contacts it covers in the rolling window of
   its ``days`` that ends at the moment (``(at - days, at]``); one more than ``max`` is
   refused, and the next allowed moment is when enough of them have left the window;
4. **quiet hours and days** in the customer's time zone (its wall clock, across DST
   changes): a contact falling in them waits for the first moment outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from regulars.i18n import N_

CHANNELS = ("email", "sms", "messenger", "phone")
"""The channels consent is recorded for (``consent_<channel>`` columns of customers)."""
PURPOSES = ("transactional", "marketing")
"""A transactional contact is about something the customer started (an order, a complaint,
their feedback); a marketing contact is the business reaching out to sell or keep them."""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORMER = "former"
"""``who`` of a rule for former customers: the status ``lost``."""
ALL = "all"

# reason codes of a Decision
ALLOWED = "allowed"
DO_NOT_CONTACT = "do_not_contact"
NO_CONSENT = "no_consent"
CONSENT_UNKNOWN = "consent_unknown"
CAP = "cap"
QUIET_HOURS = "quiet_hours"
QUIET_DAY = "quiet_day"
REASONS = {
    ALLOWED: N_("allowed"),
    DO_NOT_CONTACT: N_("do not contact"),
    NO_CONSENT: N_("no consent for the channel"),
    CONSENT_UNKNOWN: N_("consent for the channel not recorded"),
    CAP: N_("contact cap reached"),
    QUIET_HOURS: N_("quiet hours"),
    QUIET_DAY: N_("quiet day"),
}
QUIET = frozenset({QUIET_HOURS, QUIET_DAY})
"""Reasons that only ask to wait for a moment of the same day or the next."""


class PolicyError(ValueError):
    """A rule of the policy that cannot work (the settings name the key)."""


@dataclass(frozen=True)
class CapRule:
    """At most ``max`` contacts in any ``days`` days, for the customers ``who`` names, on the
    ``channels`` named (None: every channel), counting ``purpose`` contacts (``marketing``:
    marketing contacts only, and only a marketing contact is held back; ``any``: all)."""

    who: str = ALL
    channels: frozenset[str] | None = None
    purpose: str = "any"
    max: int = 2
    days: int = 365

    def __post_init__(self) -> None:
        if self.purpose not in ("marketing", "any"):
            raise PolicyError(f"purpose must be 'marketing' or 'any', not {self.purpose!r}")
        if self.max < 0:
            raise PolicyError(f"max must be 0 or more, not {self.max}")
        if self.days < 1:
            raise PolicyError(f"days must be 1 or more, not {self.days}")
        if self.channels is not None:
            unknown = sorted(set(self.channels) - set(CHANNELS))
            if unknown:
                raise PolicyError(f"unknown channel {unknown[0]!r} (use one of "
                                  f"{', '.join(CHANNELS)} or '*')")

    def applies_to(self, facts: CustomerFacts) -> bool:
        if self.who == ALL:
            return True
        if self.who == FORMER:
            return facts.status == "lost"
        return self.who in (facts.status, facts.rung)

    def covers(self, channel: str, purpose: str) -> bool:
        """Whether a contact on ``channel`` for ``purpose`` counts towards this cap."""
        if self.channels is not None and channel not in self.channels:
            return False
        return self.purpose == "any" or purpose == "marketing"


DEFAULT_CAPS = (
    # article 001: former customers, minimal contact, at most 1-2 times a year
    CapRule(who=FORMER, channels=None, purpose="any", max=2, days=365),
    # issue 18: marketing messages at most 4 in 30 days
    CapRule(who=ALL, channels=None, purpose="marketing", max=4, days=30),
)


@dataclass(frozen=True)
class CustomerFacts:
    """What the policy needs to know of a customer."""

    customer_id: str
    status: str | None = None
    rung: str | None = None
    consent: Mapping[str, bool | None] = field(default_factory=dict)
    """Per channel: True (yes recorded), False (no recorded), None or absent (unknown)."""
    do_not_contact: bool = False
    time_zone: str | None = None
    """IANA zone of the customer; None: the policy's default zone."""


@dataclass(frozen=True)
class Contact:
    """An earlier contact: when (aware, or naive in the policy's zone), on which channel, for
    which purpose."""

    at: datetime
    channel: str
    purpose: str = "marketing"


@dataclass(frozen=True)
class Decision:
    """The policy's answer. ``reason`` is a code (:data:`REASONS`), ``params`` what its
    sentence says; ``next_allowed`` the first moment the same contact would be allowed (None:
    never, as things stand: no consent, do-not-contact)."""

    allowed: bool
    reason: str = ALLOWED
    params: Mapping[str, Any] = field(default_factory=dict)
    next_allowed: datetime | None = None

    @property
    def quiet_only(self) -> bool:
        """Refused only because of the hour or the day: it may wait, not give up."""
        return not self.allowed and self.reason in QUIET


def parse_clock_range(text: str) -> tuple[time, time] | None:
    """``"21:00-09:00"`` as (start, end) clock times; ``""`` or ``"none"`` as None. A range
    whose end is before its start runs over midnight."""
    text = text.strip()
    if text.lower() in ("", "none", "off"):
        return None
    try:
        a, b = (time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError:
        raise PolicyError(f"{text!r} is not a clock range such as '21:00-09:00'") from None
    if a == b:
        raise PolicyError(f"{text!r}: the quiet hours start and end at the same time")
    return a, b


@dataclass(frozen=True)
class ContactPolicy:
    """Caps, quiet hours and days, consent and do-not-contact (the module docstring)."""

    caps: tuple[CapRule, ...] = DEFAULT_CAPS
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(9, 0))
    quiet_days: frozenset[str] = frozenset({"sunday"})
    zone: str = "UTC"
    """The zone of a customer who has none, and of naive moments."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.quiet_days) - set(WEEKDAYS))
        if unknown:
            raise PolicyError(f"unknown day {unknown[0]!r} (use monday … sunday)")
        if len(self.quiet_days) == len(WEEKDAYS):
            raise PolicyError("every day of the week is quiet: no contact would be allowed")
        ZoneInfo(self.zone)

    # -- the check ---------------------------------------------------------------------------

    def check(self, facts: CustomerFacts, channel: str, purpose: str, at: datetime,
              history: Iterable[Contact] = ()) -> Decision:
        """May ``facts``' customer be contacted on ``channel`` for ``purpose`` at ``at``,
        given the contacts of ``history``? (Contacts after ``at`` are not counted.)"""
        if channel not in CHANNELS:
            raise PolicyError(f"unknown channel {channel!r}")
        if purpose not in PURPOSES:
            raise PolicyError(f"unknown purpose {purpose!r}")
        marketing = purpose == "marketing"
        if facts.do_not_contact and marketing:
            return Decision(False, DO_NOT_CONTACT, {"channel": channel})
        consent = facts.consent.get(channel)
        if consent is False:
            return Decision(False, NO_CONSENT, {"channel": channel})
        if consent is None and marketing:
            return Decision(False, CONSENT_UNKNOWN, {"channel": channel})
        when = self._aware(at)
        capped = self._caps(facts, channel, purpose, when, history)
        if capped is not None:
            if capped.next_allowed is None:  # a cap of 0: never
                return capped
            # the moment the cap lets go may itself be quiet: the first open moment after it
            return Decision(False, capped.reason, capped.params,
                            self.next_open(capped.next_allowed, facts.time_zone))
        quiet = self._quiet(when, facts.time_zone)
        if quiet is not None:
            return quiet
        return Decision(True)

    def _caps(self, facts: CustomerFacts, channel: str, purpose: str, at: datetime,
              history: Iterable[Contact]) -> Decision | None:
        contacts = [(self._aware(c.at), c) for c in history]
        contacts = [(t, c) for t, c in contacts if t <= at]
        worst: Decision | None = None
        for rule in self.caps:
            if not rule.applies_to(facts) or not rule.covers(channel, purpose):
                continue
            start = at - timedelta(days=rule.days)
            # the earlier contacts this cap counts, in the window (at - days, at]
            times = sorted(t for t, c in contacts
                           if t > start and rule.covers(c.channel, c.purpose))
            if len(times) < rule.max:  # one more still fits
                continue
            # allowed again once all but max - 1 of them have left the window
            free = (times[len(times) - rule.max] + timedelta(days=rule.days)
                    if rule.max > 0 else None)
            if free is None:
                return Decision(False, CAP, _cap_params(rule, len(times), facts), None)
            if worst is None or (worst.next_allowed is not None and free > worst.next_allowed):
                worst = Decision(False, CAP, _cap_params(rule, len(times), facts), free)
        return worst

    def _quiet(self, at: datetime, zone: str | None) -> Decision | None:
        local = at.astimezone(self._zone(zone))
        day = WEEKDAYS[local.weekday()]
        if day in self.quiet_days:
            return Decision(False, QUIET_DAY, {"day": day, "time_zone": self._zone_name(zone)},
                            self.next_open(at, zone))
        if self._in_quiet_hours(local.time()):
            assert self.quiet_hours is not None
            return Decision(False, QUIET_HOURS, {
                "start": self.quiet_hours[0].strftime("%H:%M"),
                "end": self.quiet_hours[1].strftime("%H:%M"),
                "time_zone": self._zone_name(zone)}, self.next_open(at, zone))
        return None

    def _in_quiet_hours(self, clock: time) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        if start < end:
            return start <= clock < end
        return clock >= start or clock < end  # over midnight

    def is_quiet(self, at: datetime, zone: str | None = None) -> bool:
        """Whether ``at`` falls in quiet hours or on a quiet day in ``zone``'s wall clock."""
        return self._quiet(self._aware(at), zone) is not None

    def next_open(self, at: datetime, zone: str | None = None) -> datetime:
        """The first moment at or after ``at`` outside quiet hours and days, in ``zone``
        (aware, UTC). A wall-clock time a DST change skips is read as the first instant
        after the gap."""
        moment = self._aware(at).astimezone(UTC)
        tz = self._zone(zone)
        for _step in range(3 * len(WEEKDAYS) + 3):
            local = moment.astimezone(tz)
            day = WEEKDAYS[local.weekday()]
            if day in self.quiet_days:
                moment = _wall(local.date() + timedelta(days=1), time(0, 0), tz)
                continue
            if self._in_quiet_hours(local.time()):
                assert self.quiet_hours is not None
                end = self.quiet_hours[1]
                end_day = local.date() if local.time() < end else local.date() + timedelta(days=1)
                moment = _wall(end_day, end, tz)
                continue
            return moment
        raise PolicyError("no open moment within three weeks")  # pragma: no cover - checked

    # -- zones -------------------------------------------------------------------------------

    def _zone(self, zone: str | None) -> tzinfo:
        return _zone(zone or self.zone)

    def _zone_name(self, zone: str | None) -> str:
        return zone or self.zone

    def _aware(self, at: datetime) -> datetime:
        """A naive moment is a wall-clock time of the policy's zone."""
        return at if at.tzinfo is not None else at.replace(tzinfo=_zone(self.zone))


def _cap_params(rule: CapRule, count: int, facts: CustomerFacts) -> dict[str, Any]:
    return {"count": count, "max": rule.max, "days": rule.days, "who": rule.who,
            "channels": sorted(rule.channels) if rule.channels is not None else ["*"],
            "purpose": rule.purpose}


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise PolicyError(f"unknown time zone {name!r}") from None


def _wall(day: date, clock: time, tz: tzinfo) -> datetime:
    """The instant the wall clock of ``tz`` shows ``clock`` on ``day``; a time skipped by a DST
    change (spring forward) is the first instant after the gap, not a time that never was."""
    naive = datetime.combine(day, clock)
    local = naive.replace(tzinfo=tz, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        # in a gap: the same wall time read with fold=1 lands after it; the gap's end is the
        # earliest real instant at or after the wanted wall time
        later = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        instant = min(instant, later)
        while instant.astimezone(tz).replace(tzinfo=None) < naive:
            instant += timedelta(minutes=1)
    return instant


def contacts_in_window(times: Sequence[datetime], end: datetime, days: int) -> int:
    """How many of ``times`` fall in the rolling window ``(end - days, end]``."""
    start = end - timedelta(days=days)
    return sum(1 for t in times if start < t <= end)
