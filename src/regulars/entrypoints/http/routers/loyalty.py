"""The loyalty programme: statements, tier progress, quotes, redemptions, coupons (check,
use, cancel the redemption), enrolment, manual adjustments, referral codes, the rewards
catalogue, the periodic run and the notices of points about to expire."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from regulars.domain.loyalty.errors import (
    ConsentRequiredError,
    CouponUsedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    LoyaltyError,
    OutOfStockError,
    ReferralRefusedError,
    RewardError,
    RunIncompleteError,
    RunMomentError,
    UnknownCouponError,
    UnknownMemberError,
    UnknownRedemptionError,
)
from regulars.entrypoints.http.deps import (
    Admin,
    MemberEnroller,
    PointsAdjuster,
    PointsQuoter,
    PointsReader,
    PointsRedeemer,
    Services,
)
from regulars.entrypoints.http.loyalty_schemas import (
    Adjustment,
    AdjustmentIn,
    Cancellation,
    CancellationIn,
    CouponOut,
    CouponUseIn,
    CouponUseOut,
    ExpiryNoticesIn,
    ExpiryNoticesOut,
    Membership,
    MembershipIn,
    PointsStatement,
    QuoteIn,
    QuoteOut,
    Redemption,
    RedemptionIn,
    Referral,
    RewardOut,
    RunIn,
    RunOut,
    RunRecordOut,
    TierProgress,
)
from regulars.entrypoints.http.presenters import caller, status_for
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS, IdempotencyKey
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.api import ApiServices
from regulars.services.api.loyalty import LoyaltyApi
from regulars.services.audit import written

router = APIRouter(prefix="/v1", tags=["loyalty"])
CustomerId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Code = Annotated[str, Path(min_length=1, max_length=64)]


def _programme(services: ApiServices) -> LoyaltyApi:
    if services.loyalty is None:
        raise Problem(503, _("the loyalty programme is not available on this server"))
    return services.loyalty


@contextmanager
def _answers() -> Iterator[None]:
    """The loyalty services' refusals as problem documents."""
    try:
        yield
    except UnknownMemberError as e:
        raise Problem(404, str(e), slug="not-a-member") from e
    except UnknownRedemptionError as e:
        raise Problem(404, str(e), slug="no-such-redemption") from e
    except UnknownCouponError as e:
        raise Problem(404, str(e), slug="no-such-coupon") from e
    except CouponUsedError as e:
        raise Problem(409, str(e), slug="coupon-used") from e
    except OutOfStockError as e:
        raise Problem(409, str(e), slug="out-of-stock") from e
    except InsufficientPointsError as e:
        raise Problem(409, str(e), slug="insufficient-points", errors=[
            {"field": "balance", "message": ngettext(
                "{balance} point available, {needed} needed",
                "{balance} points available, {needed} needed", e.balance).format(
                    balance=fmt_number(e.balance), needed=fmt_number(e.needed))}]) from e
    except IdempotencyConflictError as e:
        raise Problem(409, str(e), slug="idempotency-conflict") from e
    except ConsentRequiredError as e:
        raise Problem(409, str(e), slug="no-consent") from e
    except ReferralRefusedError as e:
        raise Problem(422, str(e), slug="referral-refused",
                      errors=[{"field": "referral_code", "message": e.reason}]) from e
    except RewardError as e:
        raise Problem(422, str(e), slug="rejected") from e
    except RunMomentError as e:
        raise Problem(422, str(e), errors=[{"field": e.field, "message": str(e)}]) from e
    except RunIncompleteError as e:
        raise Problem(500, str(e), slug="run-incomplete") from e
    except LoyaltyError as e:
        raise Problem(422, str(e), slug="rejected") from e


# a write sent again with the same key answers the first one, with 200 instead of 201
_REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same request again: the first answer, marked replayed."}}


def _written(done: Any, response: Response) -> dict[str, Any]:
    """A keyed write's typed result as its answer: 201, or 200 when it was replayed."""
    response.status_code = status_for(written(done.replayed))
    body: dict[str, Any] = asdict(done)
    return body

@router.get("/customers/{customer_id}/points", response_model=PointsStatement,
            responses=_PROBLEMS, summary="A member's points statement")
def points(customer_id: CustomerId, key: PointsReader, services: Services,
           history: Annotated[int, Query(ge=0, le=500,
                                         description="Ledger entries to show.")] = 20) -> Any:
    """Balance (spendable), pending (waiting for the return window), what expires soon, the
    tier and the progress to the next one, coupons not used yet, and the latest entries."""
    with _answers():
        return _programme(services).statement(customer_id, history=history)


