"""Feedback and referrals of one chunk of persons (drawn after their orders and contacts,
from the chunk's random stream, in this order)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regulars.demo.archetypes import (
    _ANSWER_P,
    _NPS_BY_ARCHETYPE,
    _NPS_CDF,
    _P,
    BIG_CLIENT,
    LOYAL,
    PROBLEM,
    REGULAR,
)
from regulars.demo.arrays import _starts

if TYPE_CHECKING:
    from regulars.demo.chunk import _Chunk


def feedback(self: _Chunk) -> None:
    """Answers to the NPS and satisfaction questions, the last one telling for a problem
    customer; about 40 % with a comment."""
    rng, arch, n, p, d = self.rng, self.arch, self.n, self.p, self.d
    answers = (self.has & (rng.random(p) < _ANSWER_P[arch])).astype(np.int64)
    answers = np.minimum(n, answers * (1 + rng.binomial(2, 0.4, p)))
    fp = np.repeat(np.arange(p), answers)
    fj = np.arange(fp.size) - _starts(answers)[fp]
    order_k = np.floor((fj + rng.random(fp.size)) * n[fp] / answers[fp]).astype(np.int64)
    at = self.t[self.ostart[fp] + order_k] + rng.uniform(0.5, 5.0, fp.size)
    # answers in the order they were given, all before the end
    key = np.maximum.accumulate(fp * (d + 10.0) + at) - fp * (d + 10.0) + fj * 1e-3
    at = np.minimum(key, d - 0.01 - (answers[fp] - 1 - fj) * 1e-3)
    is_last = fj == answers[fp] - 1
    dist = _NPS_BY_ARCHETYPE[arch[fp], is_last.astype(np.int64)]
    nps = (rng.random(fp.size)[:, None] > _NPS_CDF[dist][:, :10]).sum(axis=1)
    csat = np.clip(1 + np.rint(nps * 0.4 + rng.normal(0.0, 0.5, fp.size)), 1, 5)
    complaint = ((arch[fp] == PROBLEM) & is_last) | ((nps <= 3) & (rng.random(fp.size) < 0.3))
    text = np.where(
        nps >= _P.promoter_min_nps,
        rng.integers(0, 2, fp.size),
        np.where(
            nps >= _P.passive_min_nps,
            2 + rng.integers(0, 2, fp.size),
            4 + rng.integers(0, 3, fp.size),
        ),
    )
    self.fb_person = fp
    self.fb_at = self.cal.business_hours(at)
    self.fb_nps = nps.astype(np.int64)
    self.fb_csat = csat.astype(np.int64)
    self.fb_csat_null = rng.random(fp.size) < 0.2
    self.fb_complaint = complaint
    self.fb_text = np.where(rng.random(fp.size) < 0.4, text, -1)

def referrals(self: _Chunk) -> None:
    """Advocates (and a few regulars) bring customers whose first order comes later."""
    rng, arch, p = self.rng, self.arch, self.p
    first_t = np.full(p, np.inf)
    first_t[self.has] = self.t[self.ostart[self.has]]
    slots = np.where(arch == LOYAL, rng.integers(1, 4, p), 0)
    slots = np.where((arch == REGULAR) & (rng.random(p) < 0.03), 1, slots)
    slots = np.where(self.has, slots, 0)
    rp = np.repeat(np.arange(p), slots)
    candidate = self.has & (arch != BIG_CLIENT)
    cands = np.flatnonzero(candidate)
    cands = cands[np.argsort(first_t[cands], kind="stable")]
    cfirst = first_t[cands]
    lo = np.searchsorted(cfirst, first_t[rp] + 14.0, side="right")
    ok = lo < cands.size
    rp, lo = rp[ok], lo[ok]
    pick = lo + np.floor(rng.random(rp.size) * (cands.size - lo)).astype(np.int64)
    referee = cands[pick]
    _, keep = np.unique(referee, return_index=True)  # one referrer per referee
    keep = np.sort(keep)
    rp, referee = rp[keep], referee[keep]
    at = first_t[referee] - rng.uniform(1.0, 20.0, rp.size)
    at = np.maximum(at, (first_t[rp] + first_t[referee]) / 2.0)
    order = np.lexsort((at, rp))
    self.ref_from = rp[order]
    self.ref_to = referee[order]
    self.ref_at = self.cal.business_hours(at[order])
