"""From orders to the per-customer summary the models fit: (x, t_x, T, monetary value).

Conventions (those of Fader, Hardie & Lee's CDNOW data and of lifetimes):

- orders are grouped by **calendar day** (of the timestamp as given; time-zone-aware
  timestamps by their UTC day): several orders on one day are one purchase occasion, their
  amounts summed;
- ``frequency`` x = number of order days minus 1 (repeat purchase occasions);
- ``recency`` t_x = last order day minus first order day;
- ``T`` (age) = as-of day minus first order day;
- ``monetary_value`` = mean amount of the *repeat* order days (0 when x = 0), what the
  Gamma-Gamma model fits; ``average_order_value`` = mean over all order days;
- times are expressed in the time unit: ``"day"`` (default) or ``"week"`` (days / 7, as in the
  CDNOW tables, so weeks are fractional);
- orders on the as-of day count, whatever their time; later orders are ignored.

A calibration/holdout split summarises orders up to ``calibration_end`` and counts, for each
customer of the calibration period, the order days in (calibration_end, observation_end].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.models._base import TIME_UNITS, FloatArray, ModelError, check_time_unit

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class CustomerSummary:
    """One row per customer with at least one order on or before ``as_of``."""

    customer_id: pa.Array
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray
    average_order_value: FloatArray
    first_order_day: npt.NDArray[np.int64]
    """Days since 1970-01-01 of each customer's first order."""
    as_of: datetime
    time_unit: str = "day"

    def __len__(self) -> int:
        return int(self.frequency.shape[0])

    @property
    def unit_days(self) -> float:
        """Length of the time unit in days."""
        return TIME_UNITS[self.time_unit]

    def to_arrow(self) -> pa.Table:
        """The summary as an Arrow table (customer_id, frequency, recency, T, monetary_value,
        average_order_value, first_order_at)."""
        return pa.table({
            "customer_id": self.customer_id,
            "frequency": self.frequency,
            "recency": self.recency,
            "T": self.T,
            "monetary_value": self.monetary_value,
            "average_order_value": self.average_order_value,
            "first_order_at": pa.array(self.first_order_day.astype("datetime64[D]")),
        })


@dataclass(frozen=True)
class CalibrationHoldout:
    """A calibration summary and what its customers did in the holdout period."""

    calibration: CustomerSummary
    holdout_frequency: FloatArray
    """Order days of each calibration customer in (calibration_end, observation_end]."""
    holdout_monetary_value: FloatArray
    """Mean amount of those order days (0 without any)."""
    holdout_offsets: FloatArray
    """For every holdout order day of a calibration customer: its time after the calibration
    end, in the time unit (for cumulative curves)."""
    duration: float
    """Length of the holdout period in the time unit."""
    calibration_end: datetime
    observation_end: datetime


