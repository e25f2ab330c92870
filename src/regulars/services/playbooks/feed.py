"""The playbooks' feed (issue 20): what happened in the store since the last pass, as
:class:`~regulars.services.playbooks.ports.Entry` rows for the runner.

Each trigger kind reads its own source, and each source keeps a cursor in
``playbook_cursors`` (a pass resumes where the last one stopped):

- **event** triggers read ``playbook_events`` by ``seq`` (the order the store received
  them), and orders, feedback and abandoned carts by their own time (``ordered_at``, ``at``):
  orders sent over HTTP carry no import order of their own (``import_id`` is empty), and a
  time cursor is what lets ``--at`` walk a simulated year through orders imported all at once.
  An event or order is taken once its time has come (``at <= now``): one dated in the future
  waits for the pass that reaches it.
- **change** triggers compare the map's snapshot (rung, status, signals; the loyalty tier)
  with ``playbook_facts``, what the feed saw last, and then record what they see now. A newly
  raised signal is a change *to* that signal.
- **date** triggers look at each day in (cursor, today], in the business's time zone, at most
  :data:`~regulars.domain.playbooks.dates.MAX_DAYS`; **cadence** triggers at each calendar
  period whose day ``offset_days`` falls in those days.

**The first pass** records where things stand and raises nothing from history: the changes'
baseline is every customer's current rung, status, signals and tier (switching playbooks on
must not fire "became a regular" for every regular at once); dates and cadences count from
today; events, orders and feedback from :attr:`Feed.first_pass_days` before now.

A dry run reads the same and returns the same entries but writes nothing: no cursor moves
and ``playbook_facts`` stays as it was. Otherwise the cursors and the facts seen are written in
one transaction at the end of the pass (``advance=False`` keeps them for :meth:`Feed.commit`,
for a caller that wants them written only after it entered the journeys; an entry read twice
enters once, its ``entry_key`` being unique per playbook and customer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from regulars.domain.playbooks import dates as days
from regulars.domain.playbooks.model import (
    ATTRIBUTE,
    BIRTHDAY,
    CADENCE,
    CHANGE,
    DATE,
    EVENT,
    FIRST_ORDER_ANNIVERSARY,
    HOLIDAY,
    Playbook,
)
from regulars.services.playbooks.ports import Entry, FactsSource

# cursor names (playbook_cursors.name)
EVENTS = "events"              # playbook_events.seq
ORDERS = "orders"              # orders.ordered_at
FEEDBACK = "feedback"          # feedback.at and abandoned carts' interactions.at
CHANGES = "changes"            # the moment of the last comparison (its presence: a baseline)
DATES = "dates"                # the last day looked at, business zone
CADENCES = "cadences"          # likewise, for cadences


@dataclass(frozen=True)
class Occurrence:
    """Something that happened to a customer: ``name`` an event name, ``key`` the entry key."""

    key: str
    customer_id: str
    name: str
    at: datetime


@dataclass(frozen=True)
class Standing:
    """What a change trigger watches of one customer (the map's row and the tier)."""

    customer_id: str
    rung: str | None
    status: str | None
    signals: tuple[str, ...]
    tier: str | None
    as_of: date | None = None
    # the signals as the store wrote them, kept as they are to compare in SQL next time
    signals_text: str | None = field(default=None, compare=False)

    def same(self, other: Standing | None) -> bool:
        return other is not None and (self.rung, self.status, set(self.signals), self.tier) == (
            other.rung, other.status, set(other.signals), other.tier)


@dataclass(frozen=True)
class DateRow:
    """A customer's dates: birthday, first order, attributes as stored (``k=v;…``, parsed
    only when a trigger reads one) and country."""

    customer_id: str
    birthday: date | None
    first_order: date | None
    attributes: str | None
    country: str | None


@dataclass(frozen=True)
class DateColumns:
    """Every customer's dates as columns: ``MMDD`` numbers (0: none), the first order's year
    (0: none), the attributes as stored and the country — what a store computes in one scan,
    so that no Python object is made per customer."""

    ids: Sequence[str]
    birthday: Sequence[int]
    first_order: Sequence[int]
    first_year: Sequence[int]
    attributes: Sequence[str | None]
    country: Sequence[str | None]

    @classmethod
    def of_rows(cls, rows: Sequence[DateRow]) -> DateColumns:
        def md(d: date | None) -> int:
            return 0 if d is None else days.month_day(d.month, d.day)

        return cls([r.customer_id for r in rows], [md(r.birthday) for r in rows],
                   [md(r.first_order) for r in rows],
                   [r.first_order.year if r.first_order else 0 for r in rows],
                   [r.attributes for r in rows], [r.country for r in rows])


def parse_attributes(text: str | None) -> tuple[dict[str, str], list[str]]:
    """``k=v;tag`` → ({k: v}, [tag]); keys lower case, values and tags as written (trimmed)."""
    values: dict[str, str] = {}
    tags: list[str] = []
    for raw in (text or "").split(";"):
        part = raw.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if eq and key.strip():
            values[key.strip().lower()] = value.strip()
        else:
            tags.append(part)
    return values, tags


# countries as people write them in a CRM's field, for the few a business here meets most
COUNTRY_NAMES = {"estonia": "EE", "eesti": "EE", "эстония": "EE", "russia": "RU",
                 "россия": "RU", "venemaa": "RU", "latvia": "LV", "läti": "LV",
                 "латвия": "LV", "lithuania": "LT", "leedu": "LT", "литва": "LT",
                 "finland": "FI", "soome": "FI", "финляндия": "FI"}


def country_code(text: str | None) -> str | None:
    """A country as an ISO alpha-2 code: ``ee`` → ``EE``, ``Eesti`` → ``EE``."""
    if not text or not text.strip():
        return None
    value = text.strip()
    return COUNTRY_NAMES.get(value.lower(), value.upper())


def country_of(attributes: str | None, default: str | None) -> str | None:
    """The ``country=`` attribute (an ISO alpha-2 code, or a name :data:`COUNTRY_NAMES`
    knows), else ``default``."""
    if attributes and "country" in attributes.lower():
        found = country_code(parse_attributes(attributes)[0].get("country"))
        if found:
            return found
    return country_code(default)


class FeedSource(Protocol):
    """What the feed reads and writes of the store (SQL: adapters/db/playbook_feed.py)."""

    def cursors(self) -> dict[str, str]: ...

    def events_after(self, seq: int) -> list[tuple[int, Occurrence]]:
        """(seq, occurrence) of the playbook_events after ``seq``, by seq."""
        ...

    def orders_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        """``order_placed`` of each order in (after, upto], and ``first_order`` too for a
        customer's first."""
        ...

    def feedback_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        """``nps_answered`` (a score), ``review_posted`` (a text) and ``cart_abandoned`` (an
        abandoned cart interaction) in (after, upto]."""
        ...

    def changed(self) -> Iterator[list[tuple[Standing | None, Standing]]]:
        """(what the feed recorded last, or None; the standing now) of each customer whose
        standing (map row and tier) differs from what playbook_facts recorded, in pages: the
        comparison is the store's, so a quiet night reads only what moved."""
        ...

    def date_columns(self, *, birthdays: bool = True,
                     first_orders: bool = True) -> DateColumns:
        """Every customer's dates, as columns; ``birthdays``/``first_orders`` False: that
        column may be left zeros (no trigger reads it)."""
        ...

    def customer_pages(self) -> Iterator[list[str]]: ...

    def save(self, cursors: Mapping[str, str], seen: Sequence[Standing],
             at: datetime) -> None:
        """Write the cursors and the standings seen, in one transaction."""
        ...


class HolidayCalendar(Protocol):
    def days(self, country: str, year: int) -> Mapping[date, Sequence[str]]:
        """The public holidays of ``country`` (ISO alpha-2) in ``year``: day → English names
        (empty for a country the calendar does not know)."""
        ...


@dataclass
class _Pass:
    entries: list[Entry] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    seen: list[Standing] = field(default_factory=list)


def _utc_naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


class Feed:
    """Entries for playbooks' triggers (see the module docstring). ``now`` and every moment
    are naive UTC, as the store keeps them; ``zone`` is the business's time zone, in which
    days and calendar periods are counted. ``steady_dates``: read the customers' dates
    (birthdays, first orders, attributes) once and keep them, for a simulation stepping
    through time over customers that do not change (a live feed reads them every pass)."""

    first_pass_days = 1

    def __init__(self, source: FeedSource, facts: FactsSource | None = None, *,
                 clock: Callable[[], datetime] | None = None, zone: str = "UTC",
                 holidays: HolidayCalendar | None = None,
                 steady_dates: bool = False) -> None:
        self.source = source
        self.facts = facts
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self.zone = ZoneInfo(zone)
        self.holidays = holidays
        self._staged: _Pass | None = None
        # a simulation (``--at`` steps in one process) over a store whose customers do not
        # change: their dates are read once, not at every step
        self.steady_dates = steady_dates
        self._dates_table: DateTable | None = None
        self._dates_cols: DateColumns | None = None  # what _dates_table was built from
        self._dates_needs: tuple[bool, bool] | None = None  # its birthdays, first orders
        self.closers: list[Callable[[], object]] = []  # run by close(): a store of its own

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()

    # -- the pass ----------------------------------------------------------------------------

    def entries(self, now: datetime | None = None,
                playbooks: Mapping[str, Playbook] | Sequence[Playbook] = (), *,
                dry_run: bool = False, advance: bool = True) -> list[Entry]:
        now = _utc_naive(now or self.clock())
        listed = playbooks.values() if isinstance(playbooks, Mapping) else playbooks
        books = [p for p in listed if p.enabled]
        cursors = self.source.cursors()
        run = _Pass()
        self._events(run, books, cursors, now)
        self._changes(run, books, cursors, now)
        self._dates(run, books, cursors, now)
        run.entries.sort(key=lambda e: (e.at, e.playbook, e.customer_id, e.entry_key))
        if not dry_run:
            self._staged = run
            if advance:
                self.commit(now)
        return run.entries

    def commit(self, now: datetime | None = None) -> None:
        """Write the cursors and facts of the last pass (``entries(..., advance=False)``)."""
        if self._staged is None:
            return
        run, self._staged = self._staged, None
        self.source.save(run.cursors, run.seen, _utc_naive(now or self.clock()))

    def local_day(self, moment: datetime) -> date:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).date()

    def _midnight(self, day: date) -> datetime:
        return _utc_naive(datetime.combine(day, time(0), tzinfo=self.zone))

    # -- events ------------------------------------------------------------------------------

    def _events(self, run: _Pass, books: Sequence[Playbook], cursors: Mapping[str, str],
                now: datetime) -> None:
        wanted: dict[str, list[Playbook]] = {}
        for p in books:
            if p.trigger.kind == EVENT and p.trigger.event:
                wanted.setdefault(p.trigger.event, []).append(p)
        first = now - timedelta(days=self.first_pass_days)
        found: list[Occurrence] = []

        # playbook_events by seq. One dated in the future is held back: the cursor stops just
        # before it, so a later pass takes it (and reads again the few after it, which enter
        # once); on a first pass those before ``first`` are passed over as history
        seq = int(cursors[EVENTS]) if EVENTS in cursors else 0
        held: int | None = None
        last = seq
        for s, occ in self.source.events_after(seq):
            if occ.at > now:
                held = s if held is None else held
                continue
            if held is None:
                last = s
            if EVENTS in cursors or occ.at >= first:
                found.append(occ)
        run.cursors[EVENTS] = str(last)

        for name, read in ((ORDERS, self.source.orders_between),
                           (FEEDBACK, self.source.feedback_between)):
            after = datetime.fromisoformat(cursors[name]) if name in cursors else first
            if after < now:
                found += read(after, now)
            run.cursors[name] = max(after, now).isoformat()

        for occ in found:
            for p in wanted.get(occ.name, ()):
                run.entries.append(Entry(p.name, occ.customer_id, occ.key, occ.at))

    # -- changes -----------------------------------------------------------------------------

    def _changes(self, run: _Pass, books: Sequence[Playbook], cursors: Mapping[str, str],
                 now: datetime) -> None:
        watching = [p for p in books if p.trigger.kind == CHANGE]
        baseline = CHANGES not in cursors
        for page in self.source.changed():
            for old, new in page:
                if new.same(old):
                    continue
                run.seen.append(new)
                if baseline:
                    continue
                for p in watching:
                    key = _changed(p, old, new)
                    if key is not None:
                        run.entries.append(Entry(p.name, new.customer_id, key, now))
        run.cursors[CHANGES] = now.isoformat()

    # -- dates and cadences ------------------------------------------------------------------

    def _dates(self, run: _Pass, books: Sequence[Playbook], cursors: Mapping[str, str],
               now: datetime) -> None:
        today = self.local_day(now)
        dated = [p for p in books if p.trigger.kind == DATE]
        cadenced = [p for p in books if p.trigger.kind == CADENCE and p.trigger.every]
        if dated:
            after = date.fromisoformat(cursors[DATES]) if DATES in cursors else None
            walked = days.days_after(after, today)
            if walked:
                bases = {p.trigger.base for p in dated}
                table = self._date_table(birthdays=BIRTHDAY in bases,
                                         first_orders=FIRST_ORDER_ANNIVERSARY in bases)
                for p in dated:
                    for day in walked:
                        for cid, key in self._date_matches(table, p, day):
                            run.entries.append(Entry(p.name, cid, key, self._midnight(day)))
        if DATES not in cursors or date.fromisoformat(cursors[DATES]) < today:
            run.cursors[DATES] = today.isoformat()
        if cadenced:
            after = date.fromisoformat(cursors[CADENCES]) if CADENCES in cursors else None
            due = [(p, label, day) for p in cadenced
                   for label, day in days.cadence_days(str(p.trigger.every),
                                                       p.trigger.offset_days, after, today)]
            if due:
                ids = [cid for page in self.source.customer_pages() for cid in page]
                for p, label, day in due:
                    key = f"cadence:{p.trigger.every}:{label}"
                    at = self._midnight(day)
                    run.entries += [Entry(p.name, cid, key, at) for cid in ids]
        if CADENCES not in cursors or date.fromisoformat(cursors[CADENCES]) < today:
            run.cursors[CADENCES] = today.isoformat()

    def _date_table(self, *, birthdays: bool = True, first_orders: bool = True) -> DateTable:
        """The customers' dates, read afresh at every pass (``steady_dates``: once); the
        table built from them — the attributes' days parsed, the countries — is the last
        pass's again when what was read is the same, so a night on which no card changed
        parses nothing."""
        held = self._dates_needs
        if self.steady_dates and self._dates_table is not None and held is not None and \
                held[0] >= birthdays and held[1] >= first_orders:
            return self._dates_table
        cols = self.source.date_columns(birthdays=birthdays, first_orders=first_orders)
        if self._dates_table is None or cols != self._dates_cols:
            self._dates_table = DateTable.build(cols)
            self._dates_cols = cols
        self._dates_needs = (birthdays, first_orders)
        return self._dates_table

    def _date_matches(self, table: DateTable, p: Playbook,
                      day: date) -> list[tuple[str, str]]:
        t = p.trigger
        base = days.base_day(day, t.offset_days)
        codes = days.codes_on(base)
        if t.base == BIRTHDAY:
            hit = np.isin(table.birthday, codes)
            return [(c, f"date:birthday:{base.isoformat()}") for c in table.ids[hit]]
        if t.base == FIRST_ORDER_ANNIVERSARY:
            hit = np.isin(table.first_order, codes) & (table.first_year < base.year)
            return [(c, f"date:first_order_anniversary:{base.isoformat()}")
                    for c in table.ids[hit]]
        if t.base == ATTRIBUTE and t.attribute:
            md, year = table.attribute(t.attribute)
            hit = np.isin(md, codes) & (year < base.year)
            return [(c, f"date:attribute:{t.attribute}:{base.isoformat()}")
                    for c in table.ids[hit]]
        if t.base == HOLIDAY and t.holiday:
            key = f"date:holiday:{t.holiday}:{base.isoformat()}"
            out: list[tuple[str, str]] = []
            for country in table.countries():
                calendar = self.holidays.days(country, base.year) if self.holidays else {}
                if days.holiday_on(t.holiday, base.year, calendar) == base:
                    out += [(c, key) for c in table.ids[table.country == country]]
            return out
        return []


