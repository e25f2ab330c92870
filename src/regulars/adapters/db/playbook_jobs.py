"""The playbooks' durable schedule in the store (the port
:class:`regulars.services.playbooks.ports.JobStore`).

Journeys and their jobs live in the tables of migration 0023. What makes it safe to run from
cron, from ``regulars serve`` and from a second server at once:

* ``enter`` inserts a journey only when its (playbook, customer, entry_key) is new — the
  dialect's ``INSERT … ON CONFLICT DO NOTHING`` on the unique constraint, so two passes that
  found the same trigger race harmlessly; a journey's first job goes in only with its journey.
* ``claim`` takes due jobs (pending, or claimed under a lease that has run out) and stamps
  them with the owner and a lease in one statement: ``UPDATE … WHERE job_id IN (SELECT … FOR
  UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL (two workers skip each other's rows instead of
  waiting), the same without the lock clause on SQLite, where the transaction begins ``BEGIN
  IMMEDIATE`` and so is the only writer.
* ``complete`` writes a job's outcome, its next job and its journey's end in one transaction,
  guarded by ``lease_owner = owner``: a worker that lost its lease (it stalled, another took
  the job over) writes nothing.

Times are stored as naive UTC (the columns have no zone) and handed back aware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from regulars.adapters.db.engine import Purpose, create_engine
from regulars.adapters.db.tables import playbook_jobs as jobs_t
from regulars.adapters.db.tables import playbook_journeys as journeys_t
from regulars.services.playbooks import ports
from regulars.services.playbooks.ports import Job, Journey, StepOutcome

# SQLite allows 32,766 bound parameters a statement; a journey row has 11, so inserts go in
# chunks well below that
_CHUNK = 500


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def _aware(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _journey(row: Any) -> Journey:
    entered = _aware(row.entered_at)
    assert entered is not None
    return Journey(journey_id=row.journey_id, playbook=row.playbook, version=row.version,
                   customer_id=row.customer_id, entry_key=row.entry_key, arm=row.arm,
                   entered_at=entered, state=row.state, ended_at=_aware(row.ended_at),
                   end_reason=row.end_reason, goal_at=_aware(row.goal_at))


def _job(row: Any) -> Job:
    due = _aware(row.due_at)
    assert due is not None
    return Job(job_id=row.job_id, journey_id=row.journey_id, playbook=row.playbook,
               customer_id=row.customer_id, step_id=row.step_id, seq=row.seq, due_at=due,
               status=row.status, attempts=row.attempts, lease_owner=row.lease_owner,
               lease_until=_aware(row.lease_until))


def _journey_row(j: Journey) -> dict[str, Any]:
    return {"journey_id": j.journey_id, "playbook": j.playbook, "version": j.version,
            "customer_id": j.customer_id, "entry_key": j.entry_key, "arm": j.arm,
            "entered_at": _naive(j.entered_at), "state": j.state,
            "ended_at": _naive(j.ended_at) if j.ended_at else None,
            "end_reason": j.end_reason, "goal_at": _naive(j.goal_at) if j.goal_at else None}


def _job_row(j: Job) -> dict[str, Any]:
    return {"job_id": j.job_id, "journey_id": j.journey_id, "playbook": j.playbook,
            "customer_id": j.customer_id, "step_id": j.step_id, "seq": j.seq,
            "due_at": _naive(j.due_at), "status": ports.PENDING, "lease_owner": None,
            "lease_until": None, "attempts": 0, "outcome": None, "detail": None,
            "done_at": None}


# the statements a run repeats, built once: the lists of ids are "expanding" parameters, so
# SQLAlchemy compiles each statement once and coerces no id one by one
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_JOURNEYS_BY_ID = sa.select(journeys_t).where(journeys_t.c.journey_id.in_(_IDS))
_HELD = sa.and_(jobs_t.c.job_id.in_(_IDS), jobs_t.c.lease_owner == sa.bindparam("owner"),
                jobs_t.c.status == ports.CLAIMED)
_RELEASE: dict[str, Any] = {"status": sa.bindparam("status"), "outcome": sa.bindparam("outcome"),
            "detail": sa.bindparam("detail"), "lease_owner": None, "lease_until": None}
_COMPLETE = {
    # done (or failed for good)
    "done": jobs_t.update().where(_HELD).values(
        **_RELEASE, done_at=sa.bindparam("at")).returning(jobs_t.c.job_id),
    # to be tried again: an error counts as an attempt
    "retry": jobs_t.update().where(_HELD).values(
        **_RELEASE, due_at=sa.bindparam("due")).returning(jobs_t.c.job_id),
    # deferred (quiet hours): not an attempt
    "defer": jobs_t.update().where(_HELD).values(
        **_RELEASE, due_at=sa.bindparam("due"),
        attempts=jobs_t.c.attempts - 1).returning(jobs_t.c.job_id),
}
_END = journeys_t.update().where(
    journeys_t.c.journey_id.in_(_IDS), journeys_t.c.state == ports.ACTIVE).values(
    state=sa.bindparam("state"), end_reason=sa.bindparam("reason"),
    ended_at=sa.bindparam("at"), goal_at=sa.bindparam("goal"))


def _run_row(completion: ports.Completion, at: datetime) -> dict[str, Any]:
    """The row of a job run at once after another one (it was never pending in the store)."""
    job, outcome, _next, _end = completion
    row = _job_row(job)
    status = job_status(outcome)
    row.update(status=status, outcome=outcome.outcome, detail=_detail(outcome), attempts=1)
    if status == ports.PENDING:
        assert outcome.retry_at is not None
        row["due_at"] = _naive(outcome.retry_at)
        if outcome.outcome != ports.ERROR:
            row["attempts"] = 0  # a deferral is not an attempt
    else:
        row["done_at"] = at
    return row


_JOB_COLUMNS = tuple(c.name for c in jobs_t.c)
_JOB_TIMES = {c.name for c in jobs_t.c if isinstance(c.type, sa.DateTime)}


def _sqlite_time(at: datetime | None) -> str | None:
    # SQLAlchemy's own SQLite storage format for DateTime (always with microseconds), so that
    # text comparisons with the rows it wrote hold
    return at.strftime("%Y-%m-%d %H:%M:%S.%f") if at is not None else None


def _same(at: datetime | None) -> datetime | None:
    return at


def job_status(outcome: StepOutcome) -> str:
    """What a job becomes with ``outcome``: pending again when it is to be retried, failed
    when the runner gave up on it, else done."""
    if outcome.retry_at is not None:
        return ports.PENDING
    if outcome.outcome == ports.ERROR:
        return ports.FAILED
    return ports.COMPLETED


class SqlJobStore:
    """The schedule on the store at ``url`` (its own pooled writer engine)."""

    def __init__(self, url: str, *, engine: sa.Engine | None = None,
                 lease_clock: Callable[[], datetime] | None = None) -> None:
        self.url = url
        # the clock leases are taken and run out on: the real one for every worker (bootstrap
        # gives it), so that a pass at a simulated moment (--at) cannot make a real worker's
        # lease look run out, nor hold a job until that moment; None: the moment each call is
        # given (``now``), which lets the store's own tests run a lease out without waiting
        self.lease_clock = lease_clock
        self._insert_sql: str | None = None
        self.engine = engine or create_engine(url, Purpose.WRITER)
        self.dialect = self.engine.dialect.name
        # SQLite: reads begin a plain BEGIN on their own engine, so they never take the one
        # write lock (the writer's transactions begin IMMEDIATE)
        self.reader = create_engine(url, Purpose.READER) if self.dialect == "sqlite" \
            else self.engine
        # what the one who opened the schedule opened with it (bootstrap: the feed, the
        # facts, the actions' stores), closed with it
        self.closers: list[Callable[[], object]] = []

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    def ensure_schema(self) -> None:
        """Bring the store's schema up to date (the playbooks' tables are migration 0023)."""
        from regulars.adapters.db.migrate import ensure_schema

        brief = create_engine(self.url)
        try:
            ensure_schema(brief, self.url)
        finally:
            brief.dispose()

    # --- entering ------------------------------------------------------------------------

    def _insert_ignoring(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        raise NotImplementedError(self.dialect)

    def enter(self, journeys: Sequence[Journey], first_jobs: Sequence[Job], *,
              admit: ports.Admit | None = None) -> list[str]:
        if not journeys:
            return []
        inserted: list[str] = []
        with self.engine.begin() as conn:
            if admit is not None:
                journeys = self._admitted(conn, journeys, admit)
            # INSERT … ON CONFLICT DO NOTHING RETURNING, many rows a statement (SQLAlchemy's
            # "insertmanyvalues"): the ids of the rows that went in; a journey already there
            # returns nothing
            stmt = self._insert_ignoring(journeys_t).returning(journeys_t.c.journey_id)
            for i in range(0, len(journeys), _CHUNK):
                chunk = [_journey_row(j) for j in journeys[i:i + _CHUNK]]
                inserted += [r[0] for r in conn.execute(stmt, chunk)]
            new = set(inserted)
            rows = [_job_row(j) for j in first_jobs if j.journey_id in new]
            for i in range(0, len(rows), _CHUNK):
                self._insert_jobs(conn, rows[i:i + _CHUNK])
        return inserted

    def _admitted(self, conn: sa.Connection, journeys: Sequence[Journey],
                  admit: ports.Admit) -> list[Journey]:
        """The journeys ``admit`` lets in against each customer's latest journey, read in the
        entering transaction itself — serialised: SQLite's writer is alone (BEGIN IMMEDIATE),
        PostgreSQL takes a transaction-scoped advisory lock per playbook — so two passes that
        enter at once cannot both pass a re-entry rule for one customer."""
        kept: list[Journey] = []
        for playbook in sorted({j.playbook for j in journeys}):
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                             {"key": f"regulars.playbook_entry:{playbook}"})
            group = [j for j in journeys if j.playbook == playbook]
            latest = self._latest(conn, playbook, [j.customer_id for j in group])
            for j in group:
                before = latest.get(j.customer_id)
                if before is not None and before.journey_id == j.journey_id:
                    continue  # this occurrence is in already
                if admit(j, before):
                    kept.append(j)
                    latest[j.customer_id] = j
        return kept

    def _insert_jobs(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Jobs in one executemany straight to the driver: a run inserts a row per step, and
        SQLAlchemy's per-row parameter processing was a tenth of a run's time. Times go in as
        SQLAlchemy itself writes them (on SQLite, text it compares and reads back)."""
        if not rows:
            return
        if self._insert_sql is None:
            mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
            self._insert_sql = (f"INSERT INTO {jobs_t.name} ({', '.join(_JOB_COLUMNS)}) "
                                f"VALUES ({', '.join([mark] * len(_JOB_COLUMNS))})")
        when = _sqlite_time if self.dialect == "sqlite" else _same
        conn.exec_driver_sql(self._insert_sql, [
            tuple(when(r[c]) if c in _JOB_TIMES else r[c] for c in _JOB_COLUMNS)
            for r in rows])

    def known_journeys(self, journey_ids: Iterable[str]) -> set[str]:
        ids = list(journey_ids)
        found: set[str] = set()
        with self.reader.connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                found |= {r[0] for r in conn.execute(sa.select(journeys_t.c.journey_id).where(
                    journeys_t.c.journey_id.in_(ids[i:i + _CHUNK])))}
            conn.rollback()
        return found

    def latest_journeys(self, playbook: str,
                        customer_ids: Iterable[str]) -> dict[str, Journey]:
        with self.reader.connect() as conn:
            latest = self._latest(conn, playbook, list(customer_ids))
            conn.rollback()
        return latest

    @staticmethod
    def _latest(conn: sa.Connection, playbook: str, ids: list[str]) -> dict[str, Journey]:
        latest: dict[str, Journey] = {}
        for i in range(0, len(ids), _CHUNK):
            rows = conn.execute(sa.select(journeys_t).where(
                journeys_t.c.playbook == playbook,
                journeys_t.c.customer_id.in_(ids[i:i + _CHUNK])))
            for row in rows:
                j = _journey(row)
                old = latest.get(j.customer_id)
                if old is None or (j.entered_at, j.journey_id) > (old.entered_at,
                                                                  old.journey_id):
                    latest[j.customer_id] = j
        return latest

    def journeys(self, journey_ids: Iterable[str]) -> dict[str, Journey]:
        ids = list(set(journey_ids))
        found: dict[str, Journey] = {}
        with self.reader.connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                for row in conn.execute(_JOURNEYS_BY_ID, {"ids": ids[i:i + _CHUNK]}):
                    found[row.journey_id] = _journey(row)
            conn.rollback()
        return found

    # --- running -------------------------------------------------------------------------

    def _held(self, now: datetime) -> datetime:
        """The moment leases are judged at (see ``lease_clock``)."""
        return _naive(self.lease_clock()) if self.lease_clock is not None else now

    def _due(self, now: datetime) -> Any:
        t = jobs_t.c
        return sa.or_(
            sa.and_(t.status == ports.PENDING, t.due_at <= now),
            sa.and_(t.status == ports.CLAIMED, t.lease_until <= self._held(now),
                    t.due_at <= now))

    def due(self, *, now: datetime, limit: int) -> list[Job]:
        """The jobs a claim at ``now`` would take, without taking them (a dry run)."""
        at = _naive(now)
        with self.reader.connect() as conn:
            rows = conn.execute(sa.select(jobs_t).where(self._due(at))
                                .order_by(jobs_t.c.due_at, jobs_t.c.job_id).limit(limit))
            found = [_job(r) for r in rows]
            conn.rollback()
        return found

    def claim(self, *, now: datetime, owner: str, limit: int,
              lease: timedelta) -> list[Job]:
        at = _naive(now)
        held = self._held(at)
        t = jobs_t.c
        # two picks, each a walk of the (status, due_at) index in due order with no sort:
        # pending jobs first, then claimed ones whose lease has run out
        picks = [
            sa.select(t.job_id).where(t.status == ports.PENDING, t.due_at <= at)
            .order_by(t.due_at),
            sa.select(t.job_id).where(t.status == ports.CLAIMED, t.due_at <= at,
                                      t.lease_until <= held).order_by(t.due_at),
        ]
        claimed: list[Job] = []
        with self.engine.begin() as conn:
            for base in picks:
                want = limit - len(claimed)
                if want <= 0:
                    break
                pick = base.limit(want)
                if self.dialect == "postgresql":
                    pick = pick.with_for_update(skip_locked=True)
                stmt = (jobs_t.update().where(t.job_id.in_(pick.scalar_subquery()))
                        .values(status=ports.CLAIMED, lease_owner=owner, lease_until=held + lease,
                                attempts=t.attempts + 1)
                        .returning(*jobs_t.c))
                claimed += [_job(r) for r in conn.execute(stmt)]
        claimed.sort(key=lambda j: (j.due_at, j.job_id))
        return claimed

    def complete(self, job: Job, *, owner: str, outcome: StepOutcome, now: datetime,
                 next_job: Job | None, end: tuple[str, str] | None) -> bool:
        return self.complete_batch([(job, outcome, next_job, end)], owner=owner, now=now)[0]

    def complete_batch(self, items: Sequence[ports.Completion], *, owner: str,
                       now: datetime,
                       chained: Mapping[str, Sequence[ports.Completion]] | None = None
                       ) -> list[bool]:
        """:meth:`complete` for many jobs in one transaction, each guarded on its own: a job
        whose lease was lost is left as it is, and so are its next job and its journey.

        Jobs that end alike (done and sent, say) are completed by one ``UPDATE … WHERE job_id
        IN (…) AND lease_owner = owner RETURNING job_id``: what it returns are the jobs still
        held, and only theirs get a next job and an end."""
        at = _naive(now)
        groups: dict[tuple[Any, ...], list[str]] = {}
        for job, outcome, _next, _end in items:
            status = job_status(outcome)
            if status == ports.PENDING:
                assert outcome.retry_at is not None
                kind = "retry" if outcome.outcome == ports.ERROR else "defer"
                due: datetime | None = _naive(outcome.retry_at)
            else:
                kind, due = "done", None
            key = (kind, status, outcome.outcome, _detail(outcome), due)
            groups.setdefault(key, []).append(job.job_id)
        held: set[str] = set()
        with self.engine.begin() as conn:
            for (kind, status, code, detail, due), ids in groups.items():
                for k in range(0, len(ids), _CHUNK):
                    params = {"ids": ids[k:k + _CHUNK], "owner": owner, "status": status,
                              "outcome": code, "detail": detail}
                    params.update({"at": at} if kind == "done" else {"due": due})
                    held.update(r[0] for r in conn.execute(_COMPLETE[kind], params))
            next_rows: list[dict[str, Any]] = []
            ends: dict[tuple[str, str, datetime | None], list[str]] = {}
            for head in items:
                if head[0].job_id not in held:
                    continue
                run = chained.get(head[0].job_id) if chained else None
                if run:
                    # the steps run under this lease go in as run; the last one carries on
                    next_rows += [_run_row(c, at) for c in run]
                    last = run[-1]
                else:
                    last = head
                job, outcome, nxt, end = last
                if nxt is not None:
                    next_rows.append(_job_row(nxt))
                if end is not None:
                    goal = _naive(outcome.goal_at) if outcome.goal_at else None
                    ends.setdefault((end[0], end[1], goal), []).append(job.journey_id)
            for k in range(0, len(next_rows), _CHUNK):
                self._insert_jobs(conn, next_rows[k:k + _CHUNK])
            for (state, reason, goal), journeys in ends.items():
                for k in range(0, len(journeys), _CHUNK):
                    conn.execute(_END, {"ids": journeys[k:k + _CHUNK], "state": state,
                                        "reason": reason, "at": at, "goal": goal})
        return [job.job_id in held for job, _o, _n, _e in items]

    # --- reading back (tests, the report) --------------------------------------------------

    def all_jobs(self, journey_id: str | None = None) -> list[dict[str, Any]]:
        stmt = sa.select(jobs_t).order_by(jobs_t.c.journey_id, jobs_t.c.seq)
        if journey_id is not None:
            stmt = stmt.where(jobs_t.c.journey_id == journey_id)
        with self.reader.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            conn.rollback()
        return rows


def _detail(outcome: StepOutcome) -> str | None:
    parts = [p for p in (outcome.reason, outcome.detail) if p]
    return ": ".join(parts) if parts else None
