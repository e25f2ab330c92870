"""The portfolio's result types: small frozen dataclasses with a JSON ``to_dict()``."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Self

# --------------------------------------------------------------------------------------------
# result types


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _revived(hint: Any, value: Any) -> Any:
    """``value`` (as :func:`_jsonable` wrote it) back as the type ``hint`` names."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in typing.get_args(hint) if a is not type(None)]
        return _revived(present[0], value) if len(present) == 1 else value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_revived(item, v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def _from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    hints = _hints(cls)
    return cls(**{f.name: _revived(hints[f.name], data[f.name])
                  for f in dataclasses.fields(cls) if f.name in data})


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-serialisable values (datetimes as ISO 8601 strings)."""
        result: dict[str, Any] = _jsonable(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The result :meth:`to_dict` wrote (e.g. the served map's portfolio, read back from
        its JSON): ``cls.from_dict(json.loads(text)) == result``. Keys it does not know are
        ignored; a field it lacks takes its default."""
        revived: Self = _from_dict(cls, data)
        return revived


@dataclass(frozen=True)
class Period(_Serialisable):
    """The events after ``start`` up to and including ``end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def trailing(cls, end: datetime, days: int) -> Period:
        """The ``days`` days up to and including ``end``."""
        return cls(end - timedelta(days=days), end)


@dataclass(frozen=True)
class Slice(_Serialisable):
    """One group of customers: how many, their share, their revenue and its share."""

    label: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None


@dataclass(frozen=True)
class Breakdown(_Serialisable):
    """Customers split by one label (rung or status), every known label listed, in order."""

    total: int
    total_revenue: float
    items: tuple[Slice, ...]

    def __getitem__(self, label: str) -> Slice:
        for item in self.items:
            if item.label == label:
                return item
        raise KeyError(label)


@dataclass(frozen=True)
class CrossTab(_Serialisable):
    """Counts of customers by a row label and a column label."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def count(self, row: str, column: str) -> int:
        return self.counts[self.rows.index(row)][self.columns.index(column)]

    def row_total(self, row: str) -> int:
        return sum(self.counts[self.rows.index(row)])

    @property
    def total(self) -> int:
        return sum(sum(r) for r in self.counts)


@dataclass(frozen=True)
class RevenueSplit(_Serialisable):
    """Regulars' and loyal customers' share of buyers and of revenue, and the Pareto check.

    The base is the buyers (customers with at least one order) and their revenue as recorded in
    the customer map. ``pareto_passed`` is true when loyal customers are at most
    ``pareto_customer_share`` of the buyers and bring more than ``pareto_revenue_share`` of the
    revenue (article 001: "≤ 20 % of the base, > 50 % of sales").
    """

    buyers: int
    total_revenue: float
    regulars: int
    regulars_customer_share: float | None
    regulars_revenue: float
    regulars_revenue_share: float | None
    loyal: int
    loyal_customer_share: float | None
    loyal_revenue: float
    loyal_revenue_share: float | None
    pareto_customer_share: float
    pareto_revenue_share: float
    pareto_passed: bool


@dataclass(frozen=True)
class CurvePoint(_Serialisable):
    """A point of the Pareto curve: the top ``customer_share`` bring ``revenue_share``."""

    customer_share: float
    revenue_share: float


@dataclass(frozen=True)
class Concentration(_Serialisable):
    """Dependence on single customers over a trailing window (DOMAIN §5).

    ``hhi`` is the Herfindahl–Hirschman index, the sum of squared revenue shares (0–1);
    ``hhi_points`` the same on the usual 0–10,000 scale. ``curve`` runs from (0, 0) to (1, 1)
    through customers ranked by revenue, largest first, downsampled to at most 101 points.
    """

    window: Period
    customers: int
    total_revenue: float
    largest_customer_id: str | None
    largest_share: float | None
    alert_share: float
    alert: bool
    top10_share: float | None
    hhi: float | None
    hhi_points: float | None
    curve: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class Nps(_Serialisable):
    """Net promoter score of the responses in a period (each response counts once).

    ``score`` = % promoters − % detractors, from −100 to 100; None without responses.
    """

    period: Period | None
    responses: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    score: float | None


@dataclass(frozen=True)
class Retention(_Serialisable):
    """Customer retention and churn over a period (DOMAIN §7).

    ``crr`` = (E − N) / S × 100, where S = ``active_at_start``, E = ``active_at_end`` and
    N = ``new_customers`` (first order within the period). ``churned`` are customers active at
    the start and not at the end; ``churn_rate`` = churned / S (a fraction). Both are None when
    nobody was active at the start.
    """

    period: Period
    active_at_start: int
    active_at_end: int
    new_customers: int
    churned: int
    crr: float | None
    churn_rate: float | None


@dataclass(frozen=True)
class BaseMetrics(_Serialisable):
    """Lifetime figures of the base as of the map's date (DOMAIN §7).

    ``repeat_purchase_rate`` = buyers with ≥ 2 orders / buyers; ``average_order_value`` =
    revenue / orders; ``purchase_frequency`` = orders / buyers; ``regulars_share`` = regulars /
    buyers; ``regulars_average_tenure_days`` = mean days from a regular's first order to as-of
    (their "stage").
    """

    customers: int
    buyers: int
    repeat_buyers: int
    repeat_purchase_rate: float | None
    orders: int
    revenue: float
    average_order_value: float | None
    purchase_frequency: float | None
    regulars: int
    regulars_share: float | None
    regulars_average_tenure_days: float | None


@dataclass(frozen=True)
class LadderFlow(_Serialisable):
    """How customers moved between two maps (DOMAIN §7: the "rotation" of regulars).

    Each customer's state is their rung, or ``lost`` when their status is lost (off the ladder),
    or ``absent`` when missing from that map. ``matrix`` counts customers by state in the first
    map (rows) and in the second (columns), over :data:`FLOW_STATES`.

    * ``new_entrants``: absent or a prospect before, a buyer (any rung or lost) after;
    * ``became_lost``: a buyer on the ladder before, lost after;
    * ``won_back``: lost before, back on a buyer rung after;
    * ``still_lost``: lost in both;
    * ``moved_up`` / ``moved_down`` / ``stayed``: on a buyer rung in both, compared by rung;
    * ``left_map``: in the first map, absent from the second.
    """

    matrix: CrossTab
    moved_up: int
    moved_down: int
    stayed: int
    became_lost: int
    won_back: int
    still_lost: int
    new_entrants: int
    left_map: int


@dataclass(frozen=True)
class Cohort(_Serialisable):
    """One cohort: customers whose first order fell in ``month`` (``YYYY-MM``).

    ``retention[k]`` is the share of the cohort ordering in month +k (``retention[0]`` is 1.0),
    None where month +k lies after the as-of date.
    """

    month: str
    size: int
    retention: tuple[float | None, ...]


@dataclass(frozen=True)
class CohortRetention(_Serialisable):
    """Cohort retention by month of first order, oldest cohort first."""

    months: int
    cohorts: tuple[Cohort, ...]


@dataclass(frozen=True)
class Portfolio(_Serialisable):
    """Everything the portfolio dashboard shows, as of one date."""

    as_of: datetime
    period: Period
    ladder: Breakdown
    statuses: Breakdown
    status_by_rung: CrossTab
    revenue: RevenueSplit
    concentration: Concentration
    metrics: BaseMetrics
    cohorts: CohortRetention
    retention: Retention
    nps: Nps | None = None
    flow: LadderFlow | None = None
    params: dict[str, Any] = field(default_factory=dict)


