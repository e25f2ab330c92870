"""Inline SVG charts for the HTML report, drawn in Python so the file needs no script or network.

Every function takes already-translated text and plain numbers and returns one ``<svg>``
element with a ``<title>`` and ``<desc>`` (announced by screen readers through
``aria-labelledby``). All text is escaped here. Counts a reader sees are written with
:func:`regulars.i18n.fmt_number` (the page's language); coordinates stay locale-independent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from html import escape

from regulars.i18n import fmt_number

FONT = 'font-family="inherit"'
TEXT = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _f(value: float) -> str:
    """A coordinate, short and locale-independent."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text_width(text: str, size: float = 12) -> float:
    return len(text) * size * 0.58


def svg(chart_id: str, title: str, desc: str, width: float, height: float, *, body: str) -> str:
    """Wrap ``body`` in an accessible, responsive ``<svg>``."""
    return (
        f'<svg id="{_e(chart_id)}" class="chart" role="img" viewBox="0 0 {_f(width)} {_f(height)}"'
        f' width="{_f(width)}" height="{_f(height)}"'
        f' aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" {FONT}>'
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>'
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>'
        f"{body}</svg>"
    )


def _label(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: float = 12,
    color: str = TEXT,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{_f(size)}"'
        f' fill="{color}" font-weight="{weight}" dominant-baseline="middle">{_e(text)}</text>'
    )


# --------------------------------------------------------------------------------------------


def funnel(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, int, str, str]],
) -> str:
    """Centred horizontal bars, one per (label, value, value text, colour), top to bottom."""
    label_w = max((_text_width(r[0]) for r in rows), default=0) + 16
    value_w = max((_text_width(r[2]) for r in rows), default=0) + 16
    bar_w, row_h = 420.0, 34.0
    width = label_w + bar_w + value_w
    height = row_h * len(rows) + 8
    top = max((r[1] for r in rows), default=0) or 1
    centre = label_w + bar_w / 2
    parts = []
    for i, (label, value, value_text, colour) in enumerate(rows):
        y = 4 + i * row_h
        w = max(bar_w * value / top, 2.0 if value else 0.0)
        parts.append(
            f'<rect x="{_f(centre - w / 2)}" y="{_f(y + 3)}" width="{_f(w)}"'
            f' height="{_f(row_h - 6)}" rx="3" fill="{colour}">'
            f"<title>{_e(label)}: {_e(value_text)}</title></rect>"
        )
        parts.append(_label(label_w - 8, y + row_h / 2, label, anchor="end"))
        parts.append(_label(label_w + bar_w + 8, y + row_h / 2, value_text, color=MUTED))
    return svg(chart_id, title, desc, width, height, body="".join(parts))


