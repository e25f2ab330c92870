"""Exclusive offers: coupons for the members a rule (or a recorded draw) selects."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty.codes import draw
from regulars.domain.loyalty.errors import RewardError
from regulars.domain.loyalty.programme import OfferKind, aware
from regulars.i18n import _
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import LoyaltyTx
from regulars.services.loyalty.results import DrawResult


class Offers(LoyaltyCore):
    """Exclusive offers and their recorded draws.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def run_offer(self, name: str, *, run_key: str | None = None, seed: int | None = None,
                  at: datetime | None = None) -> DrawResult:
        """Issue an exclusive offer's coupons to the members its rule selects (DOMAIN §8).

        ``run_key`` (default: the local date) makes a run idempotent: running it again
        returns the first run. A draw records its seed, the number and a digest of the
        eligible members, and the winners.
        """
        offer = self.programme.offer(name)
        if offer is None:
            raise RewardError(_("no offer {name} in the programme").format(name=name))
        if not offer.active:
            raise RewardError(_("offer {name} is no longer run").format(name=name))
        reward = self.programme.reward(offer.reward)
        if reward is None:
            raise RewardError(_("offer {name} names reward {r}, which is not in the "
                                "catalogue").format(name=name, r=offer.reward))
        when = aware(at) if at is not None else self.now()
        run_key = run_key or self.programme.local(when).date().isoformat()

        def work(tx: LoyaltyTx, now: datetime) -> DrawResult:
            members = {m.member_id: m for m in tx.all_members() if m.consent}
            if offer.kind is OfferKind.SPENT_OVER:
                spend = tx.spend_since(when - timedelta(days=offer.window_days))
                eligible = [m for m in members if spend.get(m, Decimal(0)) > offer.min_spend]
            elif offer.kind is OfferKind.TENURE:
                cutoff = when - timedelta(days=offer.min_tenure_days)
                eligible = [m for m, x in members.items() if aware(x.enrolled_at) <= cutoff]
            else:
                tier = self.programme.tier(offer.tier).name
                eligible = [m for m, x in members.items()
                            if self.programme.tier(x.tier).name == tier]
            used_seed = digest = None
            chosen = sorted(eligible)
            if offer.kind is OfferKind.DRAW:
                used_seed = seed if seed is not None else secrets.randbits(62)
                d = draw(eligible, offer.winners, used_seed)
                chosen, digest = list(d.winners), d.eligible_digest
                tx.add_draw(f"{name}:{run_key}", name, when, used_seed, d.eligible, digest,
                            d.winners)
            coupons = [self._coupon(m, reward.code, reward.kind.value, reward.value,
                                    reward.percent, when, reward.valid_days,
                                    f"offer:{name}:{run_key}:{m}") for m in chosen]
            tx.add_coupons(coupons)
            return DrawResult(name, run_key, len(eligible), tuple(chosen),
                              tuple(c.code for c in coupons), used_seed, digest)

        return self._once(f"offer:{name}:{run_key}", "offer", {"seed": seed}, DrawResult, work)
