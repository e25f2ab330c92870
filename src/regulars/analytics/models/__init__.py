"""Statistical customer-base models: who is still a customer, how much will they buy.

Models (maximum likelihood with analytic gradients, identical rows compressed into weights,
optional per-customer weights and L2 penalty, standard errors from the Hessian):

==========================  ======================  ===========================================
class                       parameters              source
==========================  ======================  ===========================================
:class:`ParetoNBD`          r, alpha, s, beta       Schmittlein, Morrison & Colombo 1987;
                                                    Fader & Hardie 2005 note
:class:`ModifiedBetaGeo`    r, alpha, a, b          Batislam, Denizel & Filiztekin 2007
:class:`BetaGeo`            r, alpha, a, b          Fader, Hardie & Lee 2005 (BG/NBD)
:class:`BetaGeoBetaBinom`   alpha, beta, gamma,     Fader, Hardie & Shang 2010 (discrete
                            delta                   opportunities)
:class:`GammaGamma`         p, q, gamma             Fader, Hardie & Lee 2005 (RFM and CLV)
==========================  ======================  ===========================================

**The default transaction model is Pareto/NBD** (:data:`DEFAULT_MODEL`), for P(alive) and the
predictions the customer map shows:

- BG/NBD gives every customer who never came back P(alive) = 1, however long ago they bought
  (in BG/NBD nobody can leave before a repeat purchase). In most businesses one-time buyers are
  the majority, so that would call most lost customers certainly alive.
- Pareto/NBD lets anyone leave at any time, independently of purchasing: a one-time buyer's
  P(alive) falls as time since their only order grows, and P(alive) at a future date has a
  closed form. Its CLV needs no hypergeometric function (cheap for millions of customers).
- MBG/NBD also fixes the artefact (customers may leave right after their first order) and is
  the fallback when Pareto/NBD cannot be fitted; on CDNOW both fit about equally well.

Typical use (the lead wires it into the map)::

    summary = summarize(orders["customer_id"], orders["ordered_at"], orders["amount"],
                        as_of=as_of)
    model = fit_transactions(summary)                    # Pareto/NBD, MBG/NBD if it fails
    spend = GammaGamma.fit(summary.frequency, summary.monetary_value)
    table = predict_customers(summary, model, spend)     # p_alive, expected_orders_90d, ...

Errors are :class:`ModelError` (a ``ValueError``; the service layer re-raises it as
``regulars.domain.errors.AnalysisError``) with a sentence saying what to do; predictions are
never NaN.
"""

from __future__ import annotations

from typing import Any

from regulars.analytics.models._base import FittedModel, ModelError, ModelWarning
from regulars.analytics.models._transactions import TransactionModel
from regulars.analytics.models.bgbb import BetaGeoBetaBinom
from regulars.analytics.models.bgnbd import BetaGeo
from regulars.analytics.models.evaluation import (
    HoldoutEvaluation,
    ModelsEvaluation,
    compare_models,
    evaluate_holdout,
    evaluate_models,
)
from regulars.analytics.models.gammagamma import GammaGamma
from regulars.analytics.models.mbgnbd import ModifiedBetaGeo
from regulars.analytics.models.paretonbd import ParetoNBD
from regulars.analytics.models.predict import Predictions, predict, predict_customers
from regulars.analytics.models.serialize import (
    MODELS,
    model_from_dict,
    model_from_json,
    model_to_dict,
    model_to_json,
)
from regulars.analytics.models.summary import (
    CalibrationHoldout,
    CustomerSummary,
    Occasions,
    calibration_holdout,
    occasions,
    summarize,
    summary_of_totals,
)

DEFAULT_MODEL = "pareto_nbd"
FALLBACK_MODEL = "mbg_nbd"


def fit_transactions(
    summary: CustomerSummary,
    model: str = DEFAULT_MODEL,
    *,
    fallback: str | None = FALLBACK_MODEL,
    **kwargs: Any,
) -> TransactionModel:
    """Fit the named transaction model on ``summary``; if it cannot be fitted, fit
    ``fallback`` instead (``None``: raise). Keyword arguments go to ``fit`` (``weights``,
    ``penalty``, ``initial``)."""
    classes: dict[str, type[TransactionModel]] = {
        c.name: c for c in (ParetoNBD, ModifiedBetaGeo, BetaGeo)
    }
    if model not in classes or (fallback is not None and fallback not in classes):
        raise ModelError(f"Unknown transaction model; choose from {', '.join(classes)}.")
    try:
        return classes[model].fit_summary(summary, **kwargs)
    except ModelError:
        if fallback is None or fallback == model:
            raise
        return classes[fallback].fit_summary(summary, **kwargs)


__all__ = [
    "DEFAULT_MODEL",
    "FALLBACK_MODEL",
    "MODELS",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CalibrationHoldout",
    "CustomerSummary",
    "FittedModel",
    "GammaGamma",
    "HoldoutEvaluation",
    "ModelError",
    "ModelWarning",
    "ModelsEvaluation",
    "ModifiedBetaGeo",
    "Occasions",
    "ParetoNBD",
    "Predictions",
    "TransactionModel",
    "calibration_holdout",
    "compare_models",
    "evaluate_holdout",
    "evaluate_models",
    "fit_transactions",
    "model_from_dict",
    "model_from_json",
    "model_to_dict",
    "model_to_json",
    "occasions",
    "predict",
    "predict_customers",
    "summarize",
    "summary_of_totals",
]
