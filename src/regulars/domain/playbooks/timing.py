"""When a playbook's wait ends (DOMAIN §9): in the customer's own wall-clock time.

``days`` are calendar days on the customer's clock (a wait of one day from 10:00 ends at 10:00
the next day, whether that day has 23, 24 or 25 hours); ``hours`` are hours that pass; then
``until`` moves on to the next moment the customer's clock shows that time of day.

Daylight saving time: a wall time that does not exist that day (the hour the clocks skip)
becomes the first moment that exists after it — the switch itself; a wall time that happens
twice (the hour the clocks repeat) is taken once, the first time. So a daily step neither
skips a day nor runs twice in one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from regulars.domain.playbooks.model import Wait


def _zone(zone: str | tzinfo) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _exists(wall: datetime, zone: tzinfo) -> bool:
    back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == wall


def resolve(wall: datetime, zone: str | tzinfo) -> datetime:
    """The moment (aware, UTC) the naive local ``wall`` time names in ``zone``: the first of
    two when it repeats, the first existing moment after it when it does not exist."""
    z = _zone(zone)
    wall = wall.replace(tzinfo=None)
    if _exists(wall, z):
        return wall.replace(tzinfo=z, fold=0).astimezone(UTC)
    # a gap: fold=1 reads the wall time with the offset after the switch, fold=0 with the
    # one before; the switch lies between the two readings, and it is the first moment
    # whose wall time is past ``wall``
    lo = wall.replace(tzinfo=z, fold=1).astimezone(UTC)
    hi = wall.replace(tzinfo=z, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(z).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi if hi.astimezone(z).replace(tzinfo=None) >= wall else lo


def at_wall_time(day: date, at: time, zone: str | tzinfo) -> datetime:
    """The moment (UTC) of ``at`` o'clock on ``day`` in ``zone`` (see :func:`resolve`)."""
    return resolve(datetime.combine(day, at.replace(tzinfo=None)), zone)


def next_wall_time(start: datetime, at: time, zone: str | tzinfo) -> datetime:
    """The first moment at or after ``start`` when the clock in ``zone`` shows ``at``."""
    z = _zone(zone)
    day = start.astimezone(z).date()
    moment = at_wall_time(day, at, z)
    while moment < start:
        day += timedelta(days=1)
        moment = at_wall_time(day, at, z)
    return moment


def after_wait(start: datetime, wait: Wait, zone: str | tzinfo) -> datetime:
    """When ``wait``, begun at ``start`` (aware), ends for a customer in ``zone`` (aware, UTC)."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    z = _zone(zone)
    end = start.astimezone(UTC)
    if wait.days:
        local = start.astimezone(z)
        end = max(resolve(local.replace(tzinfo=None) + timedelta(days=wait.days), z), end)
    if wait.hours:
        end += timedelta(hours=wait.hours)
    if wait.until is not None:
        end = next_wall_time(end, wait.until, z)
    return end
