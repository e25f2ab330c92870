"""An in-memory :class:`~regulars.services.playbooks.feed.FeedSource`, for fast tests of the
playbooks' feed and of what runs on it (no database): lists a test fills, and the cursors and
standings a pass saves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from regulars.services.playbooks.feed import DateColumns, DateRow, Occurrence, Standing


@dataclass
class MemoryFeedSource:
    """``events`` (seq, occurrence) in seq order; ``orders`` and ``feedback`` occurrences
    (orders' ``first_order`` ones included); ``standings`` the map now; ``dates`` the
    customers' dates; ``saved`` counts the passes that wrote."""

    events: list[tuple[int, Occurrence]] = field(default_factory=list)
    orders: list[Occurrence] = field(default_factory=list)
    feedback: list[Occurrence] = field(default_factory=list)
    standing: dict[str, Standing] = field(default_factory=dict)
    dates: list[DateRow] = field(default_factory=list)
    positions: dict[str, str] = field(default_factory=dict)
    seen_standings: dict[str, Standing] = field(default_factory=dict)
    saved: int = 0
    date_reads: int = 0

    def cursors(self) -> dict[str, str]:
        return dict(self.positions)

    def events_after(self, seq: int) -> list[tuple[int, Occurrence]]:
        return [(s, o) for s, o in self.events if s > seq]

    def orders_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        return [o for o in self.orders if after < o.at <= upto]

    def feedback_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        return [o for o in self.feedback if after < o.at <= upto]

    def changed(self) -> Iterator[list[tuple[Standing | None, Standing]]]:
        rows = [(self.seen_standings.get(k), self.standing[k]) for k in sorted(self.standing)
                if not self.standing[k].same(self.seen_standings.get(k))]
        for i in range(0, len(rows), 2):  # small pages, so that paging is exercised
            yield rows[i:i + 2]

    def date_columns(self, *, birthdays: bool = True,
                     first_orders: bool = True) -> DateColumns:
        self.date_reads += 1
        return DateColumns.of_rows(self.dates)

    def customer_pages(self) -> Iterator[list[str]]:
        ids = sorted({*self.standing, *(d.customer_id for d in self.dates)})
        if ids:
            yield ids

    def save(self, cursors: Mapping[str, str], seen: Sequence[Standing],
             at: datetime) -> None:
        self.positions.update(cursors)
        for s in seen:
            self.seen_standings[s.customer_id] = s
        self.saved += 1

    def set(self, customer_id: str, *, rung: str | None = None, status: str | None = None,
            signals: tuple[str, ...] = (), tier: str | None = None,
            as_of: date = date(2027, 3, 1)) -> None:
        self.standing[customer_id] = Standing(customer_id, rung, status, signals, tier, as_of)