def _changed(p: Playbook, old: Standing | None, new: Standing) -> str | None:
    """The entry key when ``new`` is a change ``p`` watches from ``old`` (None: it is not)."""
    t = p.trigger
    day = (new.as_of.isoformat() if new.as_of else "")
    if t.field == "signal":
        before = set(old.signals) if old else set()
        if t.to in new.signals and t.to not in before:
            return f"change:signal:{t.to}:{day}"
        return None
    if t.field not in ("rung", "status", "tier"):
        return None
    value = getattr(new, t.field)
    previous = getattr(old, t.field) if old else None
    if value == previous or value != t.to:
        return None
    if t.from_ is not None and previous != t.from_:
        return None
    return f"change:{t.field}:{t.to}:{day}"


_NO_YEAR = np.iinfo(np.int32).min  # a date written without a year has passed every year


@dataclass
class DateTable:
    """Every customer's yearly dates as columns (``MMDD`` numbers, 0 for none), so that a
    day's matches are one vectorised comparison over all customers, not a loop."""

    ids: np.ndarray
    birthday: np.ndarray
    first_order: np.ndarray
    first_year: np.ndarray
    country: np.ndarray
    attributes: list[str | None]
    _attrs: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _attrs_meta: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, cols: DateColumns) -> DateTable:
        first_year = np.asarray(cols.first_year, np.int32)
        first_year[first_year == 0] = np.iinfo(np.int32).max  # no first order: never passed
        return cls(np.asarray(cols.ids, dtype=object), np.asarray(cols.birthday, np.int32),
                   np.asarray(cols.first_order, np.int32), first_year,
                   np.asarray([c or "" for c in cols.country], dtype=object),
                   list(cols.attributes))

    def countries(self) -> list[str]:
        if "countries" not in self._attrs_meta:
            self._attrs_meta["countries"] = sorted(c for c in set(self.country.tolist()) if c)
        return self._attrs_meta["countries"]

    def attribute(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(``MMDD``, year) of the attribute ``name`` of every customer (0 where it is not a
        day; year :data:`_NO_YEAR` where it was written without one)."""
        if name not in self._attrs:
            md = np.zeros(len(self.attributes), np.int32)
            year = np.full(len(self.attributes), np.iinfo(np.int32).max, np.int32)
            key = name.lower()
            for i, raw in enumerate(self.attributes):
                if not raw or key not in raw.lower():
                    continue
                text = parse_attributes(raw)[0].get(key)
                parsed = days.parse_day(text) if text else None
                if parsed is not None:
                    y, m, d = parsed
                    md[i] = days.month_day(m, d)
                    year[i] = _NO_YEAR if y is None else y
            self._attrs[name] = (md, year)
        return self._attrs[name]