@router.get("/customers/{customer_id}/tier", response_model=TierProgress,
            responses=_PROBLEMS, summary="A member's tier and progress to the next one")
def tier(customer_id: CustomerId, key: PointsReader, services: Services) -> Any:
    """Qualification is spend or points earned in the rolling window, never the balance."""
    with _answers():
        return _programme(services).tier(customer_id)


@router.post("/customers/{customer_id}/membership", response_model=Membership,
             status_code=201, responses={**_PROBLEMS, **_REPLAYED}, summary="Enrol a customer")
def enrol(customer_id: CustomerId, body: MembershipIn, key: MemberEnroller,
          services: Services, response: Response) -> Any:
    """Enrolment is keyed by the customer: sending the same enrolment again answers the
    first one (200); another one for a member is a 409. A friend's ``referral_code`` is
    checked now (self-referral, the referrer's cap) and rewarded when the first qualifying
    order completes."""
    with _answers():
        done = _programme(services).enrol(
            customer_id, caller=caller(key, "POST /v1/customers/{id}/membership"),
            consent=body.consent, email=body.email, phone=body.phone, birthday=body.birthday,
            referral_code=body.referral_code, payment_fingerprint=body.payment_fingerprint)
    return _written(done, response)


@router.post("/customers/{customer_id}/redemptions", response_model=Redemption,
             status_code=201, responses={**_PROBLEMS, **_REPLAYED}, summary="Redeem a reward")
def redeem(customer_id: CustomerId, body: RedemptionIn, key: PointsRedeemer,
           services: Services, response: Response,
           idempotency_key: IdempotencyKey = None) -> Any:
    """Spends the reward's points and issues its single-use coupon, in one transaction
    holding the member's lock. With an ``Idempotency-Key`` a retry answers the same coupon
    (200, ``replayed``) and spends nothing; another body under the key is a 409. A balance
    that does not cover the reward is a 409 ``insufficient-points``."""
    with _answers():
        done = _programme(services).redeem(
            customer_id, body.reward, caller=caller(key, "POST /v1/customers/{id}/redemptions"),
            idempotency_key=idempotency_key)
    return _written(done, response)


@router.get("/coupons/{code}", response_model=CouponOut, responses=_PROBLEMS,
            summary="A coupon, and whether it can be used now")
def coupon(code: Code, key: PointsReader, services: Services) -> Any:
    """What the coupon is worth, whose it is, its dates, and its ``state`` now: ``valid``,
    ``used`` (with the order), ``cancelled``, ``expired`` or ``not_yet_valid``. Codes are
    read without regard to case."""
    with _answers():
        return _programme(services).coupon(code)


