"""What playbooks' actions write and read in the store (issue 20): ``playbook_messages``
(the port :class:`regulars.services.playbooks.sending.MessageStore`), ``customer_tags``, and
the unsubscribe (consent off and the ``in`` interaction that records it), on the API store's
engines so that a sent message and its ``out`` interaction commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.api_tx import is_unique_violation
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    customer_tags,
    loyalty_coupons,
    playbook_jobs,
    playbook_messages,
)
from regulars.domain.tables import Kind
from regulars.services.api.ports import DuplicateError

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
INTERACTIONS = INPUT_TABLES[Kind.INTERACTIONS]
_STATE = ("consent_email", "consent_sms", "consent_messenger", "consent_phone",
          "do_not_contact")
_CHUNK = 500  # ids in one IN (…): well under SQLite's bound on parameters
_IN_FLIGHT = sa.or_(playbook_messages.c.state == "sending",
                    sa.and_(playbook_messages.c.state == "failed",
                            playbook_messages.c.reason.in_(("unknown_after_crash",
                                                            "unknown_after_error"))))


class SqlMessageStore(PooledRows):
    def __init__(self, api: SqlApiStore) -> None:
        self.api = api
        self.url = api.url
        self.writer = api.writer
        self.reader = api.reader
        self.dialect = api.dialect

    # -- playbook_messages ---------------------------------------------------------------------

    def message(self, message_id: str) -> dict[str, Any] | None:
        # the writer: the row a moment ago written must be seen (a replica may lag)
        with self.writer.connect() as conn:
            row = conn.execute(sa.select(playbook_messages).where(
                playbook_messages.c.message_id == message_id)).mappings().first()
        return dict(row) if row is not None else None

    def messages(self, **where: object) -> list[dict[str, Any]]:
        """Rows matching ``column=value`` (for reports and tests), by ``at``."""
        stmt = sa.select(playbook_messages).order_by(playbook_messages.c.at)
        for k, v in where.items():
            stmt = stmt.where(playbook_messages.c[k] == v)
        return self._read(stmt)

    def record(self, row: Mapping[str, Any]) -> bool:
        if self._insert(row):
            return True
        m = playbook_messages.c
        values = {k: v for k, v in row.items() if k != "message_id"}
        # only a row that certainly did not send may be written over
        return self._write(playbook_messages.update().where(
            m.message_id == row["message_id"], m.state == "retry").values(**values)) == 1

    def claim_send(self, row: Mapping[str, Any]) -> bool:
        return self.record(row)

    def _insert(self, row: Mapping[str, Any]) -> bool:
        try:
            self._write(playbook_messages.insert().values(**row))
        except (sa.exc.IntegrityError, DuplicateError) as e:
            if isinstance(e, DuplicateError) or is_unique_violation(e):
                return False
            raise
        return True

    def finish(self, message_id: str, values: Mapping[str, Any],
               interaction: Mapping[str, Any] | None = None, *,
               only_state: str | None = None) -> None:
        m = playbook_messages.c
        stmt = playbook_messages.update().where(m.message_id == message_id)
        if only_state is not None:
            stmt = stmt.where(m.state == only_state)
        with self.api.begin() as tx:
            tx.conn.execute(stmt.values(**values))
            if interaction is not None:
                tx.insert("interactions", [interaction])
                tx.touch_customers([str(interaction["customer_id"])])
            tx.commit()

    # -- what the sender reads of a customer -----------------------------------------------------

    def contacts(self, customer_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]],
                                                  list[dict[str, Any]]]:
        """:meth:`contact_state`, :meth:`contact_history` and :meth:`in_flight` on one
        connection (one check-out of the pool instead of three: the sender asks them for
        every message)."""
        i, m = INTERACTIONS.c, playbook_messages.c
        with failures.translated(self.url), self.reader.connect() as conn:
            state = conn.execute(sa.select(*[CUSTOMERS.c[n] for n in _STATE]).where(
                CUSTOMERS.c.customer_id == customer_id)).mappings().first()
            history = conn.execute(sa.select(i.at, i.channel, i.kind).where(
                i.customer_id == customer_id, i.direction == "out")).mappings().all()
            flying = conn.execute(sa.select(m.at, m.channel, m.purpose).where(
                m.customer_id == customer_id, _IN_FLIGHT)).mappings().all()
        return (None if state is None else dict(state), [dict(r) for r in history],
                [dict(r) for r in flying])

    def contacts_of(self, customer_ids: Sequence[str]) -> dict[str, tuple[
            dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]]:
        i, m = INTERACTIONS.c, playbook_messages.c
        found: dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]],
                               list[dict[str, Any]]]] = {
            cid: (None, [], []) for cid in customer_ids}
        with failures.translated(self.url), self.reader.connect() as conn:
            for start in range(0, len(customer_ids), _CHUNK):
                part = list(customer_ids[start:start + _CHUNK])
                for r in conn.execute(sa.select(CUSTOMERS.c.customer_id, *[
                        CUSTOMERS.c[n] for n in _STATE]).where(
                        CUSTOMERS.c.customer_id.in_(part))).mappings():
                    row = dict(r)
                    found[row.pop("customer_id")] = (row, [], [])
                for r in conn.execute(sa.select(i.customer_id, i.at, i.channel, i.kind).where(
                        i.customer_id.in_(part), i.direction == "out")).mappings():
                    found[r["customer_id"]][1].append(
                        {"at": r["at"], "channel": r["channel"], "kind": r["kind"]})
                for r in conn.execute(sa.select(m.customer_id, m.at, m.channel, m.purpose)
                                      .where(m.customer_id.in_(part), _IN_FLIGHT)).mappings():
                    found[r["customer_id"]][2].append(
                        {"at": r["at"], "channel": r["channel"], "purpose": r["purpose"]})
        return found

    def contact_state(self, customer_id: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(*[CUSTOMERS.c[n] for n in _STATE]).where(
            CUSTOMERS.c.customer_id == customer_id))
        return rows[0] if rows else None

    def contact_history(self, customer_id: str) -> list[dict[str, Any]]:
        i = INTERACTIONS.c
        return self._read(sa.select(i.at, i.channel, i.kind).where(
            i.customer_id == customer_id, i.direction == "out"))

    def in_flight(self, customer_id: str) -> list[dict[str, Any]]:
        m = playbook_messages.c
        return self._read(sa.select(m.at, m.channel, m.purpose).where(
            m.customer_id == customer_id, _IN_FLIGHT))

    def journey_coupon(self, journey_id: str) -> dict[str, Any] | None:
        """The latest coupon an ``issue_coupon`` step of the journey gave (the loyalty
        engine keeps it under ``gift:playbook:<job>``): ``code, reward, valid_until``."""
        c, j = loyalty_coupons.c, playbook_jobs.c
        rows = self._read(sa.select(c.code, c.reward, c.valid_until).select_from(
            loyalty_coupons.join(playbook_jobs,
                                 c.source_ref == sa.literal("gift:playbook:") + j.job_id))
            .where(j.journey_id == journey_id).order_by(c.issued_at.desc()).limit(1))
        return rows[0] if rows else None

    # -- tags ----------------------------------------------------------------------------------

    def tag(self, customer_id: str, tag: str, *, remove: bool, source: str,
            at: datetime) -> bool:
        """Add or remove a tag; whether anything changed."""
        t = customer_tags.c
        if remove:
            return self._write(customer_tags.delete().where(
                t.customer_id == customer_id, t.tag == tag)) > 0
        try:
            self._write(customer_tags.insert().values(customer_id=customer_id, tag=tag,
                                                      added_at=at, source=source))
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                return False
            raise
        return True

    def tags(self, customer_id: str) -> list[str]:
        t = customer_tags.c
        return [r["tag"] for r in self._read(sa.select(t.tag).where(
            t.customer_id == customer_id).order_by(t.tag))]

    # -- unsubscribe ---------------------------------------------------------------------------

    def unsubscribe(self, customer_id: str, channel: str,
                    interaction: Mapping[str, Any]) -> bool | None:
        """Set ``consent_<channel>`` false and record ``interaction``, one transaction; None:
        no such customer; False: it was false already (nothing written — a second click)."""
        column = f"consent_{channel}"
        with self.api.begin() as tx:
            now = tx.conn.execute(sa.select(CUSTOMERS.c[column]).where(
                CUSTOMERS.c.customer_id == customer_id)).first()
            if now is None:
                return None
            if now[0] is False:
                return False
            tx.update_customer(customer_id, {column: False})
            tx.insert("interactions", [interaction])
            tx.touch_customers([customer_id])
            tx.commit()
        return True
