"""Predictions for the customer map (issue 4): fit the customer-base models on the orders up to
the as-of date and give every customer P(alive), expected orders, the next order date, CLV and
value at risk.

The model is ``analysis.prediction_model`` (Pareto/NBD by default, MBG/NBD when it cannot be
fitted; see :mod:`regulars.analytics.models` for why not BG/NBD). Order value comes from a
Gamma-Gamma spend model when one can be fitted (it needs repeat buyers whose spend varies),
else from each customer's own average order. When the data does not support a model (too few
customers, nobody bought twice) the map says so under ``not_evaluated`` instead of guessing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.model_inputs import model_totals
from regulars.analytics.models import (
    FALLBACK_MODEL,
    CustomerSummary,
    GammaGamma,
    ModelError,
    ModelWarning,
    Occasions,
    TransactionModel,
    fit_transactions,
    model_from_dict,
    model_to_dict,
    occasions,
    predict_customers,
    summarize,
    summary_of_totals,
)
from regulars.analytics.params import MapParams
from regulars.domain.errors import AnalysisError
from regulars.i18n import _, fmt_number, ngettext

MIN_CUSTOMERS = 20
"""Fewer customers with an order than this, and no model is fitted."""
MIN_REPEAT_BUYERS = 5
"""Fewer customers who ordered twice than this, and no model is fitted."""
RETRY_PENALTY = 1e-3
"""The L2 penalty (on the log-parameters) of the second try when a model does not converge:
data in which hardly anyone leaves, or whose spend hardly varies, drives a parameter to zero
or infinity; the penalty keeps it finite and moves a parameter the data identify very little
(the demo's Pareto/NBD: r 1.83 → 1.75, alpha 114 → 108)."""
MAP_COLUMNS = ("p_alive", "expected_orders", "next_order_expected_at", "clv", "value_at_risk")
"""The prediction columns added to the customer map (``expected_orders`` is named after the
horizon: ``expected_orders_90d`` by default)."""


def orders_column(params: MapParams) -> str:
    """The name of the expected-orders column for the configured horizon."""
    return f"expected_orders_{params.prediction_horizon_days}d"


@dataclass
class Fitted:
    """The models behind one map's predictions, and the predictions per customer."""

    as_of: datetime
    transactions: TransactionModel
    spend: GammaGamma | None
    table: pa.Table
    """``customer_id`` and the prediction columns (see :data:`MAP_COLUMNS`)."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know (a fallback model, no spend model and why)."""

    def describe(self) -> dict[str, Any]:
        """The fitted models as plain data (for the report, JSON output and saving)."""
        return {
            "as_of": self.as_of.isoformat(),
            "transactions": model_to_dict(self.transactions),
            "spend": None if self.spend is None else model_to_dict(self.spend),
            "notes": list(self.notes),
        }


def orders_arrow(orders: Any) -> pa.Table:
    """``customer_id, ordered_at, amount`` of an Ibis orders table, executed to Arrow, rows
    without a customer or a time left out: what :func:`fit_and_predict` reads (executed once,
    it serves fits at several dates through :func:`orders_until`)."""
    t = orders.select(
        customer_id=orders.customer_id.cast("string"),
        ordered_at=orders.ordered_at.cast("timestamp"),
        amount=orders.amount.cast("float64"),
    )
    data = t.to_pyarrow()
    return data.filter(pc.and_(pc.is_valid(data["customer_id"]), pc.is_valid(data["ordered_at"])))


def orders_occasions(data: pa.Table) -> Occasions:
    """:func:`orders_arrow`'s rows as (customer, day) occasions, collapsed and sorted once
    for fits at several dates (a fit as of the end of a day reads them directly)."""
    return occasions(data["customer_id"], data["ordered_at"], pc.fill_null(data["amount"], 0.0))


def orders_until(data: pa.Table, at: datetime) -> pa.Table:
    """The rows of :func:`orders_arrow` ordered at or before ``at``: the same rows as
    :func:`orders_arrow` of the orders cut at ``at``, without reading the orders again."""
    moment = pa.scalar(at, data.schema.field("ordered_at").type)
    return data.filter(pc.less_equal(data["ordered_at"], moment))


def fit_and_predict(orders: Any, *, as_of: datetime, params: MapParams,
                    spend: bool = True) -> Fitted:
    """Summarise the orders (an Ibis table, already cut at ``as_of``, or its
    :func:`orders_arrow`; or :func:`orders_occasions` of any orders, which are summarised
    up to the end of ``as_of``'s day), fit the models and predict every customer with an
    order.

    ``spend=False`` fits no spend model (order values are then each customer's own average):
    for a caller that reads only ``p_alive``, which the spend model does not change.

    Raises
    ------
    ModelError
        The data cannot support a model; the message says why and what would.
    """
    summary = _summary(orders, as_of)
    _check_enough(summary)
    notes: list[str] = []
    model = fit_with_retry(summary, params.prediction_model, notes)
    spend_model = _spend_model(summary, notes) if spend else None
    return Fitted(as_of, model, spend_model, _predict(summary, model, spend_model, params),
                  notes)


def _summary(orders: Any, as_of: datetime) -> CustomerSummary:
    if isinstance(orders, Occasions):
        if not len(orders):
            raise ModelError(_("there are no orders to fit a model on"))
        return orders.summarize(as_of)
    if not isinstance(orders, pa.Table):
        # an Ibis table: the engine collapses the orders to one row a customer, and only
        # those rows come to this process (model_inputs)
        totals = model_totals(orders, as_of).to_pyarrow()
        if totals.num_rows == 0:
            raise ModelError(_("there are no orders to fit a model on"))
        return summary_of_totals(totals, as_of=as_of)
    if orders.num_rows == 0:
        raise ModelError(_("there are no orders to fit a model on"))
    return summarize(orders["customer_id"], orders["ordered_at"],
                     pc.fill_null(orders["amount"], 0.0), as_of=as_of)


def fit_with_retry(summary: CustomerSummary, name: str, notes: list[str]) -> TransactionModel:
    """Fit ``name``; if it does not converge, once more with :data:`RETRY_PENALTY`; then the
    fallback model the same way. What happened goes into ``notes``; the first error is raised
    when nothing can be fitted."""
    attempts = [(name, 0.0), (name, RETRY_PENALTY)]
    if name != FALLBACK_MODEL:
        attempts += [(FALLBACK_MODEL, 0.0), (FALLBACK_MODEL, RETRY_PENALTY)]
    first: ModelError | None = None
    for model_name, penalty in attempts:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ModelWarning)
                model = fit_transactions(summary, model_name, fallback=None, penalty=penalty)
        except ModelError as exc:
            first = first or exc
            continue
        notes += [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
        if model_name != name:
            notes.append(_("{wanted} could not be fitted ({why}); {used} was used instead")
                         .format(wanted=name, why=first, used=model_name))
        if penalty:
            notes.append(_("the {m} fit needed an L2 penalty of {p} to converge").format(
                m=model.title, p=fmt_number(penalty, 3)))
        return model
    assert first is not None
    raise first


def _check_enough(summary: CustomerSummary) -> None:
    customers = len(summary)
    repeat = int((summary.frequency > 0).sum())
    if customers < MIN_CUSTOMERS:
        raise ModelError(ngettext(
            "{n} customer with an order is too few to fit a model (at least {m} are needed)",
            "{n} customers with an order are too few to fit a model (at least {m} are needed)",
            customers).format(n=fmt_number(customers), m=fmt_number(MIN_CUSTOMERS)))
    if repeat < MIN_REPEAT_BUYERS:
        raise ModelError(ngettext(
            "only {n} customer ordered on more than one day; a model needs at least {m} "
            "repeat buyers to tell who is still a customer",
            "only {n} customers ordered on more than one day; a model needs at least {m} "
            "repeat buyers to tell who is still a customer", repeat).format(
                n=fmt_number(repeat), m=fmt_number(MIN_REPEAT_BUYERS)))


def _spend_model(summary: CustomerSummary, notes: list[str]) -> GammaGamma | None:
    """The Gamma-Gamma spend model, fitted on the repeat buyers whose repeat orders are worth
    something: one repeat buyer with a zero mean (free samples, an exchange) would otherwise
    drop the model for everybody. How many were left out goes into ``notes``."""
    repeat = summary.frequency > 0
    spenders = repeat & (summary.monetary_value > 0)
    left_out = int(repeat.sum()) - int(spenders.sum())
    if left_out:
        notes.append(ngettext(
            "the spend model leaves out {n} repeat buyer whose repeat orders are worth nothing",
            "the spend model leaves out {n} repeat buyers whose repeat orders are worth nothing",
            left_out).format(n=fmt_number(left_out)))
    repeat = spenders
    if int(repeat.sum()) < MIN_REPEAT_BUYERS:
        notes.append(_("too few repeat buyers for a spend model; order values are each "
                       "customer's own average"))
        return None
    error: ModelError | None = None
    # a spend that hardly varies within customers drives p to infinity: a small L2 penalty on
    # the log-parameters keeps the fit finite (and changes a well-identified fit very little)
    for penalty in (0.0, RETRY_PENALTY):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ModelWarning)
                spend = GammaGamma.fit(summary.frequency[repeat],
                                       summary.monetary_value[repeat], penalty=penalty)
        except ModelError as exc:
            error = error or exc
            continue
        notes += [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
        if penalty:
            notes.append(_("the spend model needed an L2 penalty of {p} to converge").format(
                p=fmt_number(penalty, 3)))
        return spend
    notes.append(_("no spend model ({why}); order values are each customer's own "
                   "average").format(why=error))
    return None


def predict_with(saved: Any, orders: Any, *, as_of: datetime, params: MapParams
                 ) -> pa.Table | None:
    """Predictions for the customers of ``orders`` (an Ibis table) from models fitted earlier
    on the whole base (``Fitted.describe()``), renamed as :func:`fit_and_predict` names them;
    None when there is no transaction model or no order."""
    if not saved or not saved.get("transactions"):
        return None
    data = orders_arrow(orders)
    if data.num_rows == 0:
        return None
    model = model_from_dict(saved["transactions"])
    spend = model_from_dict(saved["spend"]) if saved.get("spend") else None
    if not isinstance(model, TransactionModel) or not (
            spend is None or isinstance(spend, GammaGamma)):
        raise ModelError(_("the saved models are not a transaction model and a spend model"))
    summary = summarize(data["customer_id"], data["ordered_at"],
                        pc.fill_null(data["amount"], 0.0), as_of=as_of,
                        time_unit=model.time_unit)
    return _predict(summary, model, spend, params)


def _predict(summary: CustomerSummary, model: TransactionModel, spend: GammaGamma | None,
             params: MapParams) -> pa.Table:
    table = predict_customers(
        summary, model, spend,
        horizon_days=float(params.prediction_horizon_days),
        clv_months=params.clv_months,
        monthly_discount_rate=params.clv_monthly_discount_rate,
    )
    label = f"{float(params.prediction_horizon_days):g}".replace(".", "_")
    return table.rename_columns([
        orders_column(params) if c == f"expected_orders_{label}d" else c
        for c in table.column_names
    ])


def map_columns(predictions: pa.Table, params: MapParams) -> pa.Table:
    """``customer_id`` and the five columns the customer map shows, of the predictions
    (``Fitted.table``, or :func:`predict_with`)."""
    names = ["customer_id", "p_alive", orders_column(params), "next_order_expected_at", "clv",
             "value_at_risk"]
    return predictions.select(names)


def p_alive_table(predictions: pa.Table) -> pa.Table:
    """``customer_id, p_alive``: what the map's rules read (lost by model, churn risk)."""
    return predictions.select(["customer_id", "p_alive"])


def join_predictions(customers: pa.Table, predictions: pa.Table) -> pa.Table:
    """The map's rows with the prediction columns appended (null for customers without an
    order, who have nothing to predict from)."""
    names = [c for c in predictions.column_names if c != "customer_id"]
    # the predictions have one row per customer: each map row takes its customer's row
    take = pc.index_in(customers.column("customer_id"),
                       value_set=predictions.column("customer_id"))
    out = customers
    for name in names:
        out = out.append_column(name, predictions.column(name).take(take))
    return out


# --- the retry policy of a model evaluation and a fit (``regulars models``) ---------------


def evaluate_with_retry(orders: pa.Table, *, calibration_end: date, observation_end: date,
                        models: tuple[str, ...]) -> Any:
    """Fit each of ``models`` on ``orders`` (``customer_id, ordered_at``) up to
    ``calibration_end`` and compare its predictions with what the customers did up to
    ``observation_end`` (a :class:`regulars.analytics.models.ModelsEvaluation`).

    As for the map: a model that does not converge gets a second try with a small L2 penalty
    (:data:`RETRY_PENALTY`), and says so in its row. Raises :class:`AnalysisError` when no
    model can be evaluated."""
    import dataclasses as dc

    from regulars.analytics.models import compare_models
    from regulars.analytics.models import evaluate_models as evaluate

    def run(names: tuple[str, ...], penalty: float) -> Any:
        return evaluate(orders.column("customer_id"), orders.column("ordered_at"),
                        calibration_end=calibration_end, observation_end=observation_end,
                        models=names, penalty=penalty)

    try:
        result = run(models, 0.0)
    except ModelError:
        result = None
    failed = models if result is None else tuple(result.failures)
    if failed:
        try:
            retried = run(failed, RETRY_PENALTY)
        except ModelError as exc:
            if result is None:
                raise AnalysisError(str(exc)) from exc
        else:
            kept = [] if result is None else result.evaluations
            evaluations = kept + retried.evaluations
            result = dc.replace(retried, evaluations=evaluations,
                                comparison=compare_models([e.model for e in evaluations]),
                                failures=retried.failures)
    return result


def last_order_day(orders: pa.Table) -> date:
    """The day of the last order of ``orders`` (an evaluation's default observation end)."""
    last: datetime = pc.max(orders.column("ordered_at")).as_py()
    return last.date()


def fit_orders(orders: pa.Table, *, as_of: datetime | None, params: MapParams,
               engine: Any) -> Fitted:
    """The customer-base models the map would use (``params.prediction_model``), fitted on
    ``orders`` up to ``as_of`` (default: the end of the day of the last order), on
    ``engine`` (an engine with ``table(name, arrow)``, which the caller closes). Raises
    :class:`AnalysisError` when the data cannot support a model."""
    from regulars.services.analysis import default_as_of

    try:
        t = engine.table("input_orders", orders)
        moment = as_of or default_as_of(t)
        cut = t.filter(t.ordered_at <= moment)
        return fit_and_predict(cut, as_of=moment, params=params)
    except ModelError as exc:
        raise AnalysisError(str(exc)) from exc
