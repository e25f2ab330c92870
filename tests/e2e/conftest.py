"""Public data sets for end-to-end tests, found inside installed wheels without importing them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def run_regulars(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, in ``cwd``, with no REGULARS_* settings leaking in."""
    exe = Path(sys.executable).with_name("regulars")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def regulars() -> Cli:
    return run_regulars


@pytest.fixture(scope="session")
def cdnow_master() -> Path:
    """CDNOW_master.txt (Fader & Hardie): 69,659 purchases of 23,570 customers, 1997-1998,
    whitespace-separated, dates as YYYYMMDD, no order id. lifetimes' wheel ships it; its
    package is not imported (it needs pkg_resources)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lifetimes (a dev dependency) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
