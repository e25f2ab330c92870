"""Sending a playbook's message (issue 20, DOMAIN §9): the :class:`~.model.Send` step.

For one job, in order:

1. **Once per job.** The message's id is the job's. A row of ``playbook_messages`` already
   ``sent``, ``skipped`` or ``failed`` for it is the answer again (nothing is sent). A row
   left ``sending`` is a crash between handing the message to the channel and recording it:
   whether it left is unknown, and playbooks prefer **at most once** — a customer who misses
   one marketing message loses little, one who gets it twice learns the business spams — so
   it is marked ``failed`` with the reason ``unknown_after_crash`` and not sent again.
   The row is found by the write itself: each is an insert under the job's id that writes
   nothing over another attempt's row (a ``retry`` row excepted), and a refused write
   answers with that row — so a first attempt, nearly every one, reads nothing for it.
2. **Who and where.** The control arm receives nothing (skipped ``control``); the customer's
   address for the channel (skipped ``no_address``); the channel configured (skipped
   ``no_channel``).
3. **The contact policy at send time** (:meth:`ContactPolicy.check`), with the customer's
   consent and do-not-contact flag read fresh from the card (an unsubscribe a minute ago
   counts), the status and rung of the facts, the customer's time zone, and the history the
   worklist counts: every outgoing interaction — which includes the messages playbooks sent,
   since each is recorded as one — and the messages being sent right now (``sending``). Quiet
   hours or a quiet day: deferred to ``next_allowed``; any other refusal: skipped with the
   policy's reason code.
4. **Render** the template in the customer's language (:class:`ports.Templates`) with the
   customer, business, manager, playbook and unsubscribe link (failed ``render_error``).
5. **Send**, between two commits: the row is written ``sending`` before the channel is
   called, and ``sent`` (with the provider's id) after it, in the transaction that also
   writes the ``out`` interaction (so caps and the worklist see it). A failure the channel
   says certainly did not send is tried again later (deferred, up to :attr:`Sender.tries`);
   one that may have sent is ``failed`` (``unknown_after_error``), for the reason of 1.

A dry run decides the same way and returns ``dry_run`` (its ``reason`` the skip it would
be), records nothing and sends nothing; a quiet-hours deferral it returns as such (it changes
nothing, and a simulated run then comes back at the moment the message would go).

Moments: ``playbook_messages.at`` is UTC (naive); an interaction's ``at`` is the business's
wall clock (naive), as imported interactions are, so the policy reads both the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from regulars.domain import contact_policy as cp
from regulars.domain.playbooks.model import CHANNEL_EMAIL, CHANNEL_MESSENGER, CHANNEL_SMS, Send
from regulars.domain.playbooks.tokens import make_token
from regulars.domain.tables import INTERACTIONS
from regulars.services.api.ingest import canonical, row_hash
from regulars.services.playbooks.ports import (
    CONTROL,
    Channel,
    ChannelError,
    Outgoing,
    StepContext,
    StepOutcome,
    TemplateEngine,
    Templates,
)
from regulars.services.task_policy import history as policy_history

# message states (playbook_messages.state)
SENDING = "sending"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"
RETRY = "retry"  # a try that certainly did not send: the job comes back
DRY_RUN = "dry_run"

# reasons besides the contact policy's codes
NO_ADDRESS = "no_address"
NO_CHANNEL = "no_channel"
NO_TEMPLATE = "no_template"
CONTROL_ARM = "control"
RENDER_ERROR = "render_error"
REJECTED = "rejected"
CHANNEL_DOWN = "channel_error"
UNKNOWN_AFTER_CRASH = "unknown_after_crash"
UNKNOWN_AFTER_ERROR = "unknown_after_error"
NOT_SENT_REASONS = (NO_ADDRESS, NO_CHANNEL, NO_TEMPLATE, CONTROL_ARM, RENDER_ERROR, REJECTED,
                    CHANNEL_DOWN, UNKNOWN_AFTER_CRASH, UNKNOWN_AFTER_ERROR)

# the interaction a sent message is recorded as: a marketing kind counts towards the
# marketing caps (regulars.services.worklist.MARKETING_KINDS), "support" does not
INTERACTION_KIND = {"marketing": "offer", "transactional": "support"}


Contacts = tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]
"""The card's consent and do-not-contact (None: no such customer), the outgoing
interactions, the messages in flight."""


class MessageStore(Protocol):
    """``playbook_messages`` and what sending reads of a customer (SQL:
    :class:`regulars.adapters.db.playbook_messages.SqlMessageStore`)."""

    def message(self, message_id: str) -> dict[str, Any] | None: ...

    def record(self, row: Mapping[str, Any]) -> bool:
        """Insert a message row in its own transaction, or replace one in state ``retry``
        (a try that did not send, now skipped or failed); False (nothing written) when a
        row of that id exists in another state."""
        ...

    def claim_send(self, row: Mapping[str, Any]) -> bool:
        """Write the row ``sending`` (insert, or update one in state ``retry``) and commit;
        False when another state is stored (someone else got there)."""
        ...

    def finish(self, message_id: str, values: Mapping[str, Any],
               interaction: Mapping[str, Any] | None = None, *,
               only_state: str | None = None) -> None:
        """Update the row with ``values`` and insert ``interaction`` (and tell the live map),
        one transaction; with ``only_state``, only a row in that state is updated."""
        ...

    def contact_state(self, customer_id: str) -> dict[str, Any] | None:
        """The card's ``consent_<channel>`` and ``do_not_contact`` now (None: unknown
        customer)."""
        ...

    def contact_history(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's outgoing interactions (``at, channel, kind``; ``at`` the business's
        wall clock), as the worklist reads them."""
        ...

    def contacts(self, customer_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]],
                                                  list[dict[str, Any]]]:
        """:meth:`contact_state`, :meth:`contact_history`, :meth:`in_flight` at once."""
        ...

    def contacts_of(self, customer_ids: Sequence[str]) -> dict[str, tuple[
            dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]]:
        """:meth:`contacts` of many customers in a few statements (each id asked for is a
        key)."""
        ...

    def journey_coupon(self, journey_id: str) -> dict[str, Any] | None:
        """The coupon an earlier step of the journey issued (``code``, ``reward``), for the
        template's ``coupon``; None: none."""
        ...

    def in_flight(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's messages being sent now (``sending``) or that may have gone
        (``failed`` ``unknown_after_*``): ``at`` (UTC), ``channel``, ``purpose``. They have no
        interaction yet, and a cap must count them."""
        ...


@dataclass
class Sender:
    """Runs :class:`Send` steps. ``channels`` by channel code (a missing one: not
    configured); ``business`` the template's ``business`` values; ``zone`` the business's
    time zone (interactions' wall clock)."""

    store: MessageStore
    policy: cp.ContactPolicy
    templates: Templates
    engine: TemplateEngine
    channels: Mapping[str, Channel]
    unsubscribe_key: bytes
    public_url: str | None = None
    unsubscribe_mailto: str | None = None
    business: Mapping[str, object] = field(default_factory=dict)
    zone: str = "UTC"
    tries: int = 5
    retry_after: timedelta = timedelta(minutes=5)
    # a pass's prefetched contacts (prefetch), and a dry run's would-be sends, which its
    # later decisions count as contacts (so "what would go out" obeys the caps too)
    _cache: dict[str, Contacts] = field(default_factory=dict, init=False, repr=False)
    _would: dict[str, list[cp.Contact]] = field(default_factory=dict, init=False, repr=False)

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        """Read the contacts of many customers at once (a runner's pass over its due jobs),
        so that deciding for them reads nothing more. Each prefetch starts a new pass (what
        the last one read is dropped), so nothing read lives longer than a pass. A decision
        to send is made again on fresh reads before anything goes out: a prefetch gone stale
        can hold a message back, never let one through. :meth:`forget` drops it."""
        self._cache = dict(self.store.contacts_of(sorted(set(customer_ids))))

    def forget(self) -> None:
        self._cache.clear()

    # -- the step --------------------------------------------------------------------------

    def run(self, ctx: StepContext) -> StepOutcome:
        step = ctx.step
        assert isinstance(step, Send)
        mid = ctx.job.job_id
        # "once per job" is the keyed write's: every row this step writes is an insert under
        # the job's id that stores nothing when a row of that id is there (or replaces only a
        # ``retry``), so the row an earlier attempt left is found when the write refuses —
        # one read for the rare job run again, not one for every message
        facts = ctx.facts
        cid = ctx.job.customer_id
        language = _text(facts.get("language"))
        at = _utc(ctx.at)

        def skip(reason: str, detail: str | None = None) -> StepOutcome:
            if ctx.dry_run:
                return StepOutcome(DRY_RUN, reason, detail or SKIPPED)
            if not self.store.record(self._row(ctx, step, language, SKIPPED, at, reason,
                                               detail)):
                return self._earlier(mid)
            return StepOutcome(SKIPPED, reason, detail)

        if ctx.journey.arm == CONTROL:
            return skip(CONTROL_ARM)
        address = self.address(step.channel, facts)
        if address is None:
            return skip(NO_ADDRESS)
        channel = self.channels.get(step.channel)
        if channel is None:
            return skip(NO_CHANNEL)
        decision = self._verdict(ctx, step, at)
        if decision.quiet_only and decision.next_allowed is not None:
            # a deferral writes nothing, so it asks whether an earlier attempt sent
            done = None if ctx.dry_run else self._already(mid)
            return done or StepOutcome("deferred", decision.reason, None,
                                       _utc(decision.next_allowed))
        if not decision.allowed:
            return skip(decision.reason)
        template = self.templates.choose(step.template, language)
        if template is None:
            return skip(NO_TEMPLATE, step.template)
        unsubscribe = self.unsubscribe_url(cid, step.channel, template.language)
        names_coupon = any("coupon" in (t or "")
                           for t in (template.subject, template.text, template.html))
        values = self.context(ctx, unsubscribe, names_coupon)
        try:
            rendered = self.engine.render(template, values)
        except Exception as e:  # any failure of a template fails this message only
            if ctx.dry_run:
                return StepOutcome(DRY_RUN, RENDER_ERROR, str(e))
            if not self.store.record(self._row(ctx, step, template.language, FAILED, at,
                                               RENDER_ERROR, str(e))):
                return self._earlier(mid)
            return StepOutcome(FAILED, RENDER_ERROR, str(e))
        if ctx.dry_run:
            self._would.setdefault(cid, []).append(cp.Contact(at, step.channel, step.purpose))
            return StepOutcome(DRY_RUN, None, f"{SENT}: {step.channel} to {address}")
        message = Outgoing(
            message_id=mid, customer_id=cid, channel=step.channel, purpose=step.purpose,
            to=address, text=rendered.text, subject=rendered.subject, html=rendered.html,
            to_name=_text(facts.get("name")), language=template.language,
            unsubscribe_url=unsubscribe, unsubscribe_mailto=self.unsubscribe_mailto)
        row = self._row(ctx, step, template.language, SENDING, at, None, None)
        self._cache.pop(cid, None)  # its own message makes the prefetch stale
        if not self.store.claim_send(row):
            return self._earlier(mid)
        return self._send(ctx, channel, message, at)

    def _verdict(self, ctx: StepContext, step: Send, at: datetime) -> cp.Decision:
        """The policy's answer, from the prefetch when there is one; a yes to a real send
        is asked again on fresh reads."""
        cid = ctx.job.customer_id
        prefetched = cid in self._cache
        decision = self.decide(cid, ctx.facts, step.channel, step.purpose, at, fresh=False,
                               dry_run=ctx.dry_run)
        if decision.allowed and prefetched and not ctx.dry_run:
            decision = self.decide(cid, ctx.facts, step.channel, step.purpose, at)
        return decision

    def _send(self, ctx: StepContext, channel: Channel, message: Outgoing,
              at: datetime) -> StepOutcome:
        mid = message.message_id
        try:
            provider_id = channel.send(message)
        except ChannelError as e:
            if e.permanent:
                self.store.finish(mid, {"state": FAILED, "reason": REJECTED,
                                        "detail": e.detail})
                return StepOutcome(FAILED, REJECTED, e.detail)
            if not e.unsent:
                self.store.finish(mid, {"state": FAILED, "reason": UNKNOWN_AFTER_ERROR,
                                        "detail": e.detail})
                return StepOutcome(FAILED, UNKNOWN_AFTER_ERROR, e.detail)
            if ctx.job.attempts + 1 >= self.tries:
                self.store.finish(mid, {"state": FAILED, "reason": CHANNEL_DOWN,
                                        "detail": e.detail})
                return StepOutcome(FAILED, CHANNEL_DOWN, e.detail)
            self.store.finish(mid, {"state": RETRY, "reason": CHANNEL_DOWN, "detail": e.detail})
            return StepOutcome("deferred", CHANNEL_DOWN, e.detail,
                               at + self.retry_after * 2 ** ctx.job.attempts)
        self.store.finish(mid, {"state": SENT, "reason": None, "detail": None,
                                "provider_id": provider_id},
                          self.interaction(message, at))
        return StepOutcome(SENT, None, provider_id)

    def _earlier(self, message_id: str) -> StepOutcome:
        """The answer of the row an earlier attempt of this job left (a write just refused
        because it is there)."""
        return self._already(message_id) or StepOutcome(FAILED, UNKNOWN_AFTER_CRASH)

    def _already(self, message_id: str) -> StepOutcome | None:
        row = self.store.message(message_id)
        if row is None or row["state"] == RETRY:
            return None
        if row["state"] == SENDING:
            # only while still sending: a worker that did get through (a lease lost to a
            # slow one) has marked it sent, and that stands
            self.store.finish(message_id, {"state": FAILED, "reason": UNKNOWN_AFTER_CRASH},
                              only_state=SENDING)
            again = self.store.message(message_id)
            if again is not None and again["state"] == SENT:
                return StepOutcome(SENT, None, again.get("provider_id"))
            return StepOutcome(FAILED, UNKNOWN_AFTER_CRASH)
        return StepOutcome(str(row["state"]), row.get("reason"),
                           row.get("provider_id") or row.get("detail"))

    # -- the parts -------------------------------------------------------------------------

    @staticmethod
    def address(channel: str, facts: Mapping[str, object]) -> str | None:
        """Where the message goes: the e-mail, the phone; for a messenger the customer's
        ``messenger`` attribute (a chat id, a user name) or else the phone."""
        if channel == CHANNEL_EMAIL:
            return _text(facts.get("email"))
        if channel == CHANNEL_SMS:
            return _text(facts.get("phone"))
        if channel == CHANNEL_MESSENGER:
            return _text(facts.get("attribute.messenger")) or _text(facts.get("phone"))
        return None

    def decide(self, customer_id: str, facts: Mapping[str, object], channel: str,
               purpose: str, at: datetime, *, fresh: bool = True,
               dry_run: bool = False) -> cp.Decision:
        """The contact policy's answer now; ``fresh``: read the store even when the
        customer was prefetched."""
        cached = None if fresh else self._cache.get(customer_id)
        state, contacts, flying = cached if cached is not None else \
            self.store.contacts(customer_id)
        now = state or {}
        consent = {c: _flag(now.get(f"consent_{c}", facts.get(f"consent_{c}")))
                   for c in cp.CHANNELS}
        dnc = bool(now.get("do_not_contact", facts.get("do_not_contact")) or False)
        customer = cp.CustomerFacts(customer_id, _text(facts.get("status")),
                                    _text(facts.get("rung")), consent, dnc,
                                    _text(facts.get("time_zone")))
        history = policy_history(contacts)
        history += [cp.Contact(_utc(r["at"]), str(r["channel"]), str(r["purpose"]))
                    for r in flying]
        if dry_run:
            history += self._would.get(customer_id, [])
        return self.policy.check(customer, channel, purpose, at, history)

    def unsubscribe_url(self, customer_id: str, channel: str,
                        language: str | None = None) -> str | None:
        """The one-click link (None without ``public_url``); ``lang`` the page's language
        (not signed: it changes only the words shown)."""
        if not self.public_url:
            return None
        token = make_token(self.unsubscribe_key, customer_id, channel)
        url = f"{self.public_url.rstrip('/')}/unsubscribe/{token}"
        return f"{url}?{urlencode({'lang': language})}" if language else url

    def context(self, ctx: StepContext, unsubscribe: str | None,
                coupon: bool = True) -> dict[str, object]:
        """The template's values; ``coupon``: look the journey's coupon up (a read, spared
        for the templates that do not name it)."""
        f = ctx.facts
        name = _text(f.get("name"))
        attributes = f.get("attributes")
        return {
            "customer": {
                "customer_id": ctx.job.customer_id, "name": name,
                "first_name": name.split()[0] if name else None,
                "email": f.get("email"), "phone": f.get("phone"), "manager": f.get("manager"),
                "rung": f.get("rung"), "status": f.get("status"), "tier": f.get("tier"),
                "points": f.get("points"), "orders": f.get("orders"),
                "last_order_at": f.get("last_order_at"),
                "attributes": attributes if isinstance(attributes, Mapping) else {}},
            "business": {k: self.business.get(k) for k in ("name", "phone", "email", "website")},
            "manager": {"name": f.get("manager")},
            "playbook": {"name": ctx.playbook.name, "title": ctx.playbook.title},
            "unsubscribe_url": unsubscribe,
            "coupon": self._coupon(ctx.journey.journey_id) if coupon else None,
        }

    def _coupon(self, journey_id: str) -> dict[str, object] | None:
        found = self.store.journey_coupon(journey_id)
        return None if found is None else {"code": found["code"], "reward": found["reward"]}

    def interaction(self, m: Outgoing, at: datetime) -> dict[str, Any]:
        """The ``out`` interaction of a sent message (no manager: it is not a personal
        touch, so the worklist still suggests the customer to one)."""
        local = at.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        record = {"interaction_id": f"playbook-{m.message_id}", "customer_id": m.customer_id,
                  "at": local, "channel": m.channel, "direction": "out",
                  "kind": INTERACTION_KIND.get(m.purpose, "offer"), "responded_at": None,
                  "outcome": None, "manager": None}
        stored = canonical(INTERACTIONS, record, None)
        return {**stored, "row_hash": row_hash(INTERACTIONS, stored), "import_id": None}

    def _row(self, ctx: StepContext, step: Send, language: str | None, state: str,
             at: datetime, reason: str | None, detail: str | None) -> dict[str, Any]:
        return {"message_id": ctx.job.job_id, "journey_id": ctx.journey.journey_id,
                "playbook": ctx.playbook.name, "step_id": step.id,
                "customer_id": ctx.job.customer_id, "channel": step.channel,
                "purpose": step.purpose, "template": step.template,
                "language": (language or None) and language[:8], "state": state,
                "reason": reason, "detail": detail, "at": at.replace(tzinfo=None),
                "provider_id": None}


def _utc(at: datetime) -> datetime:
    """An aware UTC moment; a naive one is UTC (the playbook tables' clock)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _flag(value: object) -> bool | None:
    return None if value is None else bool(value)


__all__ = [
    "DRY_RUN",
    "FAILED",
    "NOT_SENT_REASONS",
    "RETRY",
    "SENDING",
    "SENT",
    "SKIPPED",
    "MessageStore",
    "Sender",
]

