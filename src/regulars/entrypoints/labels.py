"""The one vocabulary every channel uses to name a label: rungs, statuses, signals, traits and
RFM segments.

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
from regulars.analytics.traits import RFM_SEGMENTS, TRAITS
from regulars.i18n import N_, _

__all__ = [
    "BUYER_RUNGS",
    "N_",
    "RFM_SEGMENTS",
    "RUNGS",
    "SIGNALS",
    "STATUSES",
    "TRAITS",
    "name",
    "rung_names",
    "segment_names",
    "signal_names",
    "status_names",
    "trait_names",
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

TRAIT_NAMES: Mapping[str, str] = {
    "golden": N_("golden customer"),
    "small": N_("small customer"),
    "discount_driven": N_("discount-driven"),
    "innovator": N_("innovator"),
    "focused": N_("need-based"),
    "diverse": N_("diverse"),
    "problem": N_("problem customer"),
    "promoter": N_("promoter"),
    "passive": N_("passive"),
    "detractor": N_("detractor"),
}

# capitalised, so that "loyal" and "lost" are not the rung's and the status's words
SEGMENT_NAMES: Mapping[str, str] = {
    "champions": N_("Champions"),
    "loyal": N_("Loyal customers"),
    "potential_loyalist": N_("Potential loyalists"),
    "new": N_("New customers"),
    "promising": N_("Promising"),
    "need_attention": N_("Need attention"),
    "about_to_sleep": N_("About to sleep"),
    "at_risk": N_("At risk"),
    "cant_lose_them": N_("Can't lose them"),
    "hibernating": N_("Hibernating"),
    "lost": N_("Lost customers"),
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


def trait_names(translate: Translate = _) -> dict[str, str]:
    """Every trait in words."""
    return _translated(TRAIT_NAMES, translate)


def segment_names(translate: Translate = _) -> dict[str, str]:
    """Every RFM segment in words."""
    return _translated(SEGMENT_NAMES, translate)