@router.post("/coupons/{code}/use", response_model=CouponUseOut, status_code=201,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Use a coupon on an order")
def use_coupon(code: Code, body: CouponUseIn, key: PointsRedeemer, services: Services,
               response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Marks the coupon used on the order, atomically: once. The same order again answers
    the first use (200, ``replayed``), and so does the same ``Idempotency-Key`` (another
    order under it is a 409 ``idempotency-conflict``); another order is a 409
    ``coupon-used`` — also for a till that lost a race for the coupon; a coupon outside its
    dates or cancelled is a 422; an unknown one a 404 ``no-such-coupon``."""
    with _answers():
        done = _programme(services).use_coupon(
            code, body.order_id, caller=caller(key, "POST /v1/coupons/{code}/use"),
            idempotency_key=idempotency_key)
    return _written(done, response)


@router.post("/coupons/{code}/cancellation", response_model=Cancellation, status_code=201,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Cancel the redemption of a coupon")
def cancel_redemption(code: Code, body: CancellationIn, key: PointsRedeemer,
                      services: Services, response: Response) -> Any:
    """Undoes the redemption that issued the coupon: the coupon stops being valid and the
    points go back to the lots they came from, with those lots' expiry (points of lots that
    have expired since do not come back). A used coupon is a 409 ``coupon-used`` and nothing
    changes; an unknown one a 404. Cancelling again answers the first cancellation (200,
    ``replayed``)."""
    with _answers():
        done = _programme(services).cancel_redemption(
            code, reason=body.reason, caller=caller(key, "POST /v1/coupons/{code}/cancellation"))
    return _written(done, response)


@router.post("/customers/{customer_id}/points/adjustments", response_model=Adjustment,
             status_code=201, responses={**_PROBLEMS, **_REPLAYED},
             summary="Adjust a balance by hand")
def adjust(customer_id: CustomerId, body: AdjustmentIn, key: PointsAdjuster,
           services: Services, response: Response,
           idempotency_key: IdempotencyKey = None) -> Any:
    """A ledger entry with its reason; the actor is the API key. A deduction cannot take
    more than the spendable balance."""
    if body.points == 0:
        raise Problem(422, _("an adjustment of 0 points changes nothing"),
                      errors=[{"field": "points", "message": _("must not be 0")}])
    with _answers():
        done = _programme(services).adjust(
            customer_id, body.points, reason=body.reason,
            caller=caller(key, "POST /v1/customers/{id}/points/adjustments"),
            idempotency_key=idempotency_key)
    return _written(done, response)


@router.post("/loyalty/quote", response_model=QuoteOut, responses=_PROBLEMS,
             summary="The points an order would earn")
def quote(body: QuoteIn, key: PointsQuoter, services: Services) -> Any:
    """Nothing is written. The member's tier, club, the multipliers and the caps of the
    order's day apply; the order's own id is not needed."""
    cats = body.categories if isinstance(body.categories, list) else [
        c.strip() for c in body.categories.split(";") if c.strip()]
    with _answers():
        return _programme(services).quote(
            customer_id=body.customer_id, amount=body.amount, ordered_at=body.ordered_at,
            categories=cats, quantity=body.quantity,
            lines=[ln.model_dump() for ln in body.lines])


@router.get("/loyalty/rewards", response_model=list[RewardOut], responses=_PROBLEMS,
            summary="The rewards catalogue")
def rewards(key: PointsReader, services: Services) -> Any:
    return _programme(services).rewards()


@router.get("/referrals/{code}", response_model=Referral, responses=_PROBLEMS,
            summary="Look up a referral code")
def referral(code: Code, key: PointsReader, services: Services) -> Any:
    """Whose code it is, how many referrals it has made and has left, and whether it can be
    used now."""
    found = _programme(services).referral(code)
    if found is None:
        raise Problem(404, _("referral code {code} is not known").format(code=code))
    return found


@router.post("/loyalty/run", response_model=RunOut,
             responses=_PROBLEMS, summary="Release, expire and review tiers now")
def run(key: Admin, services: Services, body: RunIn | None = None) -> Any:
    """The programme's periodic work (as ``regulars points run``): points whose return window
    closed become spendable, due lots expire, tiers are reviewed. Idempotent; tier changes
    are sent as ``tier_changed`` webhooks.

    ``at`` later than now (beyond a few minutes of clock drift) is a 422 naming ``at``, and
    so is a moment before the latest tier review; nothing is written. Each chunk of members
    commits with a record of what it did (``run_id``); a run that stops midway answers 500
    ``run-incomplete`` saying what it committed (also in the audit log), and running it
    again at the same ``at`` finishes it. ``dry_run`` answers what the run would do, member
    by member, and writes nothing."""
    with _answers():
        return _programme(services).run(caller=caller(key, "POST /v1/loyalty/run"),
                                        at=body.at if body else None,
                                        dry_run=body.dry_run if body else False)


@router.get("/loyalty/runs/{run_id}", response_model=RunRecordOut, responses=_PROBLEMS,
            summary="What a periodic run committed, chunk by chunk")
def run_record(run_id: Annotated[str, Path(min_length=1, max_length=64)], key: Admin,
               services: Services) -> Any:
    """Each chunk of members a run committed, with what it did, as recorded in that chunk's
    own transaction: after a ``run-incomplete`` answer, exactly what was written."""
    found = _programme(services).run_record(run_id)
    if found is None:
        raise Problem(404, _("no run {id} has committed anything").format(id=run_id))
    return found


@router.post("/loyalty/expiry-notices", response_model=ExpiryNoticesOut, responses=_PROBLEMS,
             summary="Send the points_expiring webhooks due now")
def expiry_notices(key: PointsAdjuster, services: Services,
                   body: ExpiryNoticesIn | None = None) -> Any:
    """Queues one ``points_expiring`` webhook per member and expiry date of the available
    points that expire within ``within_days`` (default ``[api] points_expiring_notice_days``)
    of ``at`` (default now). A notice is sent once, ever: this run skips those sent before
    (by the server's hourly check, an earlier call, ``regulars points notify-expiring``).
    With no subscription to ``points_expiring`` nothing is sent and nothing recorded."""
    with _answers():
        return _programme(services).notify_expiring(
            caller=caller(key, "POST /v1/loyalty/expiry-notices"), at=body.at if body else None,
            within_days=body.within_days if body else None)
