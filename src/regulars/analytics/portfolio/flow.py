"""The ladder flow: how customers moved between two customer maps."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from regulars.analytics.portfolio._common import (
    ABSENT,
    FLOW_STATES,
    LOST,
    MAP_COLUMNS,
    RUNGS,
    _require,
    _rows,
)
from regulars.analytics.portfolio.results import (
    CrossTab,
    LadderFlow,
)

# --------------------------------------------------------------------------------------------
# ladder flow


def _flow_states(customers_map: ir.Table, name: str) -> ir.Table:
    m = customers_map
    state = ibis.cases((m.status == LOST, ibis.literal(LOST)), else_=m.rung)
    return m.select("customer_id", **{name: state})


MOVEMENTS: tuple[str, ...] = (
    "up",
    "down",
    "stayed",
    "became_lost",
    "won_back",
    "still_lost",
    "new",
    "left",
    "none",
)
"""Kinds of ladder movement, see :func:`movement`."""


def movement(from_state: str, to_state: str) -> str:
    """The kind of move between two :data:`FLOW_STATES` (one of :data:`MOVEMENTS`).

    ``none`` covers the pairs that are no move on the ladder (a prospect staying a prospect).
    """
    a, b = from_state, to_state
    if b == ABSENT:
        return "left" if a != ABSENT else "none"
    if a in (ABSENT, "prospect"):
        return "new" if b != "prospect" else "none"
    if a == LOST:
        return "still_lost" if b == LOST else "won_back"
    if b == LOST:
        return "became_lost"
    if b == "prospect":
        return "none"
    step = RUNGS.index(b) - RUNGS.index(a)
    return "up" if step > 0 else "down" if step < 0 else "stayed"


def ladder_flow(map_before: ir.Table, map_after: ir.Table) -> LadderFlow:
    """How customers moved between the map at an earlier date and the map at a later one."""
    _require(map_before, MAP_COLUMNS, "earlier customers map")
    _require(map_after, MAP_COLUMNS, "later customers map")
    before = _flow_states(map_before, "from_state")
    after = _flow_states(map_after, "to_state")
    joined = before.outer_join(after, "customer_id")
    pairs = joined.select(
        from_state=joined.from_state.fill_null(ABSENT), to_state=joined.to_state.fill_null(ABSENT)
    )
    grouped = pairs.group_by(["from_state", "to_state"]).agg(customers=pairs.count())
    counts: dict[tuple[str, str], int] = {}
    for r in _rows(grouped):
        if r["from_state"] not in FLOW_STATES or r["to_state"] not in FLOW_STATES:
            raise ValueError(f"customer map has an unknown rung: {r['from_state']}/{r['to_state']}")
        counts[(r["from_state"], r["to_state"])] = int(r["customers"])

    tally = dict.fromkeys(MOVEMENTS, 0)
    for (a, b), n in counts.items():
        tally[movement(a, b)] += n
    matrix = CrossTab(
        rows=FLOW_STATES,
        columns=FLOW_STATES,
        counts=tuple(tuple(counts.get((a, b), 0) for b in FLOW_STATES) for a in FLOW_STATES),
    )
    return LadderFlow(
        matrix=matrix,
        moved_up=tally["up"],
        moved_down=tally["down"],
        stayed=tally["stayed"],
        became_lost=tally["became_lost"],
        won_back=tally["won_back"],
        still_lost=tally["still_lost"],
        new_entrants=tally["new"],
        left_map=tally["left"],
    )


