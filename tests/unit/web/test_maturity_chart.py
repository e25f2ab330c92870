"""The maturity profile chart: one bar per parameter whose length is its level, the previous
assessment's level as a tick, every text escaped."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from regulars.entrypoints.web.maturity_chart import ProfileRow, profile_chart

NAMES = ["Chaos", "Tradition", "Standards", "Goals", "Innovation"]


def _bars(svg: str) -> list[tuple[float, float, int]]:
    return [(float(x), float(w), int(lv)) for x, w, lv in re.findall(
        r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" [^>]*data-level="(\d)"', svg)]


def test_each_bar_is_as_long_as_its_level_from_the_same_start():
    svg = profile_chart("p", "Profile", "desc", [ProfileRow("Result", 1), ProfileRow("Team", 4),
                                                  ProfileRow("Product", 5)], NAMES)
    bars = _bars(svg)
    assert [lv for _x, _w, lv in bars] == [1, 4, 5]
    starts = {x for x, _w, _lv in bars}
    assert len(starts) == 1
    # a level is a column of 100 units: 1 → 100, 4 → 400, 5 → 500
    assert [w for _x, w, _lv in bars] == [100.0, 400.0, 500.0]
    for name in NAMES:
        assert f">{name}</text>" in svg
    assert 'role="img"' in svg and '<title id="p-title">Profile</title>' in svg


def test_the_previous_level_is_a_tick_at_the_end_of_its_column_with_a_legend():
    svg = profile_chart("p", "Profile", "desc",
                        [ProfileRow("Result", 3, previous=2), ProfileRow("Team", 2)], NAMES,
                        previous_label="the previous assessment")
    (x0, _w, _lv), _second = _bars(svg)
    ticks = re.findall(r'<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="#b45309"',
                       svg)
    # the row's tick at 2 columns from the start, and the legend's at the start
    assert sorted(float(t) for t in ticks) == [x0, x0 + 2 * 100]
    assert "the previous assessment" in svg
    assert "Result: 3 (the previous assessment 2)" in svg


def test_no_previous_no_tick_and_no_legend():
    svg = profile_chart("p", "Profile", "desc", [ProfileRow("Result", 3)], NAMES,
                        previous_label="the previous assessment")
    assert "#b45309" not in svg and "the previous assessment" not in svg


def test_names_are_escaped():
    svg = profile_chart("p", "<b>", "&", [ProfileRow("<script>x</script>", 2)], NAMES)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


@given(st.lists(st.tuples(st.integers(1, 5), st.none() | st.integers(1, 5)), min_size=1,
                max_size=16))
def test_any_profile_draws_one_bar_per_row_as_long_as_its_level(rows):
    svg = profile_chart("p", "t", "d", [ProfileRow(f"P{i}", lv, prev)
                                        for i, (lv, prev) in enumerate(rows)], NAMES,
                        previous_label="before")
    assert [(w, lv) for _x, w, lv in _bars(svg)] == [(100.0 * lv, lv) for lv, _p in rows]
    ticks = svg.count('stroke="#b45309"')
    with_previous = sum(p is not None for _lv, p in rows)
    assert ticks == (with_previous + 1 if with_previous else 0)  # and the legend's
