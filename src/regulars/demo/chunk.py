"""One chunk of persons: who they are, their orders, returns, invoices and contacts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from regulars.demo.archetypes import (
    _ADDON_HABIT,
    _ADDONS,
    _B2B,
    _BIG_CLIENT_SHARE,
    _CATEGORIES,
    _CHANNEL,
    _DISCOUNT_HI,
    _DISCOUNT_LO,
    _DUP_ELIGIBLE,
    _GAP_SHAPE,
    _MANAGERS,
    _MIN_ORDERS,
    _MONTH_AMOUNT,
    _N_PERSON_ARCHETYPES,
    _OCCASIONAL_THIRD,
    _P,
    _R_CAP,
    _RETURN_REASONS,
    _RHO_HI,
    _RHO_LO,
    _SHARES,
    _T0_HI,
    _T0_LO,
    _WARP,
    _WEIGHT,
    _WIDEN_HI,
    _WIDEN_LO,
    _WIDEN_STEPS,
    ADDON_DROPPER,
    B2B_SHRINKING,
    BIG_CLIENT,
    CHURNED,
    HUNTER,
    INNOVATOR,
    LOYAL,
    OCCASIONAL,
    PROBLEM,
    PROSPECT,
    WON_BACK,
)
from regulars.demo.arrays import (
    Arr,
    _Calendar,
    _order_scale,
    _seg_argmin,
    _seg_cumsum,
    _seg_median,
    _share_per,
    _starts,
    _State,
    _Widths,
)
from regulars.demo.contacts import _Interactions, inbound, offers, touches
from regulars.demo.feedback import feedback, referrals
from regulars.demo.rhythm import clear_of_the_base_rhythm
from regulars.demo.spec import DemoSpec
from regulars.demo.tables import (
    customers_table,
    feedback_table,
    interactions_table,
    invoices_table,
    orders_table,
    referrals_table,
    returns_table,
)
from regulars.demo.truth import truth_table


class _Chunk:
    # set by demo/feedback.py's steps
    fb_person: Arr
    fb_at: Arr
    fb_nps: Arr
    fb_csat: Arr
    fb_csat_null: Arr
    fb_complaint: Arr
    fb_text: Arr
    ref_from: Arr
    ref_to: Arr
    ref_at: Arr

    """Generates the tables of one chunk of persons (and, in the last chunk, the big client)."""

    def __init__(
        self,
        spec: DemoSpec,
        cal: _Calendar,
        widths: _Widths,
        state: _State,
        first_person: int,
        n_regular: int,
        with_big: bool,
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.cal = cal
        self.widths = widths
        self.state = state
        self.first_person = first_person
        self.n_regular = n_regular
        self.with_big = with_big
        self.rng = rng
        self.d = float(cal.days)

    # ---- persons and their orders ------------------------------------------------------------

    def build(self) -> dict[str, pa.Table]:
        self._persons()
        self._place_orders()
        self._amounts()
        self._order_details()
        self._returns()
        self._invoices()
        self._duplicates()
        self._interactions()
        feedback(self)
        referrals(self)
        truth = truth_table(self)
        tables = {
            "customers": customers_table(self),
            "orders": orders_table(self),
            "returns": returns_table(self),
            "invoices": invoices_table(self),
            "interactions": interactions_table(self),
            "feedback": feedback_table(self),
            "referrals": referrals_table(self),
            "truth": truth,
        }
        self._advance_state()
        return tables

    def _persons(self) -> None:
        rng = self.rng
        arch = rng.choice(_N_PERSON_ARCHETYPES, size=self.n_regular, p=_SHARES).astype(np.int64)
        if self.first_person == 0 and self.n_regular >= _N_PERSON_ARCHETYPES:
            # every archetype is present in every business big enough to hold them all
            arch[:_N_PERSON_ARCHETYPES] = np.arange(_N_PERSON_ARCHETYPES)
            arch = rng.permutation(arch)
        if self.with_big:
            arch = np.append(arch, BIG_CLIENT)
        p = arch.size
        self.arch = arch
        self.p = p
        self.b2b = np.isin(arch, _B2B)
        extra = rng.gamma(2.0, 0.5, p)
        scale = _order_scale(self.spec.orders_per_customer)
        n = _MIN_ORDERS[arch] + np.rint(scale * _WEIGHT[arch] * extra).astype(np.int64)
        n = np.where(arch == OCCASIONAL, 2 + (rng.random(p) < _OCCASIONAL_THIRD), n)
        cap = max(8, self.cal.days // 6)  # keeps the typical gap at six days or more
        n = np.minimum(n, np.maximum(_MIN_ORDERS[arch], cap))
        n = np.where(arch == BIG_CLIENT, max(2, self.cal.days // 7), n)
        self.n = n.astype(np.int64)
        self.ostart = _starts(self.n)
        self.pid = np.repeat(np.arange(p), self.n)
        self.k = np.arange(self.pid.size) - self.ostart[self.pid]
        self.last = self.ostart + self.n - 1  # valid where n > 0
        self.has = self.n > 0

    # over 60 lines, one piece: the random draws must keep their order (the same seed gives the
    # same business); the steps that draw nothing are methods of their own
    def _place_orders(self) -> None:
        """Order times in days since the start: rhythm, pattern, recency, season."""
        rng, cal, d = self.rng, self.cal, self.d
        arch, n, pid, k, p = self.arch, self.n, self.pid, self.k, self.p

        single = cal.calendar(rng.random(p) * cal.cum[-1])
        near = np.abs((d - single) - _P.lost_max_days) < 10.0  # keep clear of the lost rule
        single = np.where(near, np.maximum(single - 20.0, 0.0), single)

        churned, won = arch == CHURNED, arch == WON_BACK
        pause = np.where(won, np.minimum(rng.uniform(400.0, 500.0, p), 0.45 * d), 0.0)
        r_abs = rng.uniform(380.0, max(381.0, 0.55 * d), p)
        r_abs = np.where(churned, np.minimum(r_abs, 0.6 * d), 0.0)
        horizon = d - pause - r_abs
        t0 = horizon * rng.uniform(_T0_LO[arch], _T0_HI[arch])
        rho = rng.uniform(_RHO_LO[arch], _RHO_HI[arch])
        band = rng.integers(0, 3, p)
        occasional_rho = np.choose(
            band,
            [rng.uniform(0.2, 1.0, p), rng.uniform(1.8, 2.6, p), rng.uniform(3.6, 5.0, p)],
        )
        rho = np.where(arch == OCCASIONAL, occasional_rho, rho)
        relative = ~churned

        gaps, gp, gcount, steps = self._rhythm_gaps()

        # scale so the first order is at t0 and the recency is rho median gaps (or r_abs)
        med = _seg_median(gaps, gp, p)
        total = np.bincount(gp, weights=gaps, minlength=p)
        multi = n >= 2
        denom = total + np.where(relative, rho * np.nan_to_num(med), 0.0)
        c = np.where(multi, (horizon - t0) / np.where(multi, denom, 1.0), 0.0)
        widest = np.zeros(p)
        if gaps.size:
            np.maximum.at(widest, gp, gaps)
        # the churned stopped after gaps that were all shorter than a year
        c = np.where(churned & multi, np.minimum(c, _R_CAP / np.maximum(widest, 1e-9)), c)
        later = k >= 1
        gstart = _starts(gcount)
        gi = gstart[pid[later]] + k[later] - 1  # gap index of each later order
        cum = _seg_cumsum(gaps, gcount)
        t = np.where(n[pid] == 1, single[pid], t0[pid])
        t[later] = t0[pid[later]] + c[pid[later]] * cum[gi]
        t_last = t[self.last[self.has]]
        tl = np.zeros(p)
        tl[self.has] = t_last

        # seasonal timing of the orders between the first and the last
        warp = _WARP[arch][pid] & later & (k < n[pid] - 1)
        if warp.any():
            wp = pid[warp]
            a, b = cal.seasonal(t0[wp]), cal.seasonal(tl[wp])
            f = (t[warp] - t0[wp]) / (tl[wp] - t0[wp])
            t[warp] = cal.calendar(a + f * (b - a))

        t = self._settle_recency(t, gaps=(gp, gcount, steps), rho=rho, t0=t0, tl=tl,
                                 horizon=horizon, adjust=(relative & multi)[pid])
        # the won-back pause: every order from the comeback on moves later; the comeback is
        # the first order (from the third on) in the last 300 days before the pause ends, so
        # that it falls within the won-back window (won_back_within_days, 365) of the end
        n1 = np.maximum(n - 1, 2)
        late = won[pid] & (k >= 2) & (t > (horizon - (_P.won_back_within_days - 65.0))[pid])
        np.minimum.at(n1, pid[late], k[late])
        t = t + np.where(won[pid] & (k >= n1[pid]), pause[pid], 0.0)

        self._set_times(t)

    def _rhythm_gaps(self) -> tuple[Arr, Arr, Arr, Arr]:
        """Gaps in "rhythm units": gamma noise, geometric widening for drifting and churned;
        with each gap's person, the persons' gap counts and their widening steps."""
        rng, arch, n, p = self.rng, self.arch, self.n, self.p
        gcount = np.maximum(n - 1, 0)
        gp = np.repeat(np.arange(p), gcount)
        gj = np.arange(gp.size) - _starts(gcount)[gp]
        shape = _GAP_SHAPE[arch][gp]
        gaps = 0.05 + rng.gamma(shape, 1.0 / shape)
        steps = _WIDEN_STEPS[arch]
        ratio = rng.uniform(_WIDEN_LO[arch], _WIDEN_HI[arch])
        expo = np.maximum(0, gj - (gcount[gp] - steps[gp]) + 1)
        gaps = gaps * ratio[gp] ** expo
        return gaps, gp, gcount, steps

    def _settle_recency(self, t: Arr, *, gaps: tuple[Arr, Arr, Arr], rho: Arr,
                        t0: Arr, tl: Arr, horizon: Arr, adjust: Arr) -> Arr:
        """The order times with the exact recency and no unusually long last gap."""
        gp, gcount, steps = gaps
        pid, p = self.pid, self.p
        # exact recency in realised median gaps, compressing when it would exceed the caps
        later_idx = np.flatnonzero(self.k >= 1)
        g = t[later_idx] - t[later_idx - 1]
        med = _seg_median(g, gp, p)
        rt = rho * np.nan_to_num(med, nan=1.0)
        span = tl - t0
        widest = np.zeros(p)
        if g.size:
            np.maximum.at(widest, gp, g)
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = np.minimum(1.0, np.minimum(_R_CAP / rt, 0.98 * horizon / (rt + span)))
            # no gap longer than the lost rule, except the won-back pause added below
            c2 = np.minimum(c2, np.where(widest > 0, _R_CAP / widest, 1.0))
        ap = pid[adjust]
        t[adjust] = horizon[ap] - c2[ap] * rt[ap] - c2[ap] * (tl[ap] - t[adjust])

        # nobody but the widening archetypes ends on an unusually long gap (a margin below the
        # rule's widening_gap_factor)
        g = t[later_idx] - t[later_idx - 1]
        med = _seg_median(g, gp, p)
        last_gap = _starts(gcount) + gcount - 1
        smallest = _seg_argmin(g, gp, p)
        fix = (steps == 0) & (gcount >= 3)
        fix[fix] = g[last_gap[fix]] > (_P.widening_gap_factor - 0.1) * med[fix]
        if fix.any():
            lg, sg = last_gap[fix], smallest[fix]
            g[lg], g[sg] = g[sg].copy(), g[lg].copy()
            t[later_idx] = t[self.ostart[pid[later_idx]]] + _seg_cumsum(g, gcount)

        return t

    def _set_times(self, t: Arr) -> None:
        """Clear of the base rhythm, within business hours; each person's first and last."""
        cal, d, p = self.cal, self.d, self.p
        t = clear_of_the_base_rhythm(self, np.clip(t, 0.0, d - 1e-6))
        self.t = cal.business_hours(np.clip(t, 0.0, d - 1e-6))
        self.first_t = np.zeros(p)
        self.first_t[self.has] = self.t[self.ostart[self.has]]
        self.last_t = np.zeros(p)
        self.last_t[self.has] = self.t[self.last[self.has]]

    def _amounts(self) -> None:
        """Net order amounts with the shrinking tail, cleaned of accidental signals."""
        rng, arch, pid, k, n, p = self.rng, self.arch, self.pid, self.k, self.n, self.p
        b2b = self.b2b
        base_mean = np.where(b2b, 450.0, 45.0)
        base_mean = np.where(arch == LOYAL, 110.0, base_mean)
        base_mean = np.where(arch == HUNTER, 35.0, base_mean)
        base_mean = np.where(arch == BIG_CLIENT, 5000.0, base_mean)
        base = base_mean * rng.lognormal(0.0, np.where(arch == BIG_CLIENT, 0.1, 0.6), p)
        sigma = np.where(b2b, 0.15, 0.3)
        sigma = np.where(arch == BIG_CLIENT, 0.08, sigma)
        amount = base[pid] * rng.lognormal(0.0, sigma[pid])
        seasonal = ~b2b[pid]
        amount[seasonal] *= _MONTH_AMOUNT[self.cal.month_of(self.t[seasonal])]

        # b2b_shrinking: each of the last 3-4 orders 15-30 % smaller than the one before
        shrinking = arch == B2B_SHRINKING
        tail = np.where(shrinking, _P.shrinking_orders_window + (rng.random(p) < 0.5), 0)
        in_tail = shrinking[pid] & (k >= n[pid] - tail[pid])
        logf = np.where(in_tail, np.log(rng.uniform(0.70, 0.85, pid.size)), 0.0)
        anchor = self.ostart + n - tail - 1
        amount[in_tail] = amount[anchor[pid[in_tail]]] * np.exp(_seg_cumsum(logf, n)[in_tail])

        # everyone else: the last three neither fall steadily nor sink below 75 % of before
        # (the rule's shrinking_orders_ratio, 0.7, with a margin)
        last_n = _P.shrinking_orders_window
        others = ~shrinking & (n >= last_n + 1)
        recent = k >= n[pid] - last_n
        sum_recent = np.bincount(pid[recent], weights=amount[recent], minlength=p)
        sum_before = np.bincount(pid[~recent], weights=amount[~recent], minlength=p)
        avg_recent = sum_recent / float(last_n)
        avg_before = sum_before / np.maximum(n - last_n, 1)
        low = others & (avg_recent < (_P.shrinking_orders_ratio + 0.05) * avg_before)
        lift = np.where(low, 0.8 * avg_before / np.where(low, avg_recent, 1.0), 1.0)
        amount = amount * np.where(recent, lift[pid], 1.0)
        three = ~shrinking & (n >= 3)
        i1, i2, i3 = self.last - 2, self.last - 1, self.last
        idx = np.flatnonzero(three)
        falling = (amount[i1[idx]] > amount[i2[idx]]) & (amount[i2[idx]] > amount[i3[idx]])
        sw = idx[falling]
        amount[i2[sw]], amount[i3[sw]] = amount[i3[sw]].copy(), amount[i2[sw]].copy()

        # the big client makes _BIG_CLIENT_SHARE of the trailing-year revenue
        if self.with_big:
            big = pid == p - 1
            window = self.t > self.d - _P.concentration_window_days
            others_rev = self.state.trailing_revenue + float(
                np.round(amount[window & ~big], 2).sum()
            )
            own = float(amount[window & big].sum())
            if others_rev > 0 and own > 0:
                target = others_rev * _BIG_CLIENT_SHARE / (1.0 - _BIG_CLIENT_SHARE)
                amount[big] *= target / own
        self.amount = np.maximum(np.round(amount, 2), 0.01)
        window = self.t > self.d - _P.concentration_window_days
        if self.with_big:
            window &= pid != p - 1
        self.chunk_trailing = float(self.amount[window].sum())

    # over 60 lines, one piece: discounts, channels, categories, new products and add-ons drawn
    # one after another from one random stream, whose order the same seed depends on
    def _order_details(self) -> None:
        rng, arch, pid, k, n, p = self.rng, self.arch, self.pid, self.k, self.n, self.p
        m = pid.size
        b2b = self.b2b
        # discounts: each person takes a promotion in a share of their orders of their own
        p_disc = rng.uniform(_DISCOUNT_LO[arch], _DISCOUNT_HI[arch])
        disc = rng.random(m) < p_disc[pid]
        disc |= (arch[pid] == HUNTER) & (k % 2 == 0)
        depth = np.where(arch == HUNTER, rng.uniform(0.15, 0.35, p), rng.uniform(0.05, 0.2, p))
        self.discount = np.where(
            disc, np.round(self.amount * depth[pid] / (1.0 - depth[pid]), 2), 0.0
        )
        gross = self.amount + self.discount
        cost_ratio = rng.uniform(0.5, 0.7, p)[pid] * rng.lognormal(0.0, 0.05, m)
        self.cost = np.round(gross * cost_ratio, 2)
        unit = np.where(b2b, 15.0, 20.0) * rng.lognormal(0.0, 0.5, p)
        if self.with_big:
            unit[p - 1] *= gross[pid == p - 1].mean() / 500.0
        qty = np.rint(gross / unit[pid] * rng.lognormal(0.0, 0.2, m))
        self.quantity = np.maximum(qty, 1).astype(np.int64)

        # channel
        pref = np.where(b2b, rng.choice([2, 3, 0], p=[0.4, 0.4, 0.2], size=p), 0)
        pref = np.where(b2b, pref, rng.choice([0, 1, 2], p=[0.55, 0.4, 0.05], size=p))
        other = rng.integers(0, 3, m)
        self.channel = np.where(rng.random(m) < 0.85, pref[pid], other)

        # categories: a repertoire of `breadth` neighbouring categories per person
        breadth = rng.choice([1, 2, 3, 4, 5, 6], p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1], size=p)
        breadth = np.where(b2b, rng.integers(1, 4, p), breadth)
        offset = np.where(b2b, len(_CATEGORIES) - 1, rng.integers(0, len(_CATEGORIES), p))
        c1 = (offset[pid] + rng.integers(0, breadth[pid])) % len(_CATEGORIES)
        c2 = (offset[pid] + rng.integers(0, breadth[pid])) % len(_CATEGORIES)
        c2 = np.where(rng.random(m) < 0.3, c2, c1)
        self.cat_code = np.minimum(c1, c2) * len(_CATEGORIES) + np.maximum(c1, c2)
        self.cat_mask = (1 << c1) | (1 << c2)

        # new products
        p_new = np.where(arch == INNOVATOR, 0.6, 0.03)
        p_new = np.where(arch == BIG_CLIENT, 0.0, p_new)
        has_new = rng.random(m) < p_new[pid]
        self.new_products = np.where(has_new, 1 + rng.poisson(0.4, m), 0).astype(np.int64)

        # add-on services: a habitual one per person, used never, sometimes or mostly
        habit = np.where(b2b, 0, rng.integers(0, len(_ADDONS), p))
        u = rng.random(p)
        level = (u[:, None] > np.cumsum(_ADDON_HABIT[arch], axis=1)[:, :2]).sum(axis=1)
        p_use = np.array([0.0, 0.15, 0.85])[level]
        dropper = arch == ADDON_DROPPER
        p_use = np.where(dropper, 0.95, p_use)
        used = rng.random(m) < p_use[pid]
        drop_tail = np.maximum(3, n // 4)
        tail = k >= n[pid] - drop_tail[pid]
        used = np.where(dropper[pid], ~tail & (used | (k == 0)), used)
        # anyone else who used it in half their earlier orders kept using it to the end
        before_last = k <= n[pid] - 2
        before_three = k <= n[pid] - 4
        share_a = _share_per(pid, used & before_last, np.maximum(n - 1, 0))
        share_b = _share_per(pid, used & before_three, np.maximum(n - 3, 0))
        usual = _P.addon_min_usage_share
        keep = ~dropper & (n >= 2) & ((share_a >= usual) | (share_b >= usual))
        used = used | (keep[pid] & (k >= n[pid] - 2))
        self.addon = np.where(used, habit[pid], -1)

    def _returns(self) -> None:
        rng, pid, m = self.rng, self.pid, self.pid.size
        p_ret = np.where(self.arch == PROBLEM, 0.25, 0.02)
        p_ret = np.where(self.b2b, 0.0, p_ret)
        ret = rng.random(m) < p_ret[pid]
        at = self.t + rng.uniform(1.0, 30.0, m)
        ret &= at < self.d - 0.01
        idx = np.flatnonzero(ret)
        full = rng.random(idx.size) < 0.6
        frac = np.where(full, 1.0, rng.uniform(0.2, 0.9, idx.size))
        self.ret_order = idx
        self.ret_at = self.cal.business_hours(at[idx])
        self.ret_amount = np.minimum(
            np.floor(self.amount[idx] * frac * 100.0) / 100.0, self.amount[idx]
        )
        self.ret_amount = np.maximum(self.ret_amount, 0.01)
        self.ret_reason = rng.integers(0, len(_RETURN_REASONS), idx.size)

    def _invoices(self) -> None:
        """One invoice per b2b order; delays grow for b2b_shrinking, never for the others."""
        rng, arch, p = self.rng, self.arch, self.p
        idx = np.flatnonzero(self.b2b[self.pid])
        ip = self.pid[idx]
        term = np.where(rng.random(p) < 0.5, 14.0, 30.0)
        term = np.where(arch == BIG_CLIENT, 30.0, term)
        due = self.t[idx] + term[ip]
        is_due = due < self.d
        counts = np.bincount(ip, minlength=p)
        pos = np.arange(idx.size) - _starts(counts)[ip]
        q = np.bincount(ip[is_due], minlength=p)  # invoices due by the end, per person
        usual = rng.integers(-5, 1, p)
        delay = (usual[ip] - rng.integers(0, 3, idx.size)).astype(np.float64)
        # others: the last three due delays never strictly increase
        normal = ~(arch == B2B_SHRINKING) & (q >= 3)
        first = _starts(counts)
        j1, j2, j3 = first + q - 3, first + q - 2, first + q - 1
        who = np.flatnonzero(normal)
        rising = (delay[j1[who]] < delay[j2[who]]) & (delay[j2[who]] < delay[j3[who]])
        delay[j3[who[rising]]] = delay[j1[who[rising]]]
        # b2b_shrinking: the last four due invoices paid later and later, half now overdue
        shrinking = arch[ip] == B2B_SHRINKING
        back = q[ip] - 1 - pos  # 0 for the last invoice due
        lows = np.array([26.0, 15.0, 7.0, 1.0])
        highs = np.array([35.0, 20.0, 11.0, 4.0])
        slow = shrinking & (back >= 0) & (back < 4)
        b = back[slow]
        delay[slow] = rng.uniform(lows[b], highs[b])
        delay[slow] = np.round(delay[slow])
        paid = due + delay
        unpaid_now = (arch == B2B_SHRINKING) & (rng.random(p) < 0.5)
        unpaid = (paid >= self.d) | ~is_due  # nobody pays ahead of an invoice due after the end
        unpaid |= shrinking & (back == 0) & unpaid_now[ip]
        self.inv_order = idx
        self.inv_due = due
        self.inv_paid = np.where(unpaid, np.nan, paid)

    def _duplicates(self) -> None:
        """A few regular-type persons get a second card holding one or two early orders."""
        rng, p = self.rng, self.p
        eligible = np.isin(self.arch, _DUP_ELIGIBLE) & (self.n >= 6)
        dup = eligible & (rng.random(p) < 0.02)
        if self.first_person == 0 and not dup.any() and eligible.any():
            dup[np.flatnonzero(eligible)[0]] = True
        self.dup_person = np.flatnonzero(dup)
        self.dup_by_email = rng.random(self.dup_person.size) < 0.5
        self.dup_variant = rng.integers(0, 2, self.dup_person.size)
        two = rng.random(p) < 0.5
        moved = dup[self.pid] & ((self.k == 1) | ((self.k == 2) & two[self.pid]))
        # card of every order: -1 is the person's own card, else the duplicate's index
        dup_index = np.full(p, -1, dtype=np.int64)
        dup_index[self.dup_person] = np.arange(self.dup_person.size)
        self.order_card = np.where(moved, dup_index[self.pid], -1)
        self.dup_first = self.t[self.ostart[self.dup_person] + 1]

    # ---- contacts ----------------------------------------------------------------------------

    def _contacts(self) -> None:
        rng, arch, p, b2b = self.rng, self.arch, self.p, self.b2b
        # known from a whole number of days before the first order, at the same time of day
        lead = np.minimum(rng.integers(0, 31, p), np.floor(self.first_t))
        prospect_day = self.cal.business_hours(rng.uniform(0.0, self.d - 1.0, p))
        self.created = np.where(self.has, self.first_t - lead, prospect_day)
        dnc = (rng.random(p) < 0.03) & ~b2b & (arch != LOYAL)
        self.consent_email = ((rng.random(p) < 0.8) | b2b | (arch == PROSPECT)) & ~dnc
        self.consent_sms = (rng.random(p) < 0.5) & ~dnc
        self.consent_messenger = (rng.random(p) < 0.3) & ~dnc
        self.consent_phone = ((rng.random(p) < 0.4) | b2b) & ~dnc
        self.dnc = dnc
        manager = rng.integers(0, len(_MANAGERS), p)
        has_manager = b2b | ((arch == LOYAL) & (rng.random(p) < 0.4)) | (rng.random(p) < 0.05)
        self.manager = np.where(has_manager, manager, -1)

    def _interactions(self) -> None:
        self._contacts()
        box = _Interactions()
        marketing = ~self.dnc & (self.consent_email | self.consent_sms | self.consent_messenger)
        channel = np.where(
            self.consent_email,
            _CHANNEL["email"],
            np.where(self.consent_sms, _CHANNEL["sms"], _CHANNEL["messenger"]),
        )
        self.unresponsive = offers(self, box, marketing, channel)
        touches(self, box, marketing, channel)
        inbound(self, box)

        cal, d = self.cal, self.d
        person = np.concatenate(box.person)
        at_all = np.concatenate(box.at)
        order = np.argsort(person * (d + 10.0) + at_all, kind="stable")
        self.ia_person = person[order]
        self.ia_at = cal.business_hours(at_all[order])
        resp_all = np.concatenate(box.responded)[order]
        self.ia_resp = np.where(
            np.isnan(resp_all), np.nan, cal.business_hours(np.nan_to_num(resp_all))
        )
        self.ia_resp = np.where(self.ia_resp < self.ia_at, self.ia_at, self.ia_resp)
        self.ia_channel = np.concatenate(box.channel)[order]
        self.ia_direction = np.concatenate(box.direction)[order]
        self.ia_kind = np.concatenate(box.kind)[order]
        self.ia_outcome = np.concatenate(box.outcome)[order]
        self.ia_manager = np.concatenate(box.manager)[order]

    def _advance_state(self) -> None:
        s = self.state
        s.orders += self.pid.size
        s.returns += self.ret_order.size
        s.invoices += self.inv_order.size
        s.interactions += self.ia_person.size
        s.feedback += self.fb_person.size
        s.referrals += self.ref_from.size
        s.duplicates += self.dup_person.size
        s.trailing_revenue += self.chunk_trailing

