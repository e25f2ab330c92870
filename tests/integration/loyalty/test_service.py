"""The loyalty services end to end on SQLite and PostgreSQL: the scenarios of
``tests/support/loyalty_service.py``, and the offers' draw, which reads its table with SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from regulars.domain.loyalty import (
    Offer,
    OfferKind,
)

from ...support.loyalty import T0, order
from ...support.loyalty_service import *  # noqa: F403 (the scenarios, collected here)
from ...support.loyalty_service import IMMEDIATE


def test_exclusive_offers_and_a_recorded_seeded_draw(make_service, clock, store):
    offers = (Offer("big-spenders", OfferKind.SPENT_OVER, "r100", min_spend=Decimal(500)),
              Offer("old-friends", OfferKind.TENURE, "r100", min_tenure_days=365),
              Offer("silver-draw", OfferKind.DRAW, "gift", tier="silver", winners=2))
    service = make_service(offers=offers, **IMMEDIATE)
    service.enrol("OLD")
    for i in range(5):
        service.enrol(f"S{i}")
        service.accrue(order(f"O{i}", f"S{i}", 600))
    clock.advance(days=400)
    spent = service.run_offer("big-spenders", run_key="2027-q1")
    assert spent.issued == ()  # the window is the last 365 days
    clock.at = T0 + timedelta(days=1)
    spent = service.run_offer("big-spenders", run_key="2026-03")
    assert spent.issued == tuple(f"S{i}" for i in range(5))
    assert service.run_offer("big-spenders", run_key="2026-03").replayed
    clock.advance(days=400)
    assert len(service.run_offer("old-friends").issued) == 6
    d1 = service.run_offer("silver-draw", run_key="d1", seed=7)
    assert d1.eligible == 5 and len(d1.issued) == 2 and d1.seed == 7
    with store.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT seed, eligible, winners FROM loyalty_draws")).one()
    assert (row.seed, row.eligible) == (7, 5) and sorted(d1.issued) == sorted(eval(row.winners))
    d2 = make_service(offers=offers, **IMMEDIATE).run_offer("silver-draw", run_key="d2", seed=7)
    assert d2.issued == d1.issued  # same seed, same eligible members: same winners


