"""Fitted models to and from JSON (never pickle).

::

    {"format": "regulars.model", "format_version": 1, "model": "pareto_nbd",
     "params": {"r": 0.55, ...}, "standard_errors": {"r": 0.047, ...},
     "log_likelihood": -9595.0, "n_customers": 2357, "time_unit": "week", "penalty": 0.0,
     "iterations": 23, "fitted_at": "2026-11-20T10:00:00+00:00", "package_version": "0.1.0"}

Loading checks the format, the model name, the parameter names and that every parameter is a
positive finite number; anything else raises :class:`ModelError`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from regulars.analytics.models._base import FittedModel, ModelError
from regulars.analytics.models.bgbb import BetaGeoBetaBinom
from regulars.analytics.models.bgnbd import BetaGeo
from regulars.analytics.models.gammagamma import GammaGamma
from regulars.analytics.models.mbgnbd import ModifiedBetaGeo
from regulars.analytics.models.paretonbd import ParetoNBD

FORMAT = "regulars.model"
FORMAT_VERSION = 1
MODELS: dict[str, type[FittedModel]] = {
    cls.name: cls for cls in (BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom, GammaGamma)
}


def model_to_dict(model: FittedModel) -> dict[str, Any]:
    """The model as a JSON-ready dict."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "params": dict(model.params),
        "standard_errors": dict(model.standard_errors),
        "log_likelihood": model.log_likelihood,
        "n_customers": model.n_customers,
        "time_unit": model.time_unit,
        "penalty": model.penalty,
        "iterations": model.iterations,
        "fitted_at": model.fitted_at,
        "package_version": model.package_version,
    }


def model_to_json(model: FittedModel, *, indent: int | None = 2) -> str:
    """The model as JSON text."""
    return json.dumps(model_to_dict(model), indent=indent, allow_nan=False)


def _number(value: Any, key: str, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"The saved model's {key} must be a finite number, not {value!r}.")
    return float(value)


def model_from_dict(data: Any) -> FittedModel:
    """A model from :func:`model_to_dict` output, validated."""
    if not isinstance(data, dict):
        raise ModelError("A saved model must be a JSON object.")
    if data.get("format") != FORMAT:
        raise ModelError("This is not a regulars model file (the format field is missing).")
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"This model file has format version {data.get('format_version')!r}; this version "
            f"of regulars reads version {FORMAT_VERSION}. Refit the model."
        )
    name = data.get("model")
    if name not in MODELS:
        raise ModelError(f"Unknown model {name!r}; known models: {', '.join(MODELS)}.")
    cls = MODELS[name]
    params = data.get("params")
    if not isinstance(params, dict):
        raise ModelError("The saved model has no parameters.")
    ses_in = data.get("standard_errors") or {}
    if not isinstance(ses_in, dict):
        raise ModelError("The saved model's standard errors must be an object.")
    ses = {str(k): _number(v, f"standard error of {k}") for k, v in ses_in.items()}
    iterations = data.get("iterations")
    if iterations is not None and not isinstance(iterations, int):
        raise ModelError("The saved model's iteration count must be a whole number.")
    fitted_at = data.get("fitted_at")
    version = data.get("package_version", "unknown")
    return cls(
        params={str(k): v for k, v in params.items()},
        standard_errors=ses,
        log_likelihood=_number(data.get("log_likelihood"), "log_likelihood"),
        n_customers=_number(data.get("n_customers"), "n_customers"),
        time_unit=str(data.get("time_unit", "day")),
        penalty=_number(data.get("penalty", 0.0), "penalty", optional=False) or 0.0,
        iterations=iterations,
        fitted_at=None if fitted_at is None else str(fitted_at),
        package_version=str(version),
    )


def model_from_json(text: str | bytes) -> FittedModel:
    """A model from JSON text written by :func:`model_to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"The model file is not valid JSON: {exc}.") from exc
    return model_from_dict(data)
