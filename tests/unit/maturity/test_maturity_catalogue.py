"""The article's table is in the catalogue: the 16 parameters × 5 levels, their names and the
levels' names, present, non-empty and distinct in ru, et and en, and the Russian ones are not
the English source left untranslated."""

from __future__ import annotations

import pytest

from regulars.domain.maturity import (
    CELLS,
    LEVEL_NAMES,
    LEVELS,
    PARAMETER_NAMES,
    PARAMETERS,
    STEP_KINDS,
    description,
)
from regulars.i18n import _, use_language


def test_the_table_has_sixteen_parameters_by_five_levels() -> None:
    assert tuple(CELLS) == PARAMETERS
    assert tuple(PARAMETER_NAMES) == PARAMETERS
    assert set(LEVEL_NAMES) == set(LEVELS) == {1, 2, 3, 4, 5}
    assert all(len(cells) == 5 for cells in CELLS.values())
    assert description("result", 1) == CELLS["result"][0]


@pytest.mark.parametrize("lang", ["ru", "et", "en"])
def test_every_cell_is_present_and_distinct(lang: str) -> None:
    with use_language(lang):
        cells = [_(description(p, level)) for p in PARAMETERS for level in range(1, 6)]
        names = [_(PARAMETER_NAMES[p]) for p in PARAMETERS]
        levels = [_(LEVEL_NAMES[level]) for level in range(1, 6)]
        steps = [_(k.text) for k in STEP_KINDS]
    for texts, n in ((cells, 80), (names, 16), (levels, 5), (steps, len(STEP_KINDS))):
        assert len(texts) == n
        assert all(t.strip() for t in texts)
        assert len(set(texts)) == n


@pytest.mark.parametrize("lang", ["ru", "et"])
def test_every_cell_is_translated(lang: str) -> None:
    for p in PARAMETERS:
        for level in range(1, 6):
            source = description(p, level)
            with use_language(lang):
                assert _(source) != source, (lang, p, level)
        with use_language(lang):
            assert _(PARAMETER_NAMES[p]) != PARAMETER_NAMES[p]


def test_russian_is_the_articles_words() -> None:
    with use_language("ru"):
        assert _(LEVEL_NAMES[1]) == "Хаос, стихийность"
        assert _(PARAMETER_NAMES["goal_setting"]) == "Целеполагание"
        assert _(description("goal_setting", 2)) == (
            "Фиксируется количество и доля постоянных клиентов, целей не ставится")
        assert _(description("reputation", 5)).startswith("Постоянные клиенты гордятся")
