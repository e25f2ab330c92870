"""The one vocabulary every channel uses to name a label: rungs, statuses and signals.

The codes come from the analytics (:data:`regulars.analytics.portfolio.RUNGS`, ``STATUSES``,
:data:`regulars.analytics.signals.SIGNALS`); their human names are written once, here, and
the HTML report, the backtest (terminal and HTML) and, later, the web pages all read them from
this module, so a rung or a signal is called the same everywhere.

Names are marked with :func:`regulars.i18n.N_` (extracted by Babel like ``_``) and translated
when they are shown, with the translator the caller passes (by default regulars.i18n's ``_``,
which writes in the current language: the report sets it for its whole page).

    names = rung_names()                      # translated with regulars.i18n._
    name(names, "won_back")                   # 'won back'; an unknown code reads with spaces
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from regulars.analytics.portfolio import ABSENT, BUYER_RUNGS, LOST, RUNGS, STATUSES
from regulars.analytics.signals import SIGNALS
from regulars.i18n import N_, _

__all__ = [
    "BUYER_RUNGS",
    "N_",
    "RUNGS",
    "SIGNALS",
    "STATUSES",
    "name",
    "rung_names",
    "signal_names",
    "status_names",
]

Translate = Callable[[str], str]


RUNG_NAMES: Mapping[str, str] = {
    "prospect": N_("prospect"),
    "newcomer": N_("newcomer"),
    "returning": N_("returning"),
    "regular": N_("regular"),
    "loyal": N_("loyal"),
    "advocate": N_("advocate"),
    # the two states of the ladder flow beside the rungs
    ABSENT: N_("not in the list"),
    LOST: N_("lost"),
}

STATUS_NAMES: Mapping[str, str] = {
    "active": N_("active"),
    "lapsing": N_("lapsing"),
    "lost": N_("lost"),
    "won_back": N_("won back"),
}

SIGNAL_NAMES: Mapping[str, str] = {
    "shrinking_orders": N_("shrinking orders"),
    "widening_gaps": N_("widening gaps"),
    "overdue": N_("overdue"),
    "slower_payments": N_("slower payments"),
    "dropped_addons": N_("dropped add-ons"),
    "complaints_returns": N_("complaints and returns"),
    "unresponsive": N_("unresponsive"),
    "detractor": N_("detractor"),
    "churn_risk": N_("churn risk"),
    "review_relationship": N_("review the relationship"),
}


def _translated(names: Mapping[str, str], translate: Translate) -> dict[str, str]:
    return {code: translate(text) for code, text in names.items()}


def rung_names(translate: Translate = _) -> dict[str, str]:
    """Every rung (and the flow's ``absent`` and ``lost``) in words."""
    return _translated(RUNG_NAMES, translate)


def status_names(translate: Translate = _) -> dict[str, str]:
    """Every activity status in words."""
    return _translated(STATUS_NAMES, translate)


def signal_names(translate: Translate = _) -> dict[str, str]:
    """Every early-warning signal in words."""
    return _translated(SIGNAL_NAMES, translate)


def name(names: Mapping[str, str], code: str | None) -> str:
    """``code`` in words: its name, a dash for none, or an unknown code with spaces."""
    if code is None:
        return "—"
    return names.get(code, code.replace("_", " "))
