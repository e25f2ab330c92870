"""The maturity assessments in the store, and the facts pre-filling reads (the ports
:class:`regulars.services.maturity.AssessmentStore` and ``FactsSource``), on the API store's
engines: the input tables, the served map, tasks, playbooks, the loyalty ledger and goals."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    goal_readings,
    goals,
    loyalty_club_payments,
    loyalty_members,
    loyalty_programmes,
    map_state,
    maturity_answers,
    maturity_assessments,
    playbook_journeys,
    tasks,
)
from regulars.domain.maturity import Evidence
from regulars.domain.tables import Kind
from regulars.domain.tasks import State
from regulars.services.maturity import (
    TASK_DAYS,
    WINDOW_DAYS,
    Answer,
    Assessment,
    Facts,
    GoalFact,
)

ORDERS = INPUT_TABLES[Kind.ORDERS]
CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
FEEDBACK = INPUT_TABLES[Kind.FEEDBACK]
INTERACTIONS = INPUT_TABLES[Kind.INTERACTIONS]
CONTACT_KINDS = ("greeting", "call", "event")


class SqlMaturity(PooledRows):
    """Assessments and facts on the engines of the API store ``api`` (the caller's to close);
    ``regular_min_orders``: the analysis's threshold of a regular (``[analysis]``)."""

    def __init__(self, api: SqlApiStore, regular_min_orders: int = 3) -> None:
        self.api = api
        self.url = api.url
        self.writer = api.writer
        self.reader = api.reader
        self.regular_min_orders = regular_min_orders

    # --- the assessments ---------------------------------------------------------------

    def insert(self, assessment: Assessment) -> None:
        a = assessment
        rows = [{"assessment_id": a.assessment_id, "parameter": p, "level": answer.level,
                 "suggested_level": answer.suggested_level,
                 "evidence": json.dumps([e.to_json() for e in answer.evidence],
                                        ensure_ascii=False) if answer.evidence else None}
                for p, answer in a.answers.items()]
        self._write(
            maturity_assessments.insert().values(
                assessment_id=a.assessment_id, taken_at=a.taken_at, taken_by=a.taken_by,
                language=a.language, stage=a.stage, note=a.note),
            maturity_answers.insert().values(rows))

    def _assemble(self, heads: list[dict[str, Any]]) -> list[Assessment]:
        if not heads:
            return []
        ids = [h["assessment_id"] for h in heads]
        answers: dict[str, dict[str, Answer]] = {i: {} for i in ids}
        for r in self._read(sa.select(maturity_answers).where(
                maturity_answers.c.assessment_id.in_(ids))):
            evidence = tuple(Evidence.from_json(e) for e in json.loads(r["evidence"])) \
                if r["evidence"] else ()
            answers[r["assessment_id"]][r["parameter"]] = Answer(
                int(r["level"]), r["suggested_level"], evidence)
        return [Assessment(h["assessment_id"], h["taken_at"], h["taken_by"], h["language"],
                           int(h["stage"]), answers[h["assessment_id"]], h["note"])
                for h in heads]

    def list(self, limit: int) -> list[Assessment]:
        m = maturity_assessments
        return self._assemble(self._read(sa.select(m).order_by(
            m.c.taken_at.desc(), m.c.assessment_id.desc()).limit(limit)))

    def get(self, assessment_id: str) -> Assessment | None:
        m = maturity_assessments
        found = self._assemble(self._read(sa.select(m).where(m.c.assessment_id == assessment_id)))
        return found[0] if found else None

    def before(self, assessment: Assessment) -> Assessment | None:
        m = maturity_assessments
        earlier = sa.or_(m.c.taken_at < assessment.taken_at,
                         sa.and_(m.c.taken_at == assessment.taken_at,
                                 m.c.assessment_id < assessment.assessment_id))
        found = self._assemble(self._read(sa.select(m).where(earlier).order_by(
            m.c.taken_at.desc(), m.c.assessment_id.desc()).limit(1)))
        return found[0] if found else None

    # --- the facts -----------------------------------------------------------------------

    def facts(self, today: date) -> Facts:
        with failures.translated(self.url), self.reader.connect() as conn:
            last = conn.execute(sa.select(sa.func.max(ORDERS.c.ordered_at))).scalar()
            as_of = _day(last)
            found: dict[str, Any] = {"as_of": as_of,
                                     "regular_min_orders": self.regular_min_orders}
            if as_of is not None:
                found.update(self._recent(conn, as_of))
            found.update(self._operations(conn, today))
        return Facts(**found)

    def _recent(self, conn: sa.Connection, as_of: date) -> dict[str, Any]:
        """The facts over the window to the data's last order."""
        end = datetime.combine(as_of, time.max)
        start = end - timedelta(days=WINDOW_DAYS)
        o, c, f, i = ORDERS.c, CUSTOMERS.c, FEEDBACK.c, INTERACTIONS.c
        per = (sa.select(o.customer_id, sa.func.count().label("n"),
                         sa.func.max(o.ordered_at).label("last"))
               .group_by(o.customer_id).subquery())
        active = sa.select(per.c.customer_id).where(per.c.last > start)
        regulars = active.where(per.c.n >= self.regular_min_orders)
        regs = regulars.subquery()
        with_manager = (sa.select(sa.func.count()).select_from(
            regs.join(CUSTOMERS, c.customer_id == regs.c.customer_id))
            .where(c.manager.is_not(None), sa.func.trim(c.manager) != ""))
        out: dict[str, Any] = {
            "active_customers": _count(conn, active),
            "active_regulars": _count(conn, regulars),
            "regulars_with_manager": int(conn.execute(with_manager).scalar() or 0),
        }
        in_window = sa.and_(f.at > start, f.at <= end)
        survey = sa.and_(in_window, sa.or_(f.nps.is_not(None), f.csat.is_not(None)))
        quarter = timedelta(days=WINDOW_DAYS / 4)
        quarters = [sa.select(sa.func.count()).where(
            survey, f.at > start + q * quarter, f.at <= start + (q + 1) * quarter)
            .scalar_subquery() for q in range(4)]
        row = conn.execute(sa.select(
            sa.select(sa.func.count()).select_from(FEEDBACK).scalar_subquery(),
            sa.select(sa.func.count()).where(survey).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(f.customer_id))).where(survey)
            .scalar_subquery(),
            sa.select(sa.func.count()).where(in_window, f.complaint.is_(True))
            .scalar_subquery(),
            *quarters)).one()
        feedback_complaints = int(row[3])
        out.update(feedback_rows=int(row[0]), survey_answers=int(row[1]),
                   surveyed_customers=int(row[2]),
                   survey_quarters=sum(1 for n in row[4:] if n))
        complaints_in = sa.and_(i.at > start, i.at <= end, i.kind == "complaint")
        contacts = sa.and_(i.at > start, i.at <= end, i.direction == "out",
                           i.customer_id.in_(sa.select(regs.c.customer_id)))
        row = conn.execute(sa.select(
            sa.select(sa.func.count()).where(complaints_in).scalar_subquery(),
            sa.select(sa.func.count()).where(complaints_in, i.responded_at.is_not(None))
            .scalar_subquery(),
            sa.select(sa.func.count()).where(contacts, i.kind.in_(CONTACT_KINDS))
            .scalar_subquery(),
            sa.select(sa.func.count()).where(contacts, i.kind == "event").scalar_subquery(),
        )).one()
        out.update(complaints=int(row[0]) + feedback_complaints,
                   complaints_answered=int(row[1]), contacts_to_regulars=int(row[2]),
                   events_for_regulars=int(row[3]))
        return out

    def _operations(self, conn: sa.Connection, today: date) -> dict[str, Any]:
        """The facts of the product's own use: the map, goals, tasks, playbooks, loyalty."""
        built = conn.execute(sa.select(map_state.c.built_at)).scalar()
        since = today - timedelta(days=TASK_DAYS)
        readings = (sa.select(goal_readings.c.goal_id, sa.func.count().label("n"))
                    .where(goal_readings.c.as_of > since).group_by(goal_readings.c.goal_id)
                    .subquery())
        goal_rows = conn.execute(
            sa.select(goals.c.metric, goals.c.segment, sa.func.coalesce(readings.c.n, 0))
            .select_from(goals.outerjoin(readings, readings.c.goal_id == goals.c.goal_id))
            .where(goals.c.retired_at.is_(None))).all()
        t = tasks.c
        due = sa.and_(t.due_on > since, t.due_on <= today)
        done = sa.and_(due, t.state == State.DONE.value)
        row = conn.execute(sa.select(
            sa.select(sa.func.count()).where(due).scalar_subquery(),
            sa.select(sa.func.count()).where(done).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(t.owner))).where(due).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(t.owner))).where(done).scalar_subquery(),
            sa.select(sa.func.count()).select_from(playbook_journeys).scalar_subquery(),
            sa.select(sa.func.count()).select_from(loyalty_programmes).scalar_subquery(),
            sa.select(sa.func.count()).select_from(loyalty_members).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(loyalty_club_payments.c.member_id)))
            .where(loyalty_club_payments.c.ends_at
                   > datetime.combine(today, time.min) - timedelta(days=WINDOW_DAYS))
            .scalar_subquery(),
        )).one()
        return {
            "map_built_at": built,
            "goals": tuple(GoalFact(str(g[0]), g[1], int(g[2])) for g in goal_rows),
            "tasks_due": int(row[0]), "tasks_closed": int(row[1]),
            "task_owners": int(row[2]), "owners_closing": int(row[3]),
            "playbook_journeys": int(row[4]),
            "programme": bool(row[5] or row[6]), "members": int(row[6]),
            "club": bool(row[7]), "club_members": int(row[7]),
        }


def _count(conn: sa.Connection, stmt: sa.Select[Any]) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
               or 0)


def _day(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()
