"""The whole command line, as the ``regulars`` console script runs it.

``main`` holds the root commands (import, analyze, demo, …) and the shared helpers; each other
command group lives in its own module and adds itself to ``main.app`` when imported. They are
imported here, not from ``main``, so that no module of the CLI imports one that imports it back
(import-linter: siblings without cycles).
"""

from __future__ import annotations

from regulars.entrypoints.cli import (  # noqa: F401 - imported for the commands they add
    backtest_cmd,
    customers_cmd,
    keys,
    models_cmd,
    profiles_cmd,
    serve,
)
from regulars.entrypoints.cli.main import app, main

__all__ = ["app", "main"]
