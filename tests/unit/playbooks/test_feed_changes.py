"""The feed's change triggers and cursors on small in-memory tables: a baseline first, then
each move to a watched value enters once."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.adapters.memory_feed import MemoryFeedSource
from regulars.domain.playbooks.model import Exit, Playbook, Trigger
from regulars.services.playbooks.feed import Feed, Occurrence

NOW = datetime(2027, 3, 1, 12)


def _book(name: str, **trigger: object) -> Playbook:
    return Playbook(name=name, title=name, set="test", trigger=Trigger(**trigger),  # type: ignore[arg-type]
                    steps=(Exit("end"),))


REGULAR = _book("regular", kind="change", field="rung", to="regular")
LAPSED_FROM_ACTIVE = _book("lapse", kind="change", field="status", to="lapsing",
                           from_="active")
OVERDUE = _book("overdue", kind="change", field="signal", to="overdue")
GOLD = _book("gold", kind="change", field="tier", to="gold")
BOOKS = [REGULAR, LAPSED_FROM_ACTIVE, OVERDUE, GOLD]


def _keys(entries: list) -> list[tuple[str, str, str]]:
    return sorted((e.playbook, e.customer_id, e.entry_key) for e in entries)


def test_a_first_pass_records_everyone_and_raises_nothing() -> None:
    src = MemoryFeedSource()
    src.set("A", rung="regular", status="active", signals=("overdue",), tier="gold")
    src.set("B", rung="new")
    assert Feed(src).entries(NOW, BOOKS) == []
    assert set(src.seen_standings) == {"A", "B"}
    assert "changes" in src.positions


def test_each_watched_move_enters_with_the_map_day_in_its_key() -> None:
    src = MemoryFeedSource()
    src.set("A", rung="repeat", status="active")
    src.set("B", rung="new", status="new")
    src.set("C", rung="regular", status="active", signals=("shrinking",))
    feed = Feed(src)
    feed.entries(NOW, BOOKS)
    day = date(2027, 3, 8)
    src.set("A", rung="regular", status="lapsing", as_of=day)      # two moves
    src.set("B", rung="new", status="lapsing", as_of=day)          # not from active
    src.set("C", rung="regular", status="active", signals=("shrinking", "overdue"),
            tier="gold", as_of=day)                                # a new signal, a tier
    src.set("D", rung="regular", as_of=day)                        # new to the map
    got = feed.entries(datetime(2027, 3, 8, 12), BOOKS)
    assert _keys(got) == [
        ("gold", "C", "change:tier:gold:2027-03-08"),
        ("lapse", "A", "change:status:lapsing:2027-03-08"),
        ("overdue", "C", "change:signal:overdue:2027-03-08"),
        ("regular", "A", "change:rung:regular:2027-03-08"),
        ("regular", "D", "change:rung:regular:2027-03-08"),
    ]
    assert all(e.at == datetime(2027, 3, 8, 12) for e in got)
    assert feed.entries(datetime(2027, 3, 9), BOOKS) == []


def test_a_signal_that_drops_and_returns_is_raised_again() -> None:
    src = MemoryFeedSource()
    src.set("A", signals=("overdue",))
    feed = Feed(src)
    feed.entries(NOW, [OVERDUE])
    src.set("A", signals=(), as_of=date(2027, 3, 2))
    assert feed.entries(datetime(2027, 3, 2), [OVERDUE]) == []
    src.set("A", signals=("overdue",), as_of=date(2027, 3, 3))
    assert _keys(feed.entries(datetime(2027, 3, 3), [OVERDUE])) == [
        ("overdue", "A", "change:signal:overdue:2027-03-03")]


def test_a_dry_run_sees_the_same_and_writes_nothing() -> None:
    src = MemoryFeedSource()
    src.set("A", rung="new")
    feed = Feed(src)
    feed.entries(NOW, BOOKS)
    src.set("A", rung="regular")
    saved, positions = src.saved, dict(src.positions)
    dry = feed.entries(datetime(2027, 3, 2), BOOKS, dry_run=True)
    assert (src.saved, src.positions) == (saved, positions)
    assert _keys(feed.entries(datetime(2027, 3, 2), BOOKS)) == _keys(dry) != []


def test_entries_kept_back_are_written_by_commit_only() -> None:
    src = MemoryFeedSource()
    feed = Feed(src)
    src.events = [(1, Occurrence("event:e1", "A", "signed_up", datetime(2027, 3, 1, 11)))]
    feed.entries(datetime(2027, 3, 1, 10), [])  # the first pass: a baseline
    book = _book("welcome", kind="event", event="signed_up")
    got = feed.entries(NOW, [book], advance=False)
    assert [e.entry_key for e in got] == ["event:e1"]
    assert feed.entries(NOW, [book], advance=False) == got  # not moved yet
    feed.commit(NOW)
    assert feed.entries(NOW, [book]) == []


def test_an_event_dated_later_waits_for_its_time_and_does_not_hold_others() -> None:
    src = MemoryFeedSource()
    feed = Feed(src)
    feed.entries(datetime(2027, 3, 1), [])
    book = _book("welcome", kind="event", event="signed_up")
    src.events = [(1, Occurrence("event:late", "A", "signed_up", datetime(2027, 3, 5))),
                  (2, Occurrence("event:now", "B", "signed_up", datetime(2027, 3, 1, 6)))]
    assert [e.entry_key for e in feed.entries(NOW, [book])] == ["event:now"]
    assert src.positions["events"] == "0"  # stops before the one that waits
    later = feed.entries(datetime(2027, 3, 6), [book])
    # "now" is read again (its key makes the runner enter it once), in time order
    assert [e.entry_key for e in later] == ["event:now", "event:late"]
    assert src.positions["events"] == "2"


def test_a_disabled_playbook_gets_no_entries() -> None:
    src = MemoryFeedSource()
    feed = Feed(src)
    feed.entries(datetime(2027, 3, 1), [])
    src.orders = [Occurrence("order:O1", "A", "order_placed", datetime(2027, 3, 1, 6))]
    off = Playbook(name="off", title="off", set="t", trigger=Trigger("event",
                   event="order_placed"), steps=(Exit("end"),), enabled=False)
    assert feed.entries(NOW, [off]) == []


_RUNGS = st.sampled_from([None, "new", "repeat", "regular"])


@settings(max_examples=60)
@given(st.lists(st.lists(_RUNGS, min_size=3, max_size=3), min_size=1, max_size=8))
def test_every_move_to_a_rung_enters_once_however_the_passes_fall(
        snapshots: list[list[str | None]]) -> None:
    # three customers' rungs over successive map builds, one pass per build: each move into
    # "regular" is one entry, and nothing else is
    src = MemoryFeedSource()
    feed = Feed(src)
    got: list[tuple[str, str]] = []
    expected: list[tuple[str, str]] = []
    previous: list[str | None] | None = None
    for i, rungs in enumerate(snapshots):
        day = date(2027, 3, 1 + i)
        for c, rung in zip("ABC", rungs, strict=True):
            src.set(c, rung=rung, as_of=day)
        got += [(e.customer_id, e.entry_key) for e in feed.entries(
            datetime(2027, 3, 1 + i, 12), [REGULAR])]
        if previous is not None:
            expected += [(c, f"change:rung:regular:{day.isoformat()}")
                         for c, before, now in zip("ABC", previous, rungs, strict=True)
                         if now == "regular" and before != "regular"]
        previous = rungs
    assert sorted(got) == sorted(expected)


@settings(max_examples=40)
@given(st.dates(date(1950, 1, 1), date(2005, 12, 31)), st.integers(-30, 30),
       st.lists(st.integers(1, 90), min_size=1, max_size=20))
def test_a_birthday_fires_once_a_year_however_the_passes_fall(
        born: date, offset: int, steps: list[int]) -> None:
    # passes at random intervals over up to ~5 years: the birthday (29 February kept on the
    # 28th) fires once in each year whose day (plus the offset) the passes walked, never twice
    from datetime import timedelta

    from regulars.domain.playbooks.dates import on_year
    from regulars.services.playbooks.feed import DateRow

    src = MemoryFeedSource(dates=[DateRow("A", born, None, None, "EE")])
    feed = Feed(src)
    book = _book("bday", kind="date", base="birthday", offset_days=offset)
    start = date(2027, 1, 1)
    feed.entries(datetime(2027, 1, 1, 12), [book])  # the first pass: 1 January only
    got: list[str] = []
    day = start
    for step in steps:
        day += timedelta(days=step)
        got += [e.entry_key for e in feed.entries(datetime.combine(day, datetime.min.time())
                                                  + timedelta(hours=12), [book])]
    expected = []
    for year in range(2026, day.year + 2):
        base = on_year(year, born.month, born.day)
        if start < base + timedelta(days=offset) <= day:
            expected.append(f"date:birthday:{base.isoformat()}")
    assert sorted(got) == sorted(expected)


def test_steady_dates_are_read_once_for_a_simulation_and_every_pass_otherwise() -> None:
    from regulars.services.playbooks.feed import DateRow

    book = _book("bday", kind="date", base="birthday")
    for steady, reads in ((True, 1), (False, 3)):
        src = MemoryFeedSource(dates=[DateRow("A", date(1990, 3, 3), None, None, None)])
        feed = Feed(src, steady_dates=steady)
        got = [e.entry_key for day in (1, 2, 3)
               for e in feed.entries(datetime(2027, 3, day, 12), [book])]
        assert got == ["date:birthday:2027-03-03"]
        assert src.date_reads == reads
