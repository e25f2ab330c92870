"""Interactions: the box they are collected in, and the touches and inbound contacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from regulars.demo.archetypes import (
    _B2B,
    _CHANNEL,
    _IN,
    _KIND,
    _OUT,
    _OUTCOME,
    _P,
    _UNRESPONSIVE_P,
    CHURNED,
    DRIFTING,
    LOYAL,
    PROBLEM,
)
from regulars.demo.arrays import Arr, _starts

if TYPE_CHECKING:
    from regulars.demo.chunk import _Chunk



# --------------------------------------------------------------------------------------------
# one chunk of persons


@dataclass
class _Interactions:
    person: list[Arr] = field(default_factory=list)
    at: list[Arr] = field(default_factory=list)
    channel: list[Arr] = field(default_factory=list)
    direction: list[Arr] = field(default_factory=list)
    kind: list[Arr] = field(default_factory=list)
    responded: list[Arr] = field(default_factory=list)
    outcome: list[Arr] = field(default_factory=list)
    manager: list[Arr] = field(default_factory=list)

    def add(
        self,
        person: Arr,
        at: Arr,
        channel: Arr | int,
        direction: int,
        kind: int,
        responded: Arr | None = None,
        outcome: Arr | int = -1,
        manager: Arr | int = -1,
    ) -> None:
        m = person.size
        self.person.append(person.astype(np.int64))
        self.at.append(at)
        self.channel.append(np.broadcast_to(channel, m).astype(np.int64))
        self.direction.append(np.full(m, direction, dtype=np.int64))
        self.kind.append(np.full(m, kind, dtype=np.int64))
        self.responded.append(np.full(m, np.nan) if responded is None else responded)
        self.outcome.append(np.broadcast_to(outcome, m).astype(np.int64))
        self.manager.append(np.broadcast_to(manager, m).astype(np.int64))




def touches(c: _Chunk, box: _Interactions, marketing: Arr, channel: Arr) -> None:
    """Greetings, reminders, the manager's calls and event invitations."""
    rng, arch, p, d, cal = c.rng, c.arch, c.p, c.d, c.cal
    years = range(c.spec.start.year, c.spec.end.year + 1)
    # season's greetings to customers, every year on 20 December
    for year in years:
        day = cal.day_of(date(year, 12, 20))
        if 0 <= day < d:
            who = np.flatnonzero(marketing & c.has & (c.created < day))
            box.add(who, np.full(who.size, float(day)), channel[who], _OUT, _KIND["greeting"])

    # reminders to the drifting (some click) and the churned (nobody does)
    last_t = c.last_t
    for share, who_mask in (
        (0.5, (arch == DRIFTING) | (arch == CHURNED)),
        (0.8, arch == CHURNED),
    ):
        who = np.flatnonzero(who_mask & marketing & c.has)
        at = last_t[who] + share * (d - last_t[who])
        click = (arch[who] == DRIFTING) & (rng.random(who.size) < 0.3)
        resp = np.where(
            click, np.minimum(at + rng.uniform(0.1, 5.0, who.size), d - 0.01), np.nan
        )
        outcome = np.where(click, _OUTCOME["clicked"], -1)
        box.add(who, at, channel[who], _OUT, _KIND["reminder"], resp, outcome)

    # quarterly calls from the manager to companies
    first_t = np.where(c.has, c.first_t, d)
    calls = np.where(
        c.b2b & (first_t + 40.0 < d), np.floor((d - first_t - 40.0) / 91.0) + 1, 0
    ).astype(np.int64)
    cp = np.repeat(np.arange(p), calls)
    cj = np.arange(cp.size) - _starts(calls)[cp]
    at = first_t[cp] + 30.0 + 91.0 * cj + rng.uniform(0.0, 10.0, cp.size)
    talked = rng.random(cp.size) < 0.8
    resp = np.where(talked, at + 0.01, np.nan)
    outcome = np.where(talked, _OUTCOME["talked"], _OUTCOME["no_answer"])
    box.add(cp, at, _CHANNEL["phone"], _OUT, _KIND["call"], resp, outcome, c.manager[cp])

    # yearly event invitations to advocates and companies
    for year in years:
        day = cal.day_of(date(year, 10, 10))
        if 0 <= day < d:
            invited = np.isin(arch, (LOYAL, *_B2B)) & ~c.dnc & (c.created < day)
            who = np.flatnonzero(invited & (rng.random(p) < 0.6))
            replied = rng.random(who.size) < 0.7
            resp = np.where(replied, day + rng.uniform(1.0, 5.0, who.size), np.nan)
            attends = rng.random(who.size) < 0.6
            outcome = np.where(
                replied, np.where(attends, _OUTCOME["attended"], _OUTCOME["declined"]), -1
            )
            at = np.full(who.size, float(day))
            resp = np.minimum(resp, d - 0.01)
            box.add(
                who, at, _CHANNEL["email"], _OUT, _KIND["event"], resp, outcome,
                c.manager[who],
            )  # fmt: skip