def stacked_bars(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[tuple[str, str]],
    *,
    percent: Callable[[float], str],
) -> str:
    """100 %-stacked horizontal bars: one row per (label, counts), one colour per series."""
    label_w = max((_text_width(r[0]) for r in rows), default=0) + 16
    bar_w, row_h, legend_h = 460.0, 30.0, 28.0
    width = label_w + bar_w + 56
    height = legend_h + row_h * len(rows) + 6
    parts = []
    x = label_w
    for name, colour in series:
        parts.append(f'<rect x="{_f(x)}" y="6" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(_label(x + 17, 12.5, name, size=11, color=MUTED))
        x += 17 + _text_width(name, 11) + 18
    for i, (label, counts) in enumerate(rows):
        y = legend_h + i * row_h
        total = sum(counts)
        parts.append(_label(label_w - 8, y + row_h / 2, label, anchor="end"))
        parts.append(
            f'<rect x="{_f(label_w)}" y="{_f(y + 4)}" width="{_f(bar_w)}"'
            f' height="{_f(row_h - 8)}" fill="{GRID}"/>'
        )
        x = label_w
        for (name, colour), count in zip(series, counts, strict=True):
            if not total or not count:
                continue
            w = bar_w * count / total
            parts.append(
                f'<rect x="{_f(x)}" y="{_f(y + 4)}" width="{_f(w)}" height="{_f(row_h - 8)}"'
                f' fill="{colour}"><title>{_e(label)} · {_e(name)}: {_e(fmt_number(count))}'
                f" ({_e(percent(count / total))})</title></rect>"
            )
            if w >= 40:
                parts.append(
                    _label(
                        x + w / 2,
                        y + row_h / 2,
                        percent(count / total),
                        anchor="middle",
                        size=10.5,
                        color="#ffffff",
                    )
                )
            x += w
        parts.append(_label(label_w + bar_w + 8, y + row_h / 2, fmt_number(total),
                            color=MUTED))
    return svg(chart_id, title, desc, width, height, body="".join(parts))


# over 60 lines: the columns, the bands between them and the labels share one set of
# coordinates (scale, offsets, node positions); split apart, each piece would need them all
def sankey(
    chart_id: str,
    title: str,
    desc: str,
    states: Sequence[tuple[str, str]],
    flows: Mapping[tuple[int, int], int],
    *,
    band_colour: Callable[[int, int], str],
    left_heading: str,
    right_heading: str,
) -> str:
    """Two columns of states (label, colour) joined by bands as wide as the customers moving.

    ``flows`` maps (from index, to index) into ``states`` to a count.
    """
    n_states = len(states)
    out = [sum(flows.get((a, b), 0) for b in range(n_states)) for a in range(n_states)]
    into = [sum(flows.get((a, b), 0) for a in range(n_states)) for b in range(n_states)]
    total = sum(out)
    label_w = max((_text_width(f"{s[0]} 000000") for s in states), default=0) + 12
    node_w, gap, plot_h, top = 14.0, 10.0, 340.0, 30.0
    width = 2 * label_w + 360
    x_left, x_right = label_w, width - label_w - node_w
    left = [i for i in range(n_states) if out[i]]
    right = [i for i in range(n_states) if into[i]]
    height = top + plot_h + gap * max(len(left), len(right), 1) + 10
    if not total:
        return svg(chart_id, title, desc, width, height, body="")
    scale = plot_h / total

    def positions(nodes: list[int], size: list[int]) -> dict[int, float]:
        y, result = top, {}
        for i in nodes:
            result[i] = y
            y += size[i] * scale + gap
        return result

    left_y, right_y = positions(left, out), positions(right, into)
    parts = [
        _label(x_left, 12, left_heading, color=MUTED, weight="600"),
        _label(x_right + node_w, 12, right_heading, anchor="end", color=MUTED, weight="600"),
    ]
    # bands: leave each left node in the order of the right nodes, and vice versa
    left_offset = dict.fromkeys(left, 0.0)
    right_offset = dict.fromkeys(right, 0.0)
    bands = []
    for a in left:
        for b in right:
            n = flows.get((a, b), 0)
            if not n:
                continue
            h = n * scale
            y0 = left_y[a] + left_offset[a]
            left_offset[a] += h
            bands.append((a, b, n, h, y0))
    bands_by_right = sorted(bands, key=lambda band: (band[1], band[0]))
    y1_of: dict[tuple[int, int], float] = {}
    for a, b, _n, h, _y0 in bands_by_right:
        y1_of[(a, b)] = right_y[b] + right_offset[b]
        right_offset[b] += h
    x0, x1 = x_left + node_w, x_right
    xm = (x0 + x1) / 2
    for a, b, n, h, y0 in bands:
        y1 = y1_of[(a, b)]
        path = (
            f"M{_f(x0)},{_f(y0)} C{_f(xm)},{_f(y0)} {_f(xm)},{_f(y1)} {_f(x1)},{_f(y1)}"
            f" L{_f(x1)},{_f(y1 + h)} C{_f(xm)},{_f(y1 + h)} {_f(xm)},{_f(y0 + h)}"
            f" {_f(x0)},{_f(y0 + h)} Z"
        )
        parts.append(
            f'<path d="{path}" fill="{band_colour(a, b)}" fill-opacity="0.45">'
            f"<title>{_e(states[a][0])} → {_e(states[b][0])}: {_e(fmt_number(n))}</title></path>"
        )
    for nodes, ys, size, x, anchor, lx in (
        (left, left_y, out, x_left, "end", x_left - 6),
        (right, right_y, into, x_right, "start", x_right + node_w + 6),
    ):
        for i in nodes:
            h = max(size[i] * scale, 1.0)
            parts.append(
                f'<rect x="{_f(x)}" y="{_f(ys[i])}" width="{_f(node_w)}" height="{_f(h)}"'
                f' fill="{states[i][1]}"><title>{_e(states[i][0])}: {_e(fmt_number(size[i]))}'
                f"</title></rect>"
            )
            parts.append(_label(lx, ys[i] + h / 2, f"{states[i][0]} {fmt_number(size[i])}",
                                anchor=anchor))
    return svg(chart_id, title, desc, width, height, body="".join(parts))


def pareto_curve(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[float, float]],
    *,
    x_label: str,
    y_label: str,
    marker_x: float,
    marker_text: str,
    percent: Callable[[float], str],
) -> str:
    """Cumulative share of revenue (y) against cumulative share of customers (x), 0–1."""
    left, top, size = 56.0, 14.0, 300.0
    width, height = left + size + 24, top + size + 48

    def px(x: float) -> float:
        return left + x * size

    def py(y: float) -> float:
        return top + (1 - y) * size

    parts = []
    for k in range(6):
        v = k / 5
        parts.append(
            f'<line x1="{_f(px(0))}" y1="{_f(py(v))}" x2="{_f(px(1))}" y2="{_f(py(v))}"'
            f' stroke="{GRID}"/>'
            f'<line x1="{_f(px(v))}" y1="{_f(py(0))}" x2="{_f(px(v))}" y2="{_f(py(1))}"'
            f' stroke="{GRID}"/>'
        )
        parts.append(_label(px(0) - 6, py(v), percent(v), anchor="end", size=10, color=MUTED))
        parts.append(_label(px(v), py(0) + 12, percent(v), anchor="middle", size=10, color=MUTED))
    parts.append(_label(px(0.5), py(0) + 32, x_label, anchor="middle", size=11, color=MUTED))
    parts.append(
        f'<text transform="translate(14 {_f(py(0.5))}) rotate(-90)" text-anchor="middle"'
        f' font-size="11" fill="{MUTED}">{_e(y_label)}</text>'
    )
    parts.append(
        f'<line x1="{_f(px(0))}" y1="{_f(py(0))}" x2="{_f(px(1))}" y2="{_f(py(1))}"'
        f' stroke="{MUTED}" stroke-dasharray="4 4"/>'
    )
    if len(points) > 1:
        coords = " ".join(f"{_f(px(x))},{_f(py(y))}" for x, y in points)
        area = f"{_f(px(0))},{_f(py(0))} {coords} {_f(px(points[-1][0]))},{_f(py(0))}"
        parts.append(f'<polygon points="{area}" fill="#2563eb" fill-opacity="0.08"/>')
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="#2563eb" stroke-width="2.2"/>'
        )
        y_at = interpolate(points, marker_x)
        parts.append(
            f'<line x1="{_f(px(marker_x))}" y1="{_f(py(0))}" x2="{_f(px(marker_x))}"'
            f' y2="{_f(py(y_at))}" stroke="#dc2626" stroke-dasharray="3 3"/>'
            f'<line x1="{_f(px(0))}" y1="{_f(py(y_at))}" x2="{_f(px(marker_x))}"'
            f' y2="{_f(py(y_at))}" stroke="#dc2626" stroke-dasharray="3 3"/>'
            f'<circle cx="{_f(px(marker_x))}" cy="{_f(py(y_at))}" r="4" fill="#dc2626">'
            f"<title>{_e(marker_text)}</title></circle>"
        )
        parts.append(_label(px(marker_x) + 8, py(y_at) + 14, marker_text, size=11, color="#991b1b"))
    return svg(chart_id, title, desc, width, height, body="".join(parts))


def interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    """y of the polyline through ``points`` (sorted by x) at ``x``."""
    if not points:
        return 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _blend(intensity: float) -> str:
    """From pale to deep blue."""
    lo, hi = (239, 246, 255), (30, 64, 175)
    t = min(max(intensity, 0.0), 1.0)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    chart_id: str,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    *,
    values: Sequence[Sequence[float | None]],
    percent: Callable[[float], str],
    not_observed: str,
) -> str:
    """A grid of shares; colour scaled to the largest value outside the first column."""
    label_w = max((_text_width(r, 11) for r in row_labels), default=0) + 14
    cell_w, cell_h, head_h = 46.0, 24.0, 22.0
    width = label_w + cell_w * len(column_labels) + 4
    height = head_h + cell_h * len(row_labels) + 4
    later = [v for row in values for v in row[1:] if v is not None]
    scale_max = max(later, default=0.0) or 1.0
    parts = []
    for j, name in enumerate(column_labels):
        parts.append(
            _label(
                label_w + j * cell_w + cell_w / 2,
                head_h / 2,
                name,
                anchor="middle",
                size=11,
                color=MUTED,
            )
        )
    for i, (label, row) in enumerate(zip(row_labels, values, strict=True)):
        y = head_h + i * cell_h
        parts.append(_label(label_w - 8, y + cell_h / 2, label, anchor="end", size=11))
        for j, value in enumerate(row):
            x = label_w + j * cell_w
            if value is None:
                parts.append(
                    f'<rect x="{_f(x + 1)}" y="{_f(y + 1)}" width="{_f(cell_w - 2)}"'
                    f' height="{_f(cell_h - 2)}" fill="#f9fafb">'
                    f"<title>{_e(label)} {_e(column_labels[j])}: {_e(not_observed)}</title></rect>"
                )
                continue
            intensity = 1.0 if j == 0 else value / scale_max
            parts.append(
                f'<rect x="{_f(x + 1)}" y="{_f(y + 1)}" width="{_f(cell_w - 2)}"'
                f' height="{_f(cell_h - 2)}" fill="{_blend(intensity)}">'
                f"<title>{_e(label)} {_e(column_labels[j])}: {_e(percent(value))}</title></rect>"
            )
            parts.append(
                _label(
                    x + cell_w / 2,
                    y + cell_h / 2,
                    percent(value),
                    anchor="middle",
                    size=10,
                    color="#ffffff" if intensity > 0.55 else TEXT,
                )
            )
    return svg(chart_id, title, desc, width, height, body="".join(parts))