def _as_datetime(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _day_of(value: datetime | date) -> int:
    moment = _as_datetime(value)
    return (moment.date() - date(1970, 1, 1)).days


def _to_arrow(values: Any, name: str) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            return pa.Array.from_pandas(values)
        except (TypeError, pa.ArrowInvalid):
            values = values.to_numpy()
    try:
        return pa.array(values)
    except (TypeError, pa.ArrowInvalid) as exc:
        raise ModelError(f"The {name} column cannot be read: {exc}.") from exc


def _order_days(ordered_at: Any) -> npt.NDArray[np.int64]:
    arr = _to_arrow(ordered_at, "order time")
    if pa.types.is_date(arr.type):
        arr = arr.cast(pa.timestamp("us"))
    elif pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us", tz=arr.type.tz), safe=False)
    else:
        raise ModelError(f"The order time column must hold dates or timestamps, not {arr.type}.")
    if arr.null_count:
        raise ModelError(f"The order time column has {arr.null_count} missing value(s).")
    micros = np.asarray(arr.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.floor_divide(micros, _US_PER_DAY)


def _encode_ids(customer_id: Any) -> tuple[npt.NDArray[np.int64], pa.Array]:
    arr = _to_arrow(customer_id, "customer id")
    if arr.null_count:
        raise ModelError(f"The customer id column has {arr.null_count} missing value(s).")
    enc = pc.dictionary_encode(arr)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary


def _amounts(amount: Any, n: int) -> FloatArray:
    if amount is None:
        return np.zeros(n)
    arr = _to_arrow(amount, "amount")
    if arr.null_count:
        arr = pc.fill_null(arr, 0)
    out = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if out.shape[0] != n:
        raise ModelError("The amount column must have one value per order.")
    return out


def _orders(customer_id: Any, ordered_at: Any, amount: Any
            ) -> tuple[npt.NDArray[np.int64], pa.Array, npt.NDArray[np.int64], FloatArray]:
    """Per order: the customer's code, the order day and the amount; and the ids by code."""
    codes, ids = _encode_ids(customer_id)
    days = _order_days(ordered_at)
    if days.shape[0] != codes.shape[0]:
        raise ModelError("customer id and order time must have one value per order.")
    return codes, ids, days, _amounts(amount, codes.shape[0])


def _require_some(keep: npt.NDArray[np.bool_], moment: datetime) -> None:
    if not np.any(keep):
        raise ModelError(f"There is no order on or before {moment:%Y-%m-%d}.")


@dataclass(frozen=True)
class _Days:
    """Orders collapsed to (customer, day) occasions, sorted by customer then day."""

    cust: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    amount: FloatArray


def _occasions(codes: npt.NDArray[np.int64], days: npt.NDArray[np.int64],
               amount: FloatArray) -> _Days:
    if codes.shape[0] == 0:
        return _Days(codes, days, amount)
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    key = codes * span + (days - lo)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.empty(sk.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(amount[order], starts)
    uk = sk[starts]
    return _Days(uk // span, uk % span + lo, summed)


def _summarise(occ: _Days, ids: pa.Array, n_ids: int, as_of: datetime,
               time_unit: str) -> tuple[CustomerSummary, npt.NDArray[np.int64]]:
    """The summary of the occasions given (all on or before the as-of day)."""
    unit = TIME_UNITS[time_unit]
    as_of_day = _day_of(as_of)
    count = np.bincount(occ.cust, minlength=n_ids)
    present = np.flatnonzero(count > 0)
    first_idx = np.searchsorted(occ.cust, present, side="left")
    last_idx = np.searchsorted(occ.cust, present, side="right") - 1
    first_day = occ.day[first_idx]
    last_day = occ.day[last_idx]
    total = np.bincount(occ.cust, weights=occ.amount, minlength=n_ids)[present]
    summary = _of_totals(ids.take(pa.array(present)), count[present], first_day, last_day,
                         total, occ.amount[first_idx], as_of_day, unit, as_of, time_unit)
    return summary, present


def _of_totals(customer_id: pa.Array, n_days: Any, first_day: Any, last_day: Any,
               total: Any, first_amount: Any, as_of_day: int, unit: float,
               as_of: datetime, time_unit: str) -> CustomerSummary:
    """The summary's formulas (the module's conventions), from each customer's order days,
    first and last order day, total amount and first day's amount."""
    first = np.asarray(first_day, dtype=np.int64)
    n = np.asarray(n_days, dtype=np.float64)
    x = n - 1.0
    repeat_total = total - first_amount
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(x > 0, repeat_total / np.maximum(x, 1.0), 0.0)
    return CustomerSummary(
        customer_id=customer_id,
        frequency=x,
        recency=(np.asarray(last_day, dtype=np.int64) - first) / unit,
        T=(as_of_day - first) / unit,
        monetary_value=monetary,
        average_order_value=total / n,
        first_order_day=first,
        as_of=as_of,
        time_unit=time_unit,
    )


def summary_of_totals(totals: pa.Table, *, as_of: datetime | date,
                      time_unit: str = "day") -> CustomerSummary:
    """The summary from per-customer totals computed elsewhere (an engine:
    :func:`regulars.analytics.model_inputs.model_totals`): ``customer_id, n_days, first_day,
    last_day, total, first_amount``, one row per customer with an order by ``as_of``'s day.

    Raises :class:`ModelError` when there is no row."""
    check_time_unit(time_unit)
    moment = _as_datetime(as_of)
    if totals.num_rows == 0:
        raise ModelError(f"There is no order on or before {moment:%Y-%m-%d}.")
    totals = totals.take(pc.sort_indices(totals["customer_id"]))

    def col(name: str, dtype: Any) -> Any:
        return np.asarray(totals[name].to_numpy(zero_copy_only=False), dtype=dtype)

    return _of_totals(totals["customer_id"].combine_chunks(), col("n_days", np.int64),
                      col("first_day", np.int64), col("last_day", np.int64),
                      col("total", np.float64), col("first_amount", np.float64),
                      _day_of(moment), TIME_UNITS[time_unit], moment, time_unit)


def summarize(
    customer_id: Any,
    ordered_at: Any,
    amount: Any = None,
    *,
    as_of: datetime | date,
    time_unit: str = "day",
) -> CustomerSummary:
    """Per-customer (frequency, recency, T, monetary value) from per-order rows.

    Parameters
    ----------
    customer_id, ordered_at, amount
        One value per order: numpy arrays, lists, pandas Series or pyarrow arrays. ``amount``
        is optional (monetary values are then 0).
    as_of
        The end of the observation (calibration) period; orders after its day are ignored.
    time_unit
        ``"day"`` or ``"week"``.

    Raises
    ------
    ModelError
        Missing ids or times, columns of different lengths, or no order on or before
        ``as_of``.
    """
    check_time_unit(time_unit)
    codes, ids, days, amt = _orders(customer_id, ordered_at, amount)
    moment = _as_datetime(as_of)
    keep = days <= _day_of(moment)
    _require_some(keep, moment)
    occ = _occasions(codes[keep], days[keep], amt[keep])
    summary, _ = _summarise(occ, ids, len(ids), moment, time_unit)
    return summary


@dataclass(frozen=True)
class Occasions:
    """Orders collapsed once to sorted (customer, day) occasions, to summarise them at several
    dates: :meth:`summarize` gives what :func:`summarize` of the same orders gives, without
    encoding the ids and sorting the orders again for every date."""

    days: _Days
    ids: pa.Array

    def __len__(self) -> int:
        return int(self.days.cust.shape[0])

    def summarize(self, as_of: datetime | date, time_unit: str = "day") -> CustomerSummary:
        """The summary as of ``as_of``: the occasions on or before its day (see the module's
        conventions; a later time on that day does not leave out that day's orders)."""
        check_time_unit(time_unit)
        moment = _as_datetime(as_of)
        keep = self.days.day <= _day_of(moment)
        _require_some(keep, moment)
        d = self.days
        if not np.all(keep):
            d = _Days(d.cust[keep], d.day[keep], d.amount[keep])
        summary, _ = _summarise(d, self.ids, len(self.ids), moment, time_unit)
        return summary


def occasions(customer_id: Any, ordered_at: Any, amount: Any = None) -> Occasions:
    """Every order as (customer, day) occasions, for :meth:`Occasions.summarize` at any date
    (arguments as for :func:`summarize`)."""
    codes, ids, days, amt = _orders(customer_id, ordered_at, amount)
    return Occasions(_occasions(codes, days, amt), ids)


def calibration_holdout(
    customer_id: Any,
    ordered_at: Any,
    amount: Any = None,
    *,
    calibration_end: datetime | date,
    observation_end: datetime | date,
    time_unit: str = "day",
) -> CalibrationHoldout:
    """Summarise up to ``calibration_end``; count each of those customers' order days in
    (calibration_end, observation_end]. Customers whose first order falls in the holdout are
    left out (the models predict existing customers)."""
    check_time_unit(time_unit)
    cal = _as_datetime(calibration_end)
    obs = _as_datetime(observation_end)
    cal_day, obs_day = _day_of(cal), _day_of(obs)
    if obs_day <= cal_day:
        raise ModelError("The observation end must be at least a day after the calibration end.")
    codes, ids, days, amt = _orders(customer_id, ordered_at, amount)
    in_cal = days <= cal_day
    _require_some(in_cal, cal)
    summary, present = _summarise(_occasions(codes[in_cal], days[in_cal], amt[in_cal]), ids,
                                  len(ids), cal, time_unit)
    position = np.full(len(ids), -1, dtype=np.int64)
    position[present] = np.arange(present.shape[0])
    in_hold = (days > cal_day) & (days <= obs_day)
    in_hold[in_hold] = position[codes[in_hold]] >= 0
    hold = _occasions(codes[in_hold], days[in_hold], amt[in_hold])
    rows = position[hold.cust]
    n = present.shape[0]
    freq = np.bincount(rows, minlength=n).astype(np.float64)
    spend = np.bincount(rows, weights=hold.amount, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_spend = np.where(freq > 0, spend / np.maximum(freq, 1.0), 0.0)
    unit = TIME_UNITS[time_unit]
    return CalibrationHoldout(
        calibration=summary,
        holdout_frequency=freq,
        holdout_monetary_value=mean_spend,
        holdout_offsets=(hold.day - cal_day) / unit,
        duration=(obs_day - cal_day) / unit,
        calibration_end=cal,
        observation_end=obs,
    )
