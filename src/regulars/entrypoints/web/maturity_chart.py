"""The maturity profile as an inline SVG chart (server-drawn, no script): one bar per
parameter, its length the level 1–5, a tick at the previous assessment's level when there
is one. The numbers are also in the page's table (the chart is announced by its title and
description, and every bar has its own ``<title>``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regulars.entrypoints.report.charts import GRID, MUTED, TEXT, _e, _f, _label, _text_width, svg

#: the bar's colour per level (cool to warm would read as a judgement; one hue, darker higher)
LEVEL_COLOURS = {1: "#c7d2fe", 2: "#a5b4fc", 3: "#818cf8", 4: "#6366f1", 5: "#4338ca"}
PREVIOUS = "#b45309"
#: the width of one level's column
COLUMN = 100.0


@dataclass(frozen=True)
class ProfileRow:
    """One parameter: its name (translated), its level, the previous assessment's (or None)."""

    label: str
    level: int
    previous: int | None = None


def profile_chart(chart_id: str, title: str, desc: str, rows: Sequence[ProfileRow],
                  level_names: Sequence[str], *, previous_label: str = "") -> str:
    """Horizontal bars, levels 1..5 on the x axis (``level_names``: the five names, in
    order, written over the columns)."""
    row_h, top, right = 24.0, 40.0, 16.0
    # the names' width, with room for letters wider than the estimate's (Cyrillic)
    left = 16 + 1.15 * max((_text_width(r.label, 12) for r in rows), default=60.0)
    col_w = COLUMN
    width = left + 5 * col_w + right
    legend = any(r.previous is not None for r in rows) and previous_label
    height = top + row_h * len(rows) + (34 if legend else 12)
    parts: list[str] = []

    def x(level: float) -> float:
        return left + col_w * level

    for k in range(6):
        parts.append(f'<line x1="{_f(x(k))}" y1="{_f(top - 6)}" x2="{_f(x(k))}"'
                     f' y2="{_f(top + row_h * len(rows))}" stroke="{GRID}"/>')
    for k, name in enumerate(level_names[:5], start=1):
        parts.append(_label(x(k - 0.5), 12, str(k), anchor="middle", size=11, color=TEXT,
                            weight="bold"))
        parts.append(_label(x(k - 0.5), 27, name, anchor="middle", size=10.5, color=MUTED))
    for i, r in enumerate(rows):
        y = top + i * row_h
        parts.append(_label(left - 8, y + row_h / 2, r.label, anchor="end", size=12))
        level = max(1, min(5, r.level))
        tip = f"{r.label}: {level}"
        if r.previous is not None:
            tip += f" ({previous_label} {r.previous})" if previous_label else ""
        parts.append(
            f'<rect x="{_f(x(0))}" y="{_f(y + 4)}" width="{_f(col_w * level)}"'
            f' height="{_f(row_h - 8)}" rx="3" fill="{LEVEL_COLOURS[level]}"'
            f' data-level="{level}"><title>{_e(tip)}</title></rect>')
        if r.previous is not None:
            px = x(max(1, min(5, r.previous)))
            parts.append(f'<line x1="{_f(px)}" y1="{_f(y + 1)}" x2="{_f(px)}"'
                         f' y2="{_f(y + row_h - 1)}" stroke="{PREVIOUS}" stroke-width="3"/>')
    if legend:
        ly = top + row_h * len(rows) + 20
        parts.append(f'<line x1="{_f(left)}" y1="{_f(ly - 7)}" x2="{_f(left)}"'
                     f' y2="{_f(ly + 7)}" stroke="{PREVIOUS}" stroke-width="3"/>')
        parts.append(_label(left + 8, ly, str(previous_label), size=11, color=MUTED))
    return svg(chart_id, title, desc, width, height, body="".join(parts))
