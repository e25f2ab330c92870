"""Net promoter score of the feedback in a period (DOMAIN §7)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio._common import (
    FEEDBACK_COLUMNS,
    _one,
    _ratio,
    _require,
)
from regulars.analytics.portfolio.results import (
    Nps,
    Period,
)

# --------------------------------------------------------------------------------------------
# NPS


def nps(feedback: ir.Table, *, params: MapParams, period: Period | None = None) -> Nps:
    """Net promoter score of the NPS responses in ``period`` (all responses when None).

    Promoters answer at least ``promoter_min_nps``, detractors at most ``detractor_max_nps``,
    passives from ``passive_min_nps`` up to the promoter band. Every response counts, so a
    customer answering twice counts twice (DOMAIN §7: "of responses in the period").
    """
    _require(feedback, FEEDBACK_COLUMNS, "feedback")
    f = feedback.filter(feedback.nps.notnull())
    if period is not None:
        at = f["at"]
        f = f.filter((at > ibis.literal(period.start)) & (at <= ibis.literal(period.end)))
    score = f.nps.cast("int64")
    row = _one(
        f.aggregate(
            responses=f.count(),
            promoters=f.count(where=score >= params.promoter_min_nps),
            passives=f.count(
                where=(score >= params.passive_min_nps) & (score < params.promoter_min_nps)
            ),
            detractors=f.count(where=score <= params.detractor_max_nps),
        )
    )
    responses, promoters = int(row["responses"]), int(row["promoters"])
    passives, detractors = int(row["passives"]), int(row["detractors"])
    return Nps(
        period=period,
        responses=responses,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoter_share=_ratio(promoters, responses),
        passive_share=_ratio(passives, responses),
        detractor_share=_ratio(detractors, responses),
        score=100 * (promoters - detractors) / responses if responses else None,
    )