def _legend(series: Sequence[tuple[str, str]], x: float, y: float) -> tuple[list[str], float]:
    parts = []
    for name, colour in series:
        parts.append(f'<rect x="{_f(x)}" y="{_f(y - 6)}" width="12" height="12" rx="2"'
                     f' fill="{colour}"/>')
        parts.append(_label(x + 17, y, name, size=11, color=MUTED))
        x += 17 + _text_width(name, 11) + 18
    return parts, x


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def paired_bars(
    chart_id: str,
    title: str,
    desc: str,
    groups: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[tuple[str, str]],
    *,
    x_label: str,
    y_label: str,
    number: Callable[[float], str],
) -> str:
    """Vertical bars side by side per group (e.g. actual and predicted per bucket); a missing
    value (None) draws no bar."""
    left, top, plot_h, legend_h = 56.0, 30.0, 220.0, 24.0
    group_w = max(48.0, 14.0 * len(series) + 24)
    width = left + group_w * len(groups) + 16
    height = top + plot_h + 44
    present = [float(v) for _, vs in groups for v in vs if v is not None]
    peak = _nice_max(max(present, default=0.0))
    parts, _x = _legend(series, left, legend_h / 2 + 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    for k in range(5):
        v = peak * k / 4
        parts.append(f'<line x1="{_f(left)}" y1="{_f(py(v))}" x2="{_f(width - 16)}"'
                     f' y2="{_f(py(v))}" stroke="{GRID}"/>')
        parts.append(_label(left - 6, py(v), number(v), anchor="end", size=10, color=MUTED))
    bar_w = (group_w - 16) / max(len(series), 1)
    for i, (label, values) in enumerate(groups):
        x0 = left + i * group_w + 8
        for j, ((name, colour), value) in enumerate(zip(series, values, strict=True)):
            if value is None:
                continue
            parts.append(
                f'<rect x="{_f(x0 + j * bar_w)}" y="{_f(py(value))}" width="{_f(bar_w - 2)}"'
                f' height="{_f(top + plot_h - py(value))}" fill="{colour}">'
                f"<title>{_e(label)} · {_e(name)}: {_e(number(value))}</title></rect>"
            )
        parts.append(_label(x0 + (group_w - 16) / 2, top + plot_h + 12, label, anchor="middle",
                            size=10.5, color=MUTED))
    parts.append(_label(left + (width - left) / 2, top + plot_h + 32, x_label, anchor="middle",
                        size=11, color=MUTED))
    parts.append(
        f'<text transform="translate(14 {_f(top + plot_h / 2)}) rotate(-90)"'
        f' text-anchor="middle" font-size="11" fill="{MUTED}">{_e(y_label)}</text>'
    )
    return svg(chart_id, title, desc, width, height, body="".join(parts))


def lines(
    chart_id: str,
    title: str,
    desc: str,
    xs: Sequence[float],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    x_label: str,
    y_label: str,
    number: Callable[[float], str],
) -> str:
    """Lines over a shared x axis (e.g. cumulative actual and predicted over time); the first
    series is drawn solid, the others dashed."""
    left, top, plot_w, plot_h = 64.0, 30.0, 420.0, 220.0
    width, height = left + plot_w + 24, top + plot_h + 44
    x_max = max(xs, default=1.0) or 1.0
    peak = _nice_max(max((v for _, _, vs in series for v in vs), default=0.0))
    parts, _x = _legend([(name, colour) for name, colour, _ in series], left, 13)

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    for k in range(5):
        v = peak * k / 4
        parts.append(f'<line x1="{_f(left)}" y1="{_f(py(v))}" x2="{_f(left + plot_w)}"'
                     f' y2="{_f(py(v))}" stroke="{GRID}"/>')
        parts.append(_label(left - 6, py(v), number(v), anchor="end", size=10, color=MUTED))
        x = x_max * k / 4
        parts.append(_label(px(x), top + plot_h + 12, number(x), anchor="middle", size=10,
                            color=MUTED))
    for i, (name, colour, values) in enumerate(series):
        coords = " ".join(f"{_f(px(x))},{_f(py(v))}" for x, v in zip(xs, values, strict=True))
        dash = "" if i == 0 else ' stroke-dasharray="6 4"'
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}"'
                     f' stroke-width="2.2"{dash}><title>{_e(name)}</title></polyline>')
    parts.append(_label(left + plot_w / 2, top + plot_h + 32, x_label, anchor="middle",
                        size=11, color=MUTED))
    parts.append(
        f'<text transform="translate(14 {_f(top + plot_h / 2)}) rotate(-90)"'
        f' text-anchor="middle" font-size="11" fill="{MUTED}">{_e(y_label)}</text>'
    )
    return svg(chart_id, title, desc, width, height, body="".join(parts))
