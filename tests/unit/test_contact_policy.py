"""The contact policy (issue 18): hand-computed rules, and invariants over any sequence of
contacts (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.domain import contact_policy as cp

TALLINN = ZoneInfo("Europe/Tallinn")
MOSCOW = ZoneInfo("Europe/Moscow")
YES = dict.fromkeys(cp.CHANNELS, True)
FORMER = cp.CustomerFacts("C1", status="lost", rung="regular", consent=YES)
ACTIVE = cp.CustomerFacts("C2", status="active", rung="regular", consent=YES)
NO_QUIET = cp.ContactPolicy(quiet_hours=None, quiet_days=frozenset())


def at(y: int, m: int, d: int, h: int = 12, zone: ZoneInfo = TALLINN) -> datetime:
    return datetime(y, m, d, h, tzinfo=zone)


# --- hand-computed -------------------------------------------------------------------------


def test_a_former_customer_gets_at_most_two_contacts_in_365_days():
    history = [cp.Contact(at(2025, 1, 10), "email"), cp.Contact(at(2025, 6, 1), "phone",
                                                                "transactional")]
    d = NO_QUIET.check(FORMER, "sms", "marketing", at(2025, 9, 1), history)
    assert not d.allowed and d.reason == cp.CAP
    assert d.params["count"] == 2 and d.params["days"] == 365 and d.params["who"] == "former"
    # allowed again once the January contact leaves the window: 2025-01-10 + 365 days
    assert d.next_allowed == at(2025, 1, 10) + timedelta(days=365)
    assert NO_QUIET.check(FORMER, "sms", "marketing", d.next_allowed, history).allowed


def test_the_former_cap_does_not_apply_to_an_active_customer():
    history = [cp.Contact(at(2025, 1, 10), "email"), cp.Contact(at(2025, 6, 1), "phone")]
    assert NO_QUIET.check(ACTIVE, "sms", "marketing", at(2025, 9, 1), history).allowed


def test_marketing_cap_counts_marketing_contacts_in_a_rolling_30_days():
    days = [1, 8, 15, 22]
    history = [cp.Contact(at(2025, 3, d), "email") for d in days]
    d = NO_QUIET.check(ACTIVE, "email", "marketing", at(2025, 3, 25), history)
    assert not d.allowed and d.params["count"] == 4 and d.params["max"] == 4
    assert d.next_allowed == at(2025, 3, 1) + timedelta(days=30)  # March 31, noon
    # a transactional contact is not held back by a marketing cap
    assert NO_QUIET.check(ACTIVE, "email", "transactional", at(2025, 3, 25), history).allowed
    # transactional contacts are not counted by it
    service = [cp.Contact(at(2025, 3, d), "email", "transactional") for d in days]
    assert NO_QUIET.check(ACTIVE, "email", "marketing", at(2025, 3, 25), service).allowed


def test_a_cap_on_some_channels_counts_and_holds_only_those():
    policy = cp.ContactPolicy(caps=(cp.CapRule(channels=frozenset({"sms"}), max=1, days=7),),
                              quiet_hours=None, quiet_days=frozenset())
    history = [cp.Contact(at(2025, 3, 1), "sms")]
    assert not policy.check(ACTIVE, "sms", "marketing", at(2025, 3, 5), history).allowed
    assert policy.check(ACTIVE, "email", "marketing", at(2025, 3, 5), history).allowed
    # window (at - 7 days, at]: the contact of March 1, noon leaves it at March 8, noon
    assert policy.check(ACTIVE, "sms", "marketing", at(2025, 3, 8), history).allowed


def test_do_not_contact_blocks_everything_but_transactional():
    dnc = cp.CustomerFacts("C3", status="active", consent=YES, do_not_contact=True)
    d = NO_QUIET.check(dnc, "email", "marketing", at(2025, 3, 5))
    assert not d.allowed and d.reason == cp.DO_NOT_CONTACT and d.next_allowed is None
    assert NO_QUIET.check(dnc, "email", "transactional", at(2025, 3, 5)).allowed


def test_unknown_consent_allows_transactional_but_not_marketing():
    unknown = cp.CustomerFacts("C4", status="active")
    assert NO_QUIET.check(unknown, "phone", "transactional", at(2025, 3, 5)).allowed
    d = NO_QUIET.check(unknown, "phone", "marketing", at(2025, 3, 5))
    assert d.reason == cp.CONSENT_UNKNOWN
    refused = cp.CustomerFacts("C5", consent={"phone": False})
    assert NO_QUIET.check(refused, "phone", "transactional", at(2025, 3, 5)).reason == \
        cp.NO_CONSENT


def test_quiet_hours_are_the_customers_wall_clock():
    policy = cp.ContactPolicy(caps=(), quiet_days=frozenset())
    # 20:30 in Tallinn is 21:30 in Moscow: quiet for a Moscow customer only
    moment = datetime(2025, 3, 5, 20, 30, tzinfo=TALLINN)
    tallinn = cp.CustomerFacts("T", consent=YES, time_zone="Europe/Tallinn")
    moscow = cp.CustomerFacts("M", consent=YES, time_zone="Europe/Moscow")
    assert policy.check(tallinn, "phone", "marketing", moment).allowed
    d = policy.check(moscow, "phone", "marketing", moment)
    assert d.reason == cp.QUIET_HOURS and d.quiet_only
    assert d.next_allowed == datetime(2025, 3, 6, 9, 0, tzinfo=MOSCOW)


def test_a_quiet_sunday_waits_for_monday_nine():
    policy = cp.ContactPolicy(caps=(), zone="Europe/Tallinn")
    sunday = datetime(2025, 3, 9, 12, 0, tzinfo=TALLINN)
    d = policy.check(ACTIVE, "phone", "marketing", sunday)
    assert d.reason == cp.QUIET_DAY
    assert d.next_allowed == datetime(2025, 3, 10, 9, 0, tzinfo=TALLINN)


def test_the_end_of_quiet_hours_on_a_dst_night_is_a_real_instant():
    # Tallinn springs forward on 2025-03-30 at 03:00 (to 04:00): quiet hours ending at 03:30
    # end when the clock first shows a time at or after 03:30, i.e. at 04:00 EEST
    policy = cp.ContactPolicy(caps=(), quiet_hours=(time(1, 0), time(3, 30)),
                              quiet_days=frozenset(), zone="Europe/Tallinn")
    d = policy.check(ACTIVE, "phone", "marketing", datetime(2025, 3, 30, 2, 0, tzinfo=TALLINN))
    assert d.next_allowed == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 04:00 EEST
    assert not policy.is_quiet(d.next_allowed)


def test_naive_moments_are_read_in_the_policys_zone():
    policy = cp.ContactPolicy(caps=(), quiet_days=frozenset(), zone="Europe/Tallinn")
    assert policy.is_quiet(datetime(2025, 3, 5, 22, 0))
    assert not policy.is_quiet(datetime(2025, 3, 5, 10, 0))


def test_rules_that_cannot_work_are_refused():
    with pytest.raises(cp.PolicyError, match="purpose"):
        cp.CapRule(purpose="sales")
    with pytest.raises(cp.PolicyError, match="channel"):
        cp.CapRule(channels=frozenset({"fax"}))
    with pytest.raises(cp.PolicyError, match="quiet"):
        cp.ContactPolicy(quiet_days=frozenset(cp.WEEKDAYS))
    with pytest.raises(cp.PolicyError, match="clock range"):
        cp.parse_clock_range("9-5pm")


# --- invariants ------------------------------------------------------------------------------

ZONES = ("Europe/Tallinn", "Europe/Moscow", "UTC", "America/New_York")
# around the DST changes of 2025 (Tallinn: Mar 30 and Oct 26), and a plain stretch
START = datetime(2025, 3, 20, tzinfo=UTC)
moments = st.lists(st.integers(min_value=0, max_value=60 * 24 * 400), min_size=1,
                   max_size=40).map(lambda ms: [START + timedelta(minutes=m) for m in sorted(ms)])
caps = st.lists(st.builds(
    cp.CapRule,
    who=st.sampled_from(["all", "former", "lost", "regular"]),
    channels=st.one_of(st.none(), st.sets(st.sampled_from(cp.CHANNELS), min_size=1)
                       .map(frozenset)),
    purpose=st.sampled_from(["marketing", "any"]),
    max=st.integers(0, 4), days=st.integers(1, 400)), max_size=3)
facts = st.builds(cp.CustomerFacts, customer_id=st.just("C"),
                  status=st.sampled_from(["active", "lost", "lapsing"]),
                  rung=st.sampled_from(["regular", "loyal", "newcomer"]),
                  consent=st.fixed_dictionaries({c: st.sampled_from([True, False, None])
                                                 for c in cp.CHANNELS}),
                  do_not_contact=st.booleans(), time_zone=st.sampled_from(ZONES))
attempt = st.tuples(st.sampled_from(cp.CHANNELS), st.sampled_from(cp.PURPOSES))
quiet = st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23))
                  .filter(lambda t: t[0] != t[1]).map(lambda t: (time(t[0]), time(t[1], 30))))


@settings(max_examples=150, deadline=None)
@given(caps, facts, moments, st.lists(attempt, min_size=40, max_size=40), quiet,
       st.sets(st.sampled_from(cp.WEEKDAYS), max_size=3))
def test_whatever_the_attempts_no_rolling_window_exceeds_its_cap(rules, who, times, tries,
                                                                  hours, days):
    policy = cp.ContactPolicy(caps=tuple(rules), quiet_hours=hours, quiet_days=frozenset(days),
                              zone="Europe/Tallinn")
    done: list[cp.Contact] = []
    for moment, (channel, purpose) in zip(times, tries, strict=False):
        decision = policy.check(who, channel, purpose, moment, done)
        if decision.allowed:
            done.append(cp.Contact(moment, channel, purpose))
            # invariants of every allowed contact
            assert not (who.do_not_contact and purpose == "marketing")
            assert not policy.is_quiet(moment, who.time_zone)
            assert who.consent.get(channel) is not False
        elif decision.next_allowed is not None:
            # the moment it names is allowed as far as the clock goes
            assert not policy.is_quiet(decision.next_allowed, who.time_zone)
            assert decision.next_allowed > moment or decision.reason not in cp.QUIET
    for rule in rules:
        if not rule.applies_to(who):
            continue
        # the contacts the cap counts (a marketing cap: marketing contacts only)
        counted = [c.at for c in done if rule.covers(c.channel, c.purpose)]
        for end in counted:
            # the fullest window of a length ends at a contact
            assert cp.contacts_in_window(counted, end, rule.days) <= rule.max


@settings(max_examples=150, deadline=None)
@given(facts, st.lists(st.tuples(st.integers(0, 60 * 24 * 400), attempt), max_size=30))
def test_no_do_not_contact_customer_is_ever_allowed_a_marketing_contact(who, tries):
    policy = cp.ContactPolicy(quiet_hours=None, quiet_days=frozenset())
    dnc = cp.CustomerFacts(who.customer_id, who.status, who.rung, who.consent, True,
                           who.time_zone)
    done: list[cp.Contact] = []
    for minutes, (channel, _purpose) in sorted(tries):
        moment = START + timedelta(minutes=minutes)
        assert not policy.check(dnc, channel, "marketing", moment, done).allowed


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["Europe/Tallinn", "Europe/Moscow"]),
       st.integers(0, 60 * 24 * 366), quiet,
       st.sets(st.sampled_from(cp.WEEKDAYS), max_size=4))
def test_the_next_open_moment_is_never_quiet_across_dst(zone, minutes, hours, days):
    policy = cp.ContactPolicy(caps=(), quiet_hours=hours, quiet_days=frozenset(days))
    moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    nxt = policy.next_open(moment, zone)
    assert nxt >= moment
    assert not policy.is_quiet(nxt, zone)
    # and nothing between the two is open: it is the first open moment (minute steps)
    if nxt > moment:
        step = moment
        while step < nxt - timedelta(minutes=1):
            step += timedelta(minutes=max(1, int((nxt - moment).total_seconds() // 60 // 50)))
            if step < nxt:
                assert policy.is_quiet(step, zone)
