"""The contact policy for tasks added by hand (issue 18, DOMAIN §9): the same
:meth:`regulars.domain.contact_policy.ContactPolicy.check` the worklist runs, on the same facts.

A hand-made task is added whatever the policy says (the manager decided); the policy's refusal
becomes a warning in the answer: ``held back: 2 contacts in the last 365 days for a former
customer``. What it reads, in the task's transaction:

- the customer's card: consent per channel, the do-not-contact flag, a ``time_zone=…`` tag;
- the customer's status and rung in the served map (``map_customers``): a cap for former
  customers needs the status. Before the first map is served the status is not known; when
  the contacts would reach such a cap, the warning says that it could not be checked;
- every outgoing interaction of the customer: imported ones, and the done tasks, which are
  written there. A naive ``at`` is the business's wall clock, as in the worklist.

Do-not-contact and a recorded "no" for the channel have their own warnings
(:meth:`regulars.services.tasks.Tasks.add`); the policy is asked as if neither held, so that it
says what else holds the contact back (the caps, consent not recorded for a marketing contact).
Quiet hours do not hold a task back: it is for a day, not a moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.i18n import _, fmt_days, ngettext
from regulars.services.tasks import PolicyCheck, TaskTx
from regulars.services.worklist import (
    CHANNEL_WORDS,
    MARKETING_KINDS,
    decision_text,
    time_zone_tag,
)


def history(rows: list[dict[str, Any]]) -> list[cp.Contact]:
    """Outgoing interactions (``at, channel, kind``) as the policy counts them."""
    out = []
    for r in rows:
        at = r.get("at")
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if not isinstance(at, datetime):
            continue
        raw = str(r.get("channel") or "").strip().lower()
        channel = CHANNEL_WORDS.get(raw, raw)
        purpose = "marketing" if r.get("kind") in MARKETING_KINDS else "transactional"
        out.append(cp.Contact(at, channel, purpose))
    return out


def policy_check(policy: cp.ContactPolicy) -> PolicyCheck:
    """The check :class:`regulars.services.tasks.Tasks` runs on a task added by hand."""

    def check(tx: TaskTx, facts: Mapping[str, Any], channel: str, action: str,
              at: datetime) -> list[str]:
        cid = str(facts["customer_id"])
        if channel not in cp.CHANNELS:
            return []
        standing = tx.standing(cid) or {}
        # a "no" and do-not-contact are warned of already: the policy says what else holds
        consent = {c: (True if facts.get(f"consent_{c}") is False else
                       facts.get(f"consent_{c}")) for c in cp.CHANNELS}
        customer = cp.CustomerFacts(cid, standing.get("status"), standing.get("rung"), consent,
                                    False, time_zone_tag(standing.get("attributes")))
        purpose = wl.ACTION_PURPOSE.get(action, "marketing")
        contacts = history(tx.contact_history(cid))
        decision = policy.check(customer, channel, purpose, at, contacts)
        if not decision.allowed and not decision.quiet_only:
            return [decision_text(decision, customer)]
        if standing.get("mapped"):
            return []
        return _unjudged(policy, customer, channel, purpose, at, contacts)

    return check


def _unjudged(policy: cp.ContactPolicy, customer: cp.CustomerFacts, channel: str,
              purpose: str, at: datetime, contacts: list[cp.Contact]) -> list[str]:
    """Without the customer's status: the caps for a status the contacts would reach, which
    could not be checked."""
    out = []
    for rule in policy.caps:
        if rule.who == cp.ALL or not rule.covers(channel, purpose):
            continue
        probe = cp.ContactPolicy(caps=(cp.CapRule(cp.ALL, rule.channels, rule.purpose,
                                                  rule.max, rule.days),),
                                 quiet_hours=None, quiet_days=frozenset(), zone=policy.zone)
        d = probe.check(customer, channel, purpose, at, contacts)
        if d.allowed:
            continue
        who = _("former customers") if rule.who == cp.FORMER else rule.who
        out.append(ngettext(
            "{n} contact in the last {days}, and the cap for {who} is {max}: not checked, the "
            "customer's status is not known until the customer map is built",
            "{n} contacts in the last {days}, and the cap for {who} is {max}: not checked, "
            "the customer's status is not known until the customer map is built",
            int(d.params["count"])).format(n=d.params["count"], days=fmt_days(rule.days),
                                           who=who, max=rule.max))
    return out


__all__ = ["history", "policy_check"]
