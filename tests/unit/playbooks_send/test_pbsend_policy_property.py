"""Property (issue 20): whatever the schedule of send attempts over a customer — random
moments across DST changes, channels, purposes, consent and do-not-contact changing — the
messages the sender actually sends never exceed a cap's window, never fall in quiet hours or
on a quiet day of the customer's wall clock, never go out for marketing without a recorded
yes, and never to a do-not-contact customer unless transactional.

The checks below recount from the sent messages themselves (wall clocks through zoneinfo,
windows by subtraction), not through the policy's code. The store is an in-memory one of the
sender's port (the SQL one is tested against SQLite and PostgreSQL in tests/integration)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from regulars.domain import contact_policy as cp
from regulars.domain.playbooks.model import Playbook, Send, Template, Trigger
from regulars.services.playbooks.ports import Job, Journey, Outgoing, Rendered, StepContext
from regulars.services.playbooks.sending import Sender


class Memory:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.interactions: list[dict[str, Any]] = []
        self.card: dict[str, Any] = {}

    def message(self, message_id: str) -> dict[str, Any] | None:
        return self.rows.get(message_id)

    def record(self, row: Any) -> bool:
        return self.claim_send(row)

    def claim_send(self, row: Any) -> bool:
        old = self.rows.get(row["message_id"])
        if old is not None and old["state"] != "retry":
            return False
        self.rows[row["message_id"]] = dict(row)
        return True

    def finish(self, message_id: str, values: Any, interaction: Any = None, *,
               only_state: str | None = None) -> None:
        if only_state is not None and self.rows[message_id]["state"] != only_state:
            return
        self.rows[message_id].update(values)
        if interaction is not None:
            self.interactions.append(dict(interaction))

    reads = 0

    def contacts_of(self, customer_ids: Any) -> Any:
        return {cid: self.contacts(cid) for cid in customer_ids}

    def contacts(self, customer_id: str) -> Any:
        self.reads += 1
        return (self.contact_state(customer_id), self.contact_history(customer_id),
                self.in_flight(customer_id))

    def contact_state(self, customer_id: str) -> dict[str, Any] | None:
        return dict(self.card)

    def contact_history(self, customer_id: str) -> list[dict[str, Any]]:
        return [{"at": i["at"], "channel": i["channel"], "kind": i["kind"]}
                for i in self.interactions]

    def journey_coupon(self, journey_id: str) -> None:
        return None

    def in_flight(self, customer_id: str) -> list[dict[str, Any]]:
        return [r for r in self.rows.values() if r["state"] == "sending"]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return message.message_id


class Engine:
    def check(self, template: Template) -> list[str]:
        return []

    def render(self, template: Template, context: Any) -> Rendered:
        return Rendered("s", "t", None)


class AnyTemplate:
    def choose(self, name: str, language: str | None) -> Template:
        return Template(name, "en", "t")


@dataclass(frozen=True)
class Attempt:
    minutes: int
    channel: str
    purpose: str
    consent: dict[str, bool | None]
    dnc: bool


BUSINESS = "Europe/Tallinn"
QUIET = (9, 21)  # open from 09:00 to 21:00, not on Sundays (the defaults)
attempts = st.builds(
    Attempt,
    minutes=st.integers(0, 60 * 24 * 70),
    channel=st.sampled_from(["email", "sms", "messenger"]),
    purpose=st.sampled_from(["marketing", "marketing", "transactional"]),
    consent=st.fixed_dictionaries({c: st.sampled_from([True, True, False, None])
                                   for c in ("email", "sms", "messenger", "phone")}),
    dnc=st.sampled_from([False, False, True]),
)


def _ctx(job: str, channel: str, purpose: str, at: datetime, zone: str, status: str,
         attempts_so_far: int) -> StepContext:
    step = Send(id="s", channel=channel, template="t", purpose=purpose)
    pb = Playbook(name="p", title="p", set="x", trigger=Trigger(kind="cadence", every="week"),
                  steps=(step,))
    journey = Journey(f"jr-{job}", "p", pb.version, "C", "k", "treated", at, "active")
    facts = {"customer_id": "C", "email": "c@example.ee", "phone": "+3725550000",
             "time_zone": zone, "status": status, "rung": "regular", "language": "en"}
    return StepContext(journey, Job(job, journey.journey_id, "p", "C", "s", 1, at, "claimed",
                                    attempts_so_far), pb, step, facts, at)


@settings(max_examples=150)
@given(schedule=st.lists(attempts, min_size=1, max_size=40),
       zone=st.sampled_from(["Europe/Tallinn", "Europe/Moscow", "America/New_York", "UTC"]),
       status=st.sampled_from(["active", "lost"]),
       start=st.sampled_from([datetime(2026, 3, 20, tzinfo=UTC),    # over spring forward
                              datetime(2026, 10, 20, tzinfo=UTC)]),  # over fall back
       stale=st.booleans())
def test_sent_messages_obey_the_policy_for_any_schedule(schedule, zone, status, start, stale):
    """``stale``: before each attempt the sender prefetches the card as it was before the
    attempt's change (a runner's pass read a moment too early): still nothing gets through."""
    store, outbox = Memory(), Outbox()
    policy = cp.ContactPolicy(zone=BUSINESS)
    channels = dict.fromkeys(("email", "sms", "messenger"), outbox)
    sender = Sender(store=store, policy=policy, templates=AnyTemplate(), engine=Engine(),
                    channels=channels, unsubscribe_key=b"k" * 32, zone=BUSINESS)
    # the runner: attempts in time order, a deferred one back at its retry_at
    queue = [(start + timedelta(minutes=a.minutes), i, a, 0) for i, a in enumerate(schedule)]
    heapq.heapify(queue)
    sent: list[tuple[datetime, Attempt]] = []
    rounds = 0
    while queue:
        rounds += 1
        assert rounds < 50 * len(schedule) + 50, "a job deferred for ever"
        at, i, a, tries = heapq.heappop(queue)
        if stale:
            sender.prefetch(["C"])
        store.card = {**{f"consent_{c}": v for c, v in a.consent.items()},
                      "do_not_contact": a.dnc}
        before = len(outbox.sent)
        out = sender.run(_ctx(f"j{i}", a.channel, a.purpose, at, zone, status, tries))
        if out.outcome == "deferred":
            assert out.retry_at is not None and out.retry_at > at
            heapq.heappush(queue, (out.retry_at, i, a, tries + 1))
            continue
        assert out.outcome in ("sent", "skipped"), out
        assert len(outbox.sent) - before == (1 if out.outcome == "sent" else 0)
        if out.outcome == "sent":
            sent.append((at, a))

    event(f"sent: {min(len(sent), 5)}{'+' if len(sent) >= 5 else ''}")
    tz = ZoneInfo(zone)
    for at, a in sent:
        local = at.astimezone(tz)
        # never in quiet hours or on a quiet day, in the customer's zone
        assert QUIET[0] <= local.hour < QUIET[1], (local, a)
        assert local.weekday() != 6, (local, a)
        # consent: a "no" stops both purposes; marketing needs a recorded yes
        assert a.consent[a.channel] is not False
        if a.purpose == "marketing":
            assert a.consent[a.channel] is True
            assert not a.dnc  # do-not-contact: transactional only
        # caps over rolling windows, recounted from what was sent
        window = [t for t, b in sent if at - timedelta(days=30) < t <= at
                  and b.purpose == "marketing"]
        if a.purpose == "marketing":
            assert len(window) <= 4, (at, len(window))
        if status == "lost":
            year = [t for t, _b in sent if at - timedelta(days=365) < t <= at]
            assert len(year) <= 2
    # every attempt ended as one row (sent or skipped with a reason), none twice
    assert len(store.rows) == len(schedule)
    assert all(r["state"] == "sent" or r["reason"] for r in store.rows.values())
    assert len({m.message_id for m in outbox.sent}) == len(outbox.sent)


def test_the_property_can_fail():
    """The same recount catches a sender that ignores the policy (an always-allowing one)."""

    class Lax(cp.ContactPolicy):
        def check(self, *args: Any, **kw: Any) -> cp.Decision:
            return cp.Decision(True)

    store, outbox = Memory(), Outbox()
    sender = Sender(store=store, policy=Lax(zone=BUSINESS), templates=AnyTemplate(),
                    engine=Engine(), channels={"email": outbox}, unsubscribe_key=b"k" * 32)
    store.card = {"consent_email": True, "do_not_contact": False}
    sunday_night = datetime(2026, 3, 22, 22, 0, tzinfo=UTC)
    for i in range(6):
        sender.run(_ctx(f"j{i}", "email", "marketing", sunday_night + timedelta(minutes=i),
                        "Europe/Tallinn", "active", 0))
    assert len(outbox.sent) == 6  # a lax sender breaks the cap and the quiet hours …
    local = sunday_night.astimezone(ZoneInfo("Europe/Tallinn"))
    assert not (QUIET[0] <= local.hour < QUIET[1])  # … which the recount would see


# -- the rules one by one, with expectations worked out by hand ---------------------------------

def _sender(store: Memory, outbox: Outbox) -> Sender:
    return Sender(store=store, policy=cp.ContactPolicy(zone=BUSINESS), templates=AnyTemplate(),
                  engine=Engine(), channels=dict.fromkeys(("email", "sms", "messenger"), outbox),
                  unsubscribe_key=b"k" * 32, zone=BUSINESS)


TUESDAY_NOON = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # 12:00 in Tallinn


def _one(card: dict[str, Any], channel: str = "email", purpose: str = "marketing",
         at: datetime = TUESDAY_NOON, status: str = "active",
         history: list[dict[str, Any]] | None = None) -> tuple[Any, Outbox]:
    store, outbox = Memory(), Outbox()
    store.card = card
    store.interactions = list(history or [])
    out = _sender(store, outbox).run(_ctx("j", channel, purpose, at, BUSINESS, status, 0))
    return out, outbox


def test_do_not_contact_holds_marketing_back_but_not_a_transactional_message():
    out, _ = _one({"consent_email": True, "do_not_contact": True})
    assert (out.outcome, out.reason) == ("skipped", "do_not_contact")
    out, outbox = _one({"consent_email": None, "do_not_contact": True},
                       purpose="transactional")
    assert out.outcome == "sent" and len(outbox.sent) == 1


def test_a_recorded_no_holds_back_both_purposes_and_an_unknown_only_marketing():
    assert _one({"consent_email": False}, purpose="transactional")[0].reason == "no_consent"
    assert _one({"consent_email": False})[0].reason == "no_consent"
    assert _one({"consent_email": None})[0].reason == "consent_unknown"


def test_a_former_customer_gets_two_contacts_a_year_at_most():
    # contacts on 2026-03-01 and 2026-09-01 (wall clock of the business): a third on
    # 2026-12-08 falls in the same 365 days
    history = [{"at": datetime(2026, m, 1, 12), "channel": "phone", "kind": "call"}
               for m in (3, 9)]
    out, outbox = _one({"consent_email": True}, status="lost", history=history)
    assert (out.outcome, out.reason) == ("skipped", "cap") and outbox.sent == []
    # the first of them leaves the window on 2027-03-01 12:00: allowed from then on
    later = datetime(2027, 3, 1, 10, 1, tzinfo=UTC)  # 12:01 in Tallinn, a Monday
    out, _ = _one({"consent_email": True}, status="lost", history=history, at=later)
    assert out.outcome == "sent"


def test_a_sunday_waits_for_monday_nine_in_the_customer_zone():
    sunday = datetime(2026, 12, 13, 10, 0, tzinfo=UTC)
    out, outbox = _one({"consent_email": True}, at=sunday)
    assert (out.outcome, out.reason) == ("deferred", "quiet_day")
    # Monday 2026-12-14 09:00 in Tallinn (UTC+2 in winter) is 07:00 UTC
    assert out.retry_at == datetime(2026, 12, 14, 7, 0, tzinfo=UTC)
    assert outbox.sent == []


def test_a_messenger_message_goes_to_the_messenger_attribute_else_the_phone():
    assert Sender.address("messenger", {"attribute.messenger": "@anna",
                                        "phone": "+3725551234"}) == "@anna"
    assert Sender.address("messenger", {"phone": "+3725551234"}) == "+3725551234"
    assert Sender.address("sms", {"phone": " "}) is None
    assert Sender.address("email", {"email": "a@b.ee"}) == "a@b.ee"


def test_a_dry_run_counts_its_own_would_be_sends_towards_the_caps():
    """"What would go out this week" obeys the caps: four marketing mails in 30 days, the
    fifth would be held back, though nothing was recorded."""
    store, outbox = Memory(), Outbox()
    store.card = {"consent_email": True}
    sender = _sender(store, outbox)
    outs = []
    for day in range(5):
        ctx = _ctx(f"d{day}", "email", "marketing", TUESDAY_NOON + timedelta(days=day),
                   BUSINESS, "active", 0)
        outs.append(sender.run(StepContext(ctx.journey, ctx.job, ctx.playbook, ctx.step,
                                           ctx.facts, ctx.at, dry_run=True)))
    # Tue, Wed, Thu, Fri, Sat at noon: the fifth is refused by the 4-in-30-days cap
    assert [(o.outcome, o.reason) for o in outs] == [("dry_run", None)] * 4 + [
        ("dry_run", "cap")]
    assert store.rows == {} and outbox.sent == []


def test_a_prefetch_spares_the_reads_and_a_send_is_checked_again_on_fresh_ones():
    store, outbox = Memory(), Outbox()
    store.card = {"consent_email": True}
    sender = _sender(store, outbox)
    sender.prefetch(["C"])
    reads = store.reads
    # the customer says no after the prefetch: the send is decided again, fresh
    store.card = {"consent_email": False}
    out = sender.run(_ctx("p1", "email", "marketing", TUESDAY_NOON, BUSINESS, "active", 0))
    assert (out.outcome, out.reason) == ("skipped", "no_consent") and outbox.sent == []
    assert store.reads == reads + 1  # the prefetch's yes, asked again once
    # a decision to hold back needs no read of its own
    sender.forget()
    store.card = {"consent_email": None}
    sender.prefetch(["C"])
    reads = store.reads
    out = sender.run(_ctx("p2", "email", "marketing", TUESDAY_NOON, BUSINESS, "active", 0))
    assert (out.outcome, out.reason) == ("skipped", "consent_unknown")
    assert store.reads == reads
