"""Three of the four public bugs of other loyalty engines, as regression tests on every store
(``tests/integration/loyalty/test_public_bugs.py`` adds the fourth, a race, and the other
races, on the real databases).

* odoo/odoo PR 222372 — a retried confirmation credited the points twice;
* odoo/odoo PR 257854 — a refund let the customer keep the points;
* DivanteLtd/open-loyalty#131 — the tier was computed from the spendable balance.
"""

from __future__ import annotations

from decimal import Decimal

from regulars.domain.loyalty import Release, TierBasis

from .loyalty import T0, order


def test_odoo_222372_retried_confirmation_credits_once(service):
    """The same order confirmed again (a retry, even as part of a batch) earns once and
    returns the first result."""
    service.enrol("M")
    first = service.accrue(order("O1", "M", "80.00"))
    again = service.accrue(order("O1", "M", "80.00"))
    batch = service.accrue_many([order("O1", "M", "80.00"), order("O1", "M", "80.00")])

    assert first.points == 80 and not first.replayed
    assert again.replayed and again.points == first.points
    assert again.expires_at == first.expires_at
    assert all(r.replayed for r in batch)
    statement = service.statement("M", history=100)
    assert statement.pending == 80
    assert [line.ref for line in statement.history].count("order:O1") == 1
    assert service.verify() == []


def test_odoo_257854_refund_takes_points_back(make_service, clock):
    """A refund takes back the points of the refunded part, before and after they became
    spendable, and a full refund takes back exactly what the order earned."""
    service = make_service(release=Release.IMMEDIATELY)
    service.enrol("M", consent=True)
    bonus = service.statement("M").balance
    service.accrue(order("O1", "M", "200.00"))
    service.accrue(order("O2", "M", "50.00"))
    assert service.statement("M").balance == bonus + 250

    half = service.record_return("R1", "O1", Decimal("100.00"))
    assert half.points_reversed == 100
    rest = service.record_return("R2", "O1", Decimal("150.00"))  # more than is left
    assert rest.points_reversed == 100
    assert service.statement("M").balance == bonus + 50

    pending = make_service()  # default: pending until the return window closes
    pending.accrue(order("O3", "M", "40.00"))
    assert pending.record_return("R3", "O3", Decimal("40.00")).from_pending == 40
    clock.advance(days=30)
    pending.release_due()
    assert pending.statement("M").balance == bonus + 50
    assert pending.verify() == []


def test_open_loyalty_131_tier_uses_points_earned_not_balance(make_service, clock):
    """Spending every point does not cost the member the tier they qualified for."""
    for basis in ("spend", "points_earned"):
        service = make_service(tier_basis=TierBasis(basis), release=Release.IMMEDIATELY,
                               bonus_sign_up=0)
        member = f"M-{basis}"
        service.enrol(member)
        service.accrue(order(f"{basis}-O1", member, "600.00"))
        assert service.statement(member).tier == "silver"
        service.spend(member, service.statement(member).balance, key=f"{basis}-all")
        statement = service.statement(member)
        assert statement.balance == 0
        assert statement.tier == "silver"
        assert statement.qualifying == Decimal(600)
        clock.advance(days=30)
        service.review_tiers()
        assert service.statement(member).tier == "silver"
        clock.at = T0