def inbound(c: _Chunk, box: _Interactions) -> None:
    """Complaints (the problem customers: one within the complaints window) and support
    questions."""
    rng, arch, d = c.rng, c.arch, c.d
    first_t = np.where(c.has, c.first_t, d)
    problem = np.flatnonzero((arch == PROBLEM) & c.has)
    # within the complaints window, ten days clear of its edge
    recent = np.maximum(
        d - rng.uniform(3.0, _P.complaints_window_days - 10.0, problem.size),
        first_t[problem] + 0.5,
    )
    extra = rng.random(c.pid.size) < np.where(arch[c.pid] == PROBLEM, 0.15, 0.004)
    eo = np.flatnonzero(extra)
    who = np.concatenate([problem, c.pid[eo]])
    at = np.concatenate([recent, c.t[eo] + rng.uniform(1.0, 10.0, eo.size)])
    ok = at < d - 0.01
    who, at = who[ok], at[ok]
    handled = at + rng.uniform(0.05, 3.0, at.size)
    resp = np.where(handled < d, handled, np.nan)
    settled = rng.choice([_OUTCOME[o] for o in ("resolved", "refund", "replacement")], at.size)
    outcome = np.where(handled < d, settled, _OUTCOME["open"])
    channel = rng.choice([_CHANNEL["phone"], _CHANNEL["email"]], size=at.size)
    box.add(who, at, channel, _IN, _KIND["complaint"], resp, outcome, c.manager[who])

    # support questions after some orders
    so = np.flatnonzero(rng.random(c.pid.size) < 0.03)
    at = c.t[so] + rng.uniform(0.5, 10.0, so.size)
    ok = at < d - 0.01
    so, at = so[ok], at[ok]
    answered_at = at + rng.uniform(0.02, 2.0, so.size)
    resp = np.where(answered_at < d, answered_at, np.nan)
    outcome = np.where(answered_at < d, _OUTCOME["answered"], _OUTCOME["open"])
    channel = rng.choice([_CHANNEL[c] for c in ("email", "phone", "messenger")], size=so.size)
    box.add(c.pid[so], at, channel, _IN, _KIND["support"], resp, outcome)


def offers(c: _Chunk, box: _Interactions, marketing: Arr, channel: Arr) -> Arr:
    """Offers every 2-4 months; the unresponsive never answer, the others answer the last.

    Returns who is unresponsive."""
    rng, p, d = c.rng, c.p, c.d
    s0 = c.created + rng.uniform(5.0, 40.0, p)
    step = rng.uniform(60.0, 120.0, p)
    count = np.where(marketing & (s0 < d - 20.0), np.floor((d - 20.0 - s0) / step) + 1, 0)
    count = count.astype(np.int64)
    op = np.repeat(np.arange(p), count)
    oj = np.arange(op.size) - _starts(count)[op]
    at = s0[op] + oj * step[op] + rng.uniform(0.0, 5.0, op.size)
    unresponsive: Arr = (rng.random(p) < _UNRESPONSIVE_P[c.arch]) & (
        count >= _P.unresponsive_offers
    )
    p_resp = rng.uniform(0.2, 0.7, p)
    answered = (rng.random(op.size) < p_resp[op]) | (oj == count[op] - 1)
    answered &= ~unresponsive[op]
    responded = np.where(answered, at + rng.uniform(0.05, 9.0, op.size), np.nan)
    accepted = rng.random(op.size) < 0.6
    outcome = np.where(
        answered, np.where(accepted, _OUTCOME["accepted"], _OUTCOME["declined"]), -1
    )
    box.add(op, at, channel[op], _OUT, _KIND["offer"], responded, outcome)
    return unresponsive
