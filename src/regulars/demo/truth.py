"""The ground truth: who each customer *is*, by the rules of the customer map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from regulars.demo.archetypes import (
    _KIND,
    _P,
    ADDON_DROPPER,
    ARCHETYPES,
    B2B_SHRINKING,
    CHURNED,
    DRIFTING,
    DUPLICATE,
    TRUTH_FLAGS,
)
from regulars.demo.arrays import (
    _any_per,
    _ids,
    _null_where,
    _seg_median,
    _share_per,
    _starts,
    _strings,
)
from regulars.demo.spec import SCHEMAS
from regulars.demo.tables import _POPCOUNT, card_ids, person_number

if TYPE_CHECKING:
    from regulars.demo.chunk import _Chunk



# over 60 lines, one piece: the truth's columns one after another, each a DOMAIN rule computed
# straight from the simulated orders (the answer the map must find)
def truth_table(c: _Chunk) -> pa.Table:
    arch, pid, k, n, p, d, t = c.arch, c.pid, c.k, c.n, c.p, c.d, c.t
    later = np.flatnonzero(k >= 1)
    gap = t[later] - t[later - 1]
    gp = pid[later]
    med = _seg_median(gap, gp, p)
    last_t = np.zeros(p)
    last_t[c.has] = t[c.last[c.has]]
    recency = d - last_t
    # DOMAIN §4 with MapParams' defaults: the own median gap from two gaps on, else the
    # base's median over every gap of every customer
    own = n >= _P.min_gaps_for_own_rhythm + 1
    base_med = float(np.median(gap)) if gap.size else np.nan
    typical = np.where(own, med, base_med)
    comeback = np.zeros(p)  # the longest gap ended within the won-back window
    recent = t[later] > d - _P.won_back_within_days
    if recent.any():
        np.maximum.at(comeback, gp[recent], gap[recent])
    lost_after = np.minimum(_P.lost_gap_factor * typical, _P.lost_max_days)
    with np.errstate(invalid="ignore"):
        lost = c.has & (
            (recency > _P.lost_max_days) | (recency > _P.lost_gap_factor * typical)
        )
        lapsing = c.has & ~lost & (recency > _P.lapsing_gap_factor * typical)
        was_lost = c.has & (comeback > lost_after) & (comeback >= _P.won_back_min_gap_days)
    since = d - _P.complaints_window_days
    complaints = (
        _any_per(c.pid[c.ret_order], c.ret_at > since, p)
        | _any_per(
            c.ia_person, (c.ia_kind == _KIND["complaint"]) & (c.ia_at > since), p
        )
        | _any_per(c.fb_person, c.fb_complaint & (c.fb_at > since), p)
    )
    # latest and previous NPS (feedback rows are in time order per person)
    fcount = np.bincount(c.fb_person, minlength=p)
    fstart = _starts(fcount)
    latest = np.full(p, -1)
    prev = np.full(p, -1)
    one = fcount >= 1
    latest[one] = c.fb_nps[fstart[one] + fcount[one] - 1]
    two = fcount >= 2
    prev[two] = c.fb_nps[fstart[two] + fcount[two] - 2]
    detractor = one & (
        (latest <= _P.detractor_max_nps) | (two & (prev - latest >= _P.detractor_nps_drop))
    )
    promoter = one & (latest >= _P.promoter_min_nps)
    cats = np.zeros(p, dtype=np.int64)
    if pid.size:
        np.bitwise_or.at(cats, pid, c.cat_mask)
    n_cats = _POPCOUNT[cats]
    flags = {
        "is_lost": lost,
        "is_lapsing": lapsing,
        "won_back": was_lost & ~lost & ~lapsing,
        "widening_gaps": np.isin(arch, (DRIFTING, CHURNED)),
        "shrinking_orders": arch == B2B_SHRINKING,
        "slower_payments": arch == B2B_SHRINKING,
        "dropped_addons": arch == ADDON_DROPPER,
        "complaints_returns": complaints,
        "unresponsive": c.unresponsive,
        "detractor": detractor,
        "promoter": promoter,
        "referrer": np.bincount(c.ref_from, minlength=p) > 0,
        "discount_driven": (
            _share_per(pid, c.discount > 0, n) > _P.discount_driven_min_share
        ),
        "innovator": _share_per(pid, c.new_products > 0, n) >= _P.innovator_min_share,
        "focused": (n >= _P.regular_min_orders) & (n_cats <= _P.focused_max_categories),
        "diverse": n_cats >= _P.diverse_min_categories,
    }
    dp = c.dup_person
    cards = np.concatenate([np.arange(p), dp])
    archetype = np.concatenate([arch, np.full(dp.size, DUPLICATE)])
    dup_of = np.concatenate([np.full(p, -1), person_number(c, dp)])
    columns: dict[str, Any] = {
        "customer_id": card_ids(c),
        "archetype": _strings(ARCHETYPES, archetype),
        "segment": _strings(("b2c", "b2b"), c.b2b[cards].astype(np.int64)),
        "duplicate_of": _null_where(
            _ids("C", np.maximum(dup_of, 0), c.widths.customer), dup_of < 0
        ),
    }
    for name in TRUTH_FLAGS:
        columns[name] = pa.array(flags[name][cards], pa.bool_())
    return pa.table(columns, schema=SCHEMAS["truth"])

