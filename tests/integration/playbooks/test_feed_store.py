"""The playbooks' feed and customers' facts on a real store, SQLite and PostgreSQL: facts in
bulk, each trigger kind from its table, cursors that resume, and a dry run that writes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.playbook_facts import SqlPlaybookFacts
from regulars.adapters.db.playbook_feed import SqlFeedSource
from regulars.adapters.db.tables import INPUT_TABLES, playbook_cursors, playbook_facts
from regulars.adapters.holiday_calendar import LibraryHolidays
from regulars.domain.playbooks.model import Exit, Playbook, Trigger
from regulars.domain.tables import Kind
from regulars.services.playbooks.feed import Feed

from ...support.playbook_rows import customer, event, feedback, map_row, member, order, tag


@pytest.fixture
def store(store_url: str) -> Iterator[SqlApiStore]:
    s = SqlApiStore(store_url)
    yield s
    s.close()


def _facts(store: SqlApiStore) -> SqlPlaybookFacts:
    return SqlPlaybookFacts(store, language="et", country="EE", time_zone="Europe/Tallinn")


def _feed(store: SqlApiStore) -> Feed:
    facts = _facts(store)
    return Feed(SqlFeedSource(facts), facts, zone="Europe/Tallinn", holidays=LibraryHolidays())


def _book(name: str, **trigger: object) -> Playbook:
    return Playbook(name=name, title=name, set="test", trigger=Trigger(**trigger),  # type: ignore[arg-type]
                    steps=(Exit("end"),))


def _keys(entries: list) -> list[tuple[str, str, str]]:
    return sorted((e.playbook, e.customer_id, e.entry_key) for e in entries)


def test_facts_of_reads_card_map_loyalty_and_tags_in_bulk(store: SqlApiStore) -> None:
    with store.writer.begin() as conn:
        customer(conn, "A", name="Anna", email="a@example.com", manager="Mari",
                 birthday=date(1990, 2, 28), consent_email=True, consent_sms=False,
                 do_not_contact=False,
                 attributes="disc=D;vip;lang=RU;country=ru;tz=Europe/Moscow;founded=2011-05-17")
        customer(conn, "B", name="Bert", attributes=None)
        map_row(conn, "A", rung="regular", status="active", signals=("overdue",),
                traits=["steady"], rfm_segment="champions", money_at_stake=120.5,
                revenue=900.0, orders=7, days_since_last_order=40.0, p_alive=0.8, clv=300.0,
                first_order_at=datetime(2024, 1, 5), last_order_at=datetime(2027, 1, 20))
        member(conn, "A", "gold", balance=250)
        tag(conn, "A", "greeted")
        for i in range(1200):  # more than two chunks of ids
            customer(conn, f"X{i:04d}")
    facts = _facts(store).facts_of(["A", "B", "nobody", *[f"X{i:04d}" for i in range(1200)]])
    assert len(facts) == 1202 and "nobody" not in facts
    a = facts["A"]
    assert {k: a[k] for k in ("name", "email", "manager", "rung", "status", "signals",
                              "traits", "rfm_segment", "money_at_stake", "revenue", "orders",
                              "days_since_last_order", "p_alive", "clv", "tier", "points",
                              "tags", "language", "country", "time_zone", "consent_email",
                              "consent_sms", "consent_phone", "do_not_contact", "birthday",
                              "attribute.disc", "attribute.founded", "first_order_at",
                              "last_order_at")} == {
        "name": "Anna", "email": "a@example.com", "manager": "Mari", "rung": "regular",
        "status": "active", "signals": ["overdue"], "traits": ["steady"],
        "rfm_segment": "champions", "money_at_stake": 120.5, "revenue": 900.0, "orders": 7,
        "days_since_last_order": 40.0, "p_alive": 0.8, "clv": 300.0, "tier": "gold",
        "points": 250, "tags": ["vip", "greeted"], "language": "ru", "country": "RU",
        "time_zone": "Europe/Moscow", "consent_email": True, "consent_sms": False,
        "consent_phone": None, "do_not_contact": False, "birthday": date(1990, 2, 28),
        "attribute.disc": "D", "attribute.founded": "2011-05-17",
        "first_order_at": datetime(2024, 1, 5), "last_order_at": datetime(2027, 1, 20)}
    b = facts["B"]
    # no map row, no membership, no attributes: the business's defaults and empty lists
    assert (b["rung"], b["signals"], b["tags"], b["tier"], b["points"], b["orders"]) == (
        None, [], [], None, None, 0)
    assert (b["language"], b["country"], b["time_zone"]) == ("et", "EE", "Europe/Tallinn")


def test_the_first_pass_records_the_baseline_and_a_change_then_enters_once(
        store: SqlApiStore) -> None:
    with store.writer.begin() as conn:
        for cid in ("A", "B", "C"):
            customer(conn, cid)
        map_row(conn, "A", rung="regular")
        map_row(conn, "B", rung="new")
        map_row(conn, "C", rung="new", signals=("overdue",))
    feed = _feed(store)
    books = [_book("became_regular", kind="change", field="rung", to="regular"),
             _book("overdue", kind="change", field="signal", to="overdue"),
             _book("new_to_repeat", kind="change", field="rung", to="repeat", from_="new"),
             _book("gold", kind="change", field="tier", to="gold")]
    now = datetime(2027, 3, 1, 12)
    assert feed.entries(now, books) == []  # A is a regular already: no greeting for history
    with store.writer.begin() as conn:
        map_row(conn, "B", rung="regular", as_of=datetime(2027, 3, 2))
        map_row(conn, "A", rung="regular", signals=("overdue",), as_of=datetime(2027, 3, 2))
        map_row(conn, "C", rung="repeat", signals=("overdue",), as_of=datetime(2027, 3, 2))
        member(conn, "C", "gold")
    later = datetime(2027, 3, 2, 12)
    dry = feed.entries(later, books, dry_run=True)
    assert _keys(dry) == [
        ("became_regular", "B", "change:rung:regular:2027-03-02"),
        ("gold", "C", "change:tier:gold:2027-03-02"),
        ("new_to_repeat", "C", "change:rung:repeat:2027-03-02"),
        ("overdue", "A", "change:signal:overdue:2027-03-02"),
    ]  # C's overdue was seen before: not raised again
    assert _keys(feed.entries(later, books)) == _keys(dry)  # the dry run changed nothing
    assert feed.entries(datetime(2027, 3, 3), books) == []  # seen: nothing new
    with store.reader.connect() as conn:
        seen = dict(conn.execute(sa.select(playbook_facts.c.customer_id,
                                           playbook_facts.c.rung)).all())
    assert seen == {"A": "regular", "B": "regular", "C": "repeat"}


def test_events_orders_and_feedback_enter_from_their_cursor(store: SqlApiStore) -> None:
    with store.writer.begin() as conn:
        for cid in ("A", "B"):
            customer(conn, cid)
        order(conn, "O-old", "A", datetime(2027, 1, 1))  # history before the first pass
        event(conn, "e-old", "A", "signed_up", datetime(2027, 1, 1))
    feed = _feed(store)
    books = [_book("welcome", kind="event", event="signed_up"),
             _book("thanks", kind="event", event="order_placed"),
             _book("first", kind="event", event="first_order"),
             _book("nps", kind="event", event="nps_answered"),
             _book("review", kind="event", event="review_posted"),
             _book("cart", kind="event", event="cart_abandoned")]
    assert feed.entries(datetime(2027, 3, 1), books) == []
    with store.writer.begin() as conn:
        order(conn, "O1", "A", datetime(2027, 3, 1, 10))
        order(conn, "O2", "B", datetime(2027, 3, 1, 11))
        order(conn, "O3", "B", datetime(2027, 3, 5))  # not yet at the next pass
        event(conn, "e1", "B", "signed_up", datetime(2027, 3, 1, 9))
        event(conn, "e2", "A", "signed_up", datetime(2027, 3, 4))  # in the future: held
        event(conn, "e3", "A", "cart_abandoned", datetime(2027, 3, 1, 9))
        feedback(conn, "F1", "A", datetime(2027, 3, 1, 8), nps=9, text="fine")
    first = feed.entries(datetime(2027, 3, 2), books, dry_run=True)
    with store.reader.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(playbook_cursors)
                            ).scalar_one() == 6  # written by the first pass only
        before = dict(conn.execute(sa.select(playbook_cursors.c.name,
                                             playbook_cursors.c.position)).all())
    assert _keys(first) == [
        ("cart", "A", "event:e3"), ("first", "B", "order:O2"), ("nps", "A", "feedback:F1"),
        ("review", "A", "feedback:F1"), ("thanks", "A", "order:O1"),
        ("thanks", "B", "order:O2"), ("welcome", "B", "event:e1")]
    assert next(e for e in first if e.entry_key == "order:O1").at == datetime(2027, 3, 1, 10)
    assert _keys(feed.entries(datetime(2027, 3, 2), books)) == _keys(first)
    with store.reader.connect() as conn:
        after = dict(conn.execute(sa.select(playbook_cursors.c.name,
                                            playbook_cursors.c.position)).all())
    assert after["orders"] != before["orders"]
    # the next pass: the held event and the later order, nothing seen before again
    second = feed.entries(datetime(2027, 3, 6), books)
    assert [k for k in _keys(second) if k[2] != "event:e3"] == [
        ("thanks", "B", "order:O3"), ("welcome", "A", "event:e2")]
    assert feed.entries(datetime(2027, 3, 7), books) == []


def test_birthdays_holidays_attribute_days_and_cadences_fire_once_per_day(
        store: SqlApiStore) -> None:
    with store.writer.begin() as conn:
        customer(conn, "A", birthday=date(1988, 2, 29), attributes="country=RU")
        customer(conn, "B", birthday=date(1990, 3, 1), attributes="professional_day=03-01")
        customer(conn, "C", attributes="founded=2011-02-27;country=EE")
        order(conn, "O1", "C", datetime(2026, 2, 28, 15))
        map_row(conn, "C", first_order_at=datetime(2026, 2, 28, 15))  # the map's first order
    feed = _feed(store)
    books = [_book("bday", kind="date", base="birthday"),
             _book("bday_before", kind="date", base="birthday", offset_days=-2),
             _book("anniv", kind="date", base="first_order_anniversary"),
             _book("founded", kind="date", base="attribute", attribute="founded"),
             _book("pro", kind="date", base="attribute", attribute="professional_day"),
             _book("defender", kind="date", base="holiday",
                   holiday="defender_of_the_fatherland_day"),
             _book("newyear", kind="date", base="holiday", holiday="new_year", offset_days=-3),
             _book("monthly", kind="cadence", every="month")]
    # first pass at 2027-02-23 (Tallinn): that day only
    first = feed.entries(datetime(2027, 2, 23, 10), books)
    assert _keys(first) == [("defender", "A", "date:holiday:defender_of_the_fatherland_day:"
                                             "2027-02-23")]
    assert first[0].at == datetime(2027, 2, 22, 22)  # midnight in Tallinn, in UTC
    walked = feed.entries(datetime(2027, 3, 1, 10), books)
    assert _keys(walked) == [
        ("anniv", "C", "date:first_order_anniversary:2027-02-28"),
        # 29 February on 28 February in 2027; two days before 1 March is 27 February
        ("bday", "A", "date:birthday:2027-02-28"),
        ("bday", "B", "date:birthday:2027-03-01"),
        ("bday_before", "A", "date:birthday:2027-02-28"),
        ("bday_before", "B", "date:birthday:2027-03-01"),
        ("founded", "C", "date:attribute:founded:2027-02-27"),
        ("monthly", "A", "cadence:month:2027-03"),
        ("monthly", "B", "cadence:month:2027-03"),
        ("monthly", "C", "cadence:month:2027-03"),
        ("pro", "B", "date:attribute:professional_day:2027-03-01"),
    ]
    assert feed.entries(datetime(2027, 3, 1, 20), books) == []  # the same day again
    eve = feed.entries(datetime(2027, 12, 29, 8), books)
    assert {(e.playbook, e.entry_key) for e in eve if e.playbook == "newyear"} == {
        ("newyear", "date:holiday:new_year:2028-01-01")}
    # B has no country of its own: the business's (EE) has a new year too
    assert {e.customer_id for e in eve if e.playbook == "newyear"} == {"A", "B", "C"}
    assert not [e for e in eve if e.playbook == "defender"]  # a Russian holiday, in February


def test_a_card_edited_between_passes_moves_its_days_at_the_next_pass(
        store: SqlApiStore) -> None:
    """The dates are read at every pass; the parsed table is the last pass's only when what
    was read is the same, so an edit between two passes counts at the second."""
    with store.writer.begin() as conn:
        customer(conn, "A", birthday=date(1990, 3, 2), attributes="founded=2011-03-03")
        customer(conn, "B", birthday=date(1990, 5, 5))
    feed = _feed(store)
    books = [_book("bday", kind="date", base="birthday"),
             _book("founded", kind="date", base="attribute", attribute="founded"),
             _book("defender", kind="date", base="holiday",
                   holiday="defender_of_the_fatherland_day")]
    assert feed.entries(datetime(2027, 3, 1, 10), books) == []
    table = feed._dates_table
    assert _keys(feed.entries(datetime(2027, 3, 2, 10), books)) == [
        ("bday", "A", "date:birthday:2027-03-02")]
    assert feed._dates_table is table  # nothing changed: nothing parsed again
    cards = INPUT_TABLES[Kind.CUSTOMERS]
    with store.writer.begin() as conn:
        conn.execute(cards.update().where(cards.c.customer_id == "B").values(
            birthday=date(1990, 3, 3), attributes="founded=2015-03-03;country=RU"))
        conn.execute(cards.update().where(cards.c.customer_id == "A").values(
            attributes="founded=2011-03-04"))
    assert _keys(feed.entries(datetime(2027, 3, 3, 10), books)) == [
        ("bday", "B", "date:birthday:2027-03-03"),
        ("founded", "B", "date:attribute:founded:2027-03-03")]
    assert _keys(feed.entries(datetime(2027, 3, 4, 10), books)) == [
        ("founded", "A", "date:attribute:founded:2027-03-04")]


def test_the_dates_no_trigger_reads_are_not_computed_and_are_when_one_comes(
        store: SqlApiStore) -> None:
    with store.writer.begin() as conn:
        customer(conn, "A", birthday=date(1990, 3, 2), attributes="founded=2011-03-02")
        order(conn, "O1", "A", datetime(2026, 3, 2, 15))
        map_row(conn, "A", first_order_at=datetime(2026, 3, 2, 15))
    feed = _feed(store)
    founded = _book("founded", kind="date", base="attribute", attribute="founded")
    assert feed.entries(datetime(2027, 3, 1, 10), [founded]) == []
    assert _keys(feed.entries(datetime(2027, 3, 2, 10), [founded])) == [
        ("founded", "A", "date:attribute:founded:2027-03-02")]
    assert feed._dates_cols is not None
    assert set(feed._dates_cols.birthday) == set(feed._dates_cols.first_order) == {0}
    # a birthday and an anniversary playbook switched on: their columns are read from then
    books = [founded, _book("bday", kind="date", base="birthday", offset_days=-1),
             _book("anniv", kind="date", base="first_order_anniversary", offset_days=-1)]
    assert _keys(feed.entries(datetime(2028, 3, 1, 10), books)) == [
        ("anniv", "A", "date:first_order_anniversary:2028-03-02"),
        ("bday", "A", "date:birthday:2028-03-02")]
