"""The customer card's timeline: orders and returns as an inline SVG, drawn on the server with
the report's chart helpers (:mod:`regulars.entrypoints.report.charts`), so it needs no script.

Dates run along x, amounts up y. An order is a dot, a return a cross below the axis line at
its own date (its amount, on the same scale); the customer's usual gap, when the map has one,
is a band after the last order: the stretch in which the next order was due. Every text is
already translated by the caller and escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from regulars.entrypoints.report.charts import GRID, MUTED, _e, _f, _label, _nice_max, svg

ORDER = "#1d4e89"
RETURN = "#a1261c"
RHYTHM = "#e6eef8"


@dataclass(frozen=True)
class Mark:
    at: datetime
    amount: float
    label: str  # the tooltip: date, amount, id


def timeline(chart_id: str, title: str, desc: str, orders: Sequence[Mark],
             returns: Sequence[Mark], *, until: datetime | None, gap_days: float | None,
             gap_label: str, money: Callable[[float], str],
             day: Callable[[datetime], str]) -> Markup:
    """The chart; ``until``: the right end (the map's day, if later than the last order);
    ``gap_days``: the usual gap, drawn after the last order with ``gap_label``."""
    left, top, plot_w, plot_h, bottom = 64.0, 16.0, 560.0, 150.0, 40.0
    ret_h = 40.0 if returns else 0.0
    width, height = left + plot_w + 16, top + plot_h + ret_h + bottom
    moments = [m.at for m in (*orders, *returns)]
    start = min(moments)
    end = max([*moments, *([until] if until else [])])
    last = max((m.at for m in orders), default=None)
    if gap_days and last is not None:
        end = max(end, last + timedelta(days=gap_days))
    span = max((end - start).total_seconds(), 86_400.0)
    peak = _nice_max(max((m.amount for m in (*orders, *returns)), default=0.0))
    base = top + plot_h  # the zero line of orders; returns hang below it

    def px(at: datetime) -> float:
        return left + plot_w * (at - start).total_seconds() / span

    def py(v: float) -> float:
        return base - plot_h * v / peak

    parts: list[str] = []
    if gap_days and last is not None:
        x0, x1 = px(last), px(last + timedelta(days=gap_days))
        parts.append(f'<rect x="{_f(x0)}" y="{_f(top)}" width="{_f(max(x1 - x0, 1))}"'
                     f' height="{_f(plot_h)}" fill="{RHYTHM}"><title>{_e(gap_label)}</title>'
                     f"</rect>")
        parts.append(f'<line x1="{_f(x1)}" y1="{_f(top)}" x2="{_f(x1)}" y2="{_f(base)}"'
                     f' stroke="{ORDER}" stroke-dasharray="4 3"/>')
        parts.append(_label(min(x1, left + plot_w) - 4, top + 8, gap_label, anchor="end",
                            size=10.5, color=MUTED))
    for k in range(3):
        v = peak * k / 2
        parts.append(f'<line x1="{_f(left)}" y1="{_f(py(v))}" x2="{_f(left + plot_w)}"'
                     f' y2="{_f(py(v))}" stroke="{GRID}"/>')
        parts.append(_label(left - 6, py(v), money(v), anchor="end", size=10, color=MUTED))
    for m in orders:
        parts.append(f'<circle cx="{_f(px(m.at))}" cy="{_f(py(m.amount))}" r="4"'
                     f' fill="{ORDER}"><title>{_e(m.label)}</title></circle>')
    for m in returns:
        x = px(m.at)
        y = base + 6 + (ret_h - 12) * min(m.amount / peak, 1.0)
        parts.append(f'<path d="M{_f(x - 4)} {_f(y - 4)}L{_f(x + 4)} {_f(y + 4)}'
                     f'M{_f(x - 4)} {_f(y + 4)}L{_f(x + 4)} {_f(y - 4)}" stroke="{RETURN}"'
                     f' stroke-width="2"><title>{_e(m.label)}</title></path>')
    axis = base + ret_h
    parts.append(f'<line x1="{_f(left)}" y1="{_f(axis)}" x2="{_f(left + plot_w)}"'
                 f' y2="{_f(axis)}" stroke="{MUTED}"/>')
    ticks = [start, start + (end - start) / 2, end] if end > start else [start]
    for i, at in enumerate(ticks):
        anchor = ("start", "middle", "end")[i] if len(ticks) == 3 else "start"
        parts.append(_label(px(at), axis + 14, day(at), anchor=anchor, size=10.5,
                            color=MUTED))
    return Markup(svg(chart_id, title, desc, width, height, body="".join(parts)))
