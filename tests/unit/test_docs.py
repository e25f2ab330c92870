"""The settings reference in docs/configuration.md is generated from the code and kept current.

After changing a setting, run ``python scripts/gen_config_docs.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from regulars.analytics.params import MapParams
from regulars.config import settings_reference

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def load_generator(name: str = "gen_config_docs") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_block() -> str:
    gen = load_generator()
    text = DOC.read_text(encoding="utf-8")
    return text.split(gen.BEGIN, 1)[1].split(gen.END, 1)[0]


def test_configuration_reference_is_up_to_date() -> None:
    gen = load_generator()
    current = DOC.read_text(encoding="utf-8")

    assert gen.update(current) == current, "run: python scripts/gen_config_docs.py"


@pytest.mark.parametrize("key", [v.key for v in settings_reference()])
def test_setting_is_documented(key: str) -> None:
    assert f"| `{key}` |" in generated_block(), f"{key} is missing from docs/configuration.md"


@pytest.mark.parametrize("setting", settings_reference(), ids=lambda v: v.key)
def test_setting_has_a_description(setting: object) -> None:
    assert getattr(setting, "doc", "").strip(), "give the setting a description (or docstring)"


def test_every_analysis_threshold_has_a_docstring() -> None:
    assert set(MapParams.field_docs()) == set(MapParams.names())


def test_cli_reference_is_the_programs_own_help() -> None:
    gen = load_generator("gen_cli_docs")
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == gen.render(), (
        "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"
    )
