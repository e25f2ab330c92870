"""The right to erasure in the store: what goes and what stays of a person
(docs/http-api.md#privacy; the rules are :mod:`regulars.domain.privacy`)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.tables import (
    INPUT_TABLES,
    api_audit,
    api_idempotency,
    customer_merges,
    loyalty_accruals,
    loyalty_ledger,
    loyalty_members,
    loyalty_operations,
    loyalty_referrals,
    playbook_events,
    playbook_jobs,
    playbook_messages,
    tasks,
    webhook_deliveries,
    webhook_outbox,
)
from regulars.domain import privacy
from regulars.domain.tables import Kind

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]
RETURNS = INPUT_TABLES[Kind.RETURNS]

# personal data of a card (DOMAIN §2) and of what hangs off it; erasure clears these
_PERSONAL = ("name", "email", "phone", "birthday", "attributes", "email_norm", "phone_norm")

# text written about customers by people and programs, where a person can be named: each is
# rubbed of the erased person's name, e-mail and phone, whoever's row it is. Not other cards'
# names (a namesake keeps theirs) nor the staff's names (`manager`, `actor`).
FREE_TEXT: tuple[tuple[sa.Table, str], ...] = (
    (INPUT_TABLES[Kind.CUSTOMERS], "attributes"),
    (INPUT_TABLES[Kind.FEEDBACK], "text"),
    (INPUT_TABLES[Kind.INTERACTIONS], "outcome"),
    (INPUT_TABLES[Kind.RETURNS], "reason"),
    (customer_merges, "matched_value"),
    (api_audit, "detail"),
    (api_idempotency, "body"),
    (webhook_outbox, "payload"),
    (webhook_deliveries, "error"),
    (loyalty_ledger, "reason"),
    (loyalty_operations, "result"),
    (loyalty_referrals, "reason"),
    (tasks, "note"),
    (tasks, "evidence"),
    (playbook_events, "properties"),
    # what a channel or a step said when it refused or failed: an SMTP server's "550 no such
    # user anna@…", a gateway's error quoting the number
    (playbook_messages, "detail"),
    (playbook_jobs, "detail"),
)


def erase(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    fb, talks = INPUT_TABLES[Kind.FEEDBACK], INPUT_TABLES[Kind.INTERACTIONS]
    members, ops = loyalty_members, loyalty_operations
    merges = customer_merges
    ids = [customer_id] + [r[0] for r in conn.execute(sa.select(merges.c.alias_id).where(
        merges.c.customer_id == customer_id))]
    # who they are, as every table wrote them, before any of it goes
    cards = conn.execute(sa.select(CUSTOMERS.c.name, CUSTOMERS.c.email, CUSTOMERS.c.phone,
                                   CUSTOMERS.c.email_norm, CUSTOMERS.c.phone_norm).where(
        CUSTOMERS.c.customer_id.in_(ids))).all()
    member = conn.execute(sa.select(members.c.email_norm, members.c.phone_norm).where(
        members.c.member_id.in_(ids))).all()
    matched = conn.execute(sa.select(merges.c.reason, merges.c.matched_value).where(
        sa.or_(merges.c.customer_id.in_(ids), merges.c.alias_id.in_(ids)))).all()
    person = privacy.Person.of(
        names=[c.name for c in cards],
        emails=[c.email for c in cards] + [c.email_norm for c in cards]
        + [m.email_norm for m in member]
        + [v for r, v in matched if r == "email" and v != privacy.ERASED_TEXT],
        phones=[c.phone for c in cards] + [c.phone_norm for c in cards]
        + [m.phone_norm for m in member]
        + [v for r, v in matched if r == "phone" and v != privacy.ERASED_TEXT])
    orders = sa.select(ORDERS.c.order_id).where(ORDERS.c.customer_id.in_(ids))

    def run(stmt: sa.Executable) -> int:
        return conn.execute(stmt).rowcount or 0

    counts = {
        # the card: its content fingerprint goes too, an MD5 of the fields a guess would match
        "customers": run(CUSTOMERS.update().where(CUSTOMERS.c.customer_id.in_(ids)).values(
            **dict.fromkeys(_PERSONAL), row_hash=privacy.ERASED, stub=False)),
        # their own free text, whole: it is about them, whoever wrote it
        "feedback_texts": run(fb.update().where(fb.c.customer_id.in_(ids)).values(
            text=None, row_hash=privacy.ERASED)),
        "interaction_texts": run(talks.update().where(talks.c.customer_id.in_(ids)).values(
            outcome=None, row_hash=privacy.ERASED)),
        # the managers' notes on their tasks about them (the tasks stay, for the report)
        "task_notes": run(tasks.update().where(tasks.c.customer_id.in_(ids),
                                               tasks.c.note.is_not(None)).values(note=None)),
        # what the business sent with their playbooks' events (the events stay: the name and
        # moment start and prove playbooks, and say nothing of who they are)
        "event_properties": run(playbook_events.update().where(
            playbook_events.c.customer_id.in_(ids)).values(properties="{}")),
        "return_reasons": run(RETURNS.update().where(RETURNS.c.order_id.in_(orders)).values(
            reason=None, row_hash=privacy.ERASED)),
        "merge_keys": run(merges.update().where(sa.or_(
            merges.c.customer_id.in_(ids), merges.c.alias_id.in_(ids))).values(
            matched_value=privacy.ERASED_TEXT)),
        "loyalty_members": run(members.update().where(members.c.member_id.in_(ids)).values(
            email_norm=None, phone_norm=None, payment_fingerprint=None, birthday=None)),
        "payment_fingerprints": run(loyalty_accruals.update().where(
            loyalty_accruals.c.member_id.in_(ids),
            loyalty_accruals.c.payment_fingerprint.is_not(None)).values(
            payment_fingerprint=None)),
        # an enrolment's fingerprint is a SHA-256 of the e-mail and phone sent: guessable
        "request_fingerprints": run(ops.update().where(ops.c.member_id.in_(ids)).values(
            fingerprint=privacy.ERASED)),
    }
    counts["texts_rubbed"] = _rub(conn, person.pattern())
    return counts


def _rub(conn: sa.Connection, pattern: re.Pattern[str] | None) -> int:
    """Replace every occurrence of the person in the free text of every row (Python reads
    the columns once: phones are written in too many ways for SQL's LIKE)."""
    if pattern is None:
        return 0
    n = 0
    for table, name in FREE_TEXT:
        col = table.c[name]
        keys = list(table.primary_key.columns)
        changed: list[tuple[Any, str | None]] = []
        # streamed: an audit log of millions of rows is read, not held, and only the few rows
        # that mention the person are kept to be written afterwards
        result = conn.execute(sa.select(*keys, col).where(col.is_not(None)),
                              execution_options={"stream_results": True, "yield_per": 2000})
        for part in result.partitions():
            for row in part:
                rubbed = privacy.scrub(row[-1], pattern)
                if rubbed != row[-1]:
                    changed.append((tuple(row[:-1]), rubbed))
        for key, rubbed in changed:
            conn.execute(table.update().where(
                *[k == v for k, v in zip(keys, key, strict=True)]).values({name: rubbed}))
        n += len(changed)
    return n

