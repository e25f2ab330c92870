"""Tiers: qualify by spend or points *earned* in a rolling window — never by the balance.

Upgrades happen at once; a member keeps a tier for at least one qualification period
(``tier_window_days``) from when they reached or last requalified for it, and is moved down
only when that period and the grace period after it (``tier_grace_days``) are over and what
they qualified for is lower. (Open Loyalty computed tiers from the spendable balance, so
spending points cost customers their tier: DivanteLtd/open-loyalty#131.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty.programme import Programme, Tier, aware


def qualifying_tier(programme: Programme, value: Decimal) -> Tier:
    """The highest tier whose threshold ``value`` reaches."""
    best = programme.tiers[0]
    for tier in programme.tiers:
        if value >= tier.threshold:
            best = tier
    return best


@dataclass(frozen=True)
class TierDecision:
    """The outcome of a tier review; ``change`` is ``upgrade``, ``downgrade``, ``renew``
    (requalified: a new period) or ``keep``."""

    tier: str
    period_end: datetime
    change: str
    qualifying: Decimal

    @property
    def changed_tier(self) -> bool:
        return self.change in ("upgrade", "downgrade")


def review(
    programme: Programme,
    *,
    current: str,
    period_end: datetime | None,
    qualifying: Decimal,
    at: datetime,
) -> TierDecision:
    """Where a member in tier ``current`` with ``qualifying`` spend or points stands at ``at``."""
    at = aware(at)
    window = timedelta(days=programme.tier_window_days)
    grace = timedelta(days=programme.tier_grace_days)
    held = programme.tier(current)
    target = qualifying_tier(programme, qualifying)
    end = aware(period_end) if period_end is not None else at + window
    rank = {t.name: i for i, t in enumerate(programme.tiers)}
    if rank[target.name] > rank[held.name]:
        return TierDecision(target.name, at + window, "upgrade", qualifying)
    if rank[target.name] == rank[held.name]:
        if at >= end:
            return TierDecision(held.name, at + window, "renew", qualifying)
        return TierDecision(held.name, end, "keep", qualifying)
    if at >= end + grace:
        return TierDecision(target.name, at + window, "downgrade", qualifying)
    return TierDecision(held.name, end, "keep", qualifying)


def next_tier(programme: Programme, current: str, qualifying: Decimal) -> tuple[Tier | None,
                                                                             Decimal]:
    """The next tier above ``current`` and how much more spend or points it needs."""
    names = [t.name for t in programme.tiers]
    i = names.index(programme.tier(current).name)
    if i + 1 >= len(programme.tiers):
        return None, Decimal(0)
    nxt = programme.tiers[i + 1]
    return nxt, max(nxt.threshold - qualifying, Decimal(0))
