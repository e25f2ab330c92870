"""The loyalty programme's use cases (DOMAIN §8) behind one facade; each owns one transaction.

Every write is keyed: an order by its id, a return by its id, a redemption or adjustment by
the caller's idempotency key. The key is recorded with the write's result in the same
transaction, under a UNIQUE constraint, so a retried call — even one racing the original —
returns the original result and changes nothing (odoo/odoo#222372 credited points twice when a
confirmation was retried). Writes to one member serialise on that member (see
``adapters/db/loyalty_store.py``), so two redemptions cannot both spend the same points
(saleor/saleor#544).

Where each job lives (one module per use case, all sharing :mod:`.core`):

``members``
    enrol, enrol many, referral codes, consent.
``earning``
    accrue orders (caps, budget, tiers at once, punch cards).
``returns``
    returns, and releases of pending points (first-order bonus, referrals).
``expiry``, ``tiers``, ``run``
    the periodic run's steps, and the run (and its preview) itself.
``notices``
    notices of points about to expire.
``spending``, ``coupons``
    redemptions, payments with points, their cancellation; using coupons.
``adjustments``, ``club``, ``offers``
    manual adjustments and bonuses; the paid club and stored value; exclusive offers.
``statements``
    a member's statement and the books' checks.
``programmes``
    the programme's versions edited on the web, the file's adopted again, what changed.

The pure rules these apply live in ``regulars.domain.loyalty`` (``earning``, ``release``,
``ledger``, ``tiers``, ``referrals``).
"""

from __future__ import annotations

from regulars.domain.loyalty.programme import RewardKind
from regulars.services.loyalty.adjustments import Adjustments
from regulars.services.loyalty.club import Club
from regulars.services.loyalty.coupons import Coupons
from regulars.services.loyalty.earning import Earning
from regulars.services.loyalty.members import Members
from regulars.services.loyalty.notices import Notices
from regulars.services.loyalty.offers import Offers
from regulars.services.loyalty.programmes import Programmes
from regulars.services.loyalty.run import Runs
from regulars.services.loyalty.spending import Spending
from regulars.services.loyalty.statements import Statements


class LoyaltyService(Members, Earning, Runs, Notices, Spending, Coupons, Adjustments, Club,
                     Offers, Statements, Programmes):
    """The programme's use cases over a :class:`~regulars.services.loyalty.ports.LoyaltyStore`.

    Parameters
    ----------
    store
        Where the ledger lives.
    programme
        The rules of the settings' ``[loyalty]``. It is recorded as a new version the first
        time it is seen; orders earn under the version in force when they were placed. Once
        the programme is edited on the web, the store's versions are the rules instead
        (:class:`~regulars.services.loyalty.core.LoyaltyCore`).
    clock
        Returns the current instant (timezone-aware); tests pass a fixed one.
    chunk
        Orders per transaction in :meth:`accrue_many`.
    run_chunk
        Members per transaction in the periodic run (:meth:`run`).
    normalise_email, normalise_phone
        How contacts are normalised to detect self-referrals (bootstrap passes the import's).
    """


__all__ = ["LoyaltyService", "RewardKind"]
