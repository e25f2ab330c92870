"""The loyalty programme's errors, under :class:`~regulars.domain.errors.RegularsError`.

::

    RegularsError
    └── LoyaltyError                 a loyalty operation cannot be done as asked
        ├── UnknownMemberError       no member with that id (or not enrolled)
        ├── ConsentRequiredError     the member has not opted in
        ├── InsufficientPointsError  the balance does not cover the redemption
        ├── IdempotencyConflictError a key was reused for a different request
        ├── UnknownOrderError        a return or release names an order never accrued
        ├── RewardError              unknown reward, tier too low, bad or used coupon
        │   ├── UnknownCouponError   no coupon with that code
        │   ├── OutOfStockError      the reward's stock is all redeemed
        │   └── CouponUsedError      used (on another order), so it cannot be used or undone
        ├── UnknownRedemptionError   no redemption under that key or coupon
        ├── ReferralRefusedError     self-referral, cap reached, …; carries ``reason``
        ├── CardError                a card number that is not one, or another member's
        ├── StoredValueError         top-up with the card itself, overdraft, over-refund
        ├── RunMomentError           a periodic run asked for a moment it may not run at
        ├── RunIncompleteError       a periodic run stopped midway; carries what committed
        ├── ProgrammeRuleError       an edit of the programme breaks a rule; names the field
        └── StaleProgrammeError      an edit based on a version whose part changed since

Every message is user-facing (goes through ``_()`` where it is built, in the services).
"""

from __future__ import annotations

from regulars.domain.errors import RegularsError


class LoyaltyError(RegularsError):
    """A loyalty operation cannot be done as asked."""


class UnknownMemberError(LoyaltyError):
    """No enrolled member has that id."""


class ConsentRequiredError(LoyaltyError):
    """The member has not opted in to the programme."""


class InsufficientPointsError(LoyaltyError):
    """The available balance does not cover what was asked."""

    def __init__(self, message: str, *, balance: int, needed: int) -> None:
        super().__init__(message)
        self.balance = balance
        self.needed = needed


class IdempotencyConflictError(LoyaltyError):
    """An idempotency key (or external reference) was reused for a different request."""


class UnknownOrderError(LoyaltyError):
    """The order was never accrued."""


class RewardError(LoyaltyError):
    """The reward or coupon cannot be used as asked."""


class UnknownCouponError(RewardError):
    """No coupon has that code."""


class OutOfStockError(RewardError):
    """Every item of the reward's stock has been redeemed."""


class CouponUsedError(RewardError):
    """The coupon has been used: not again on another order, and what issued it cannot be
    undone."""


class UnknownRedemptionError(LoyaltyError):
    """No redemption (or payment with points) under that key or coupon."""


class ReferralRefusedError(LoyaltyError):
    """A referral was refused; ``reason`` is a :class:`RefusalReason` value."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class CardError(LoyaltyError):
    """A loyalty card number that cannot be one, or that another member holds."""


class StoredValueError(LoyaltyError):
    """A stored-value card operation is not allowed."""


class RunMomentError(LoyaltyError):
    """A periodic run (release, expiry, tier review) was asked for a moment it may not run
    at: in the future (it would take points and tiers before their time), or before the
    latest tier review (it could undo it). Nothing was written; ``field`` names the input."""

    def __init__(self, message: str, *, field: str = "at") -> None:
        super().__init__(message)
        self.field = field


class RunIncompleteError(LoyaltyError):
    """A periodic run stopped midway. Each chunk it committed is recorded with what it did
    (``committed``: per step, ``members``, ``items`` and ``points``), nothing else was
    written, and running it again at ``as_of`` finishes it without doing anything twice."""

    def __init__(self, message: str, *, run_id: str, as_of: object, step: str,
                 committed: dict[str, dict[str, int]], cause: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.as_of = as_of
        self.step = step
        self.committed = committed
        self.cause = cause


class ProgrammeRuleError(LoyaltyError):
    """An edit of the programme breaks one of its rules; ``field`` names the form's field the
    message belongs next to (None: the edit as a whole)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StaleProgrammeError(LoyaltyError):
    """An edit made on version ``base`` while what it edits changed since, in ``version``
    (by ``author``): saving it would undo that change unseen."""

    def __init__(self, message: str, *, base: int, version: int,
                 author: str | None) -> None:
        super().__init__(message)
        self.base = base
        self.version = version
        self.author = author
