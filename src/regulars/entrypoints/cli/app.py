"""The whole command line, as the ``regulars`` console script runs it.

``main`` holds the Typer app and the shared helpers; every command lives in a module by job
(``import_cmd``, ``demo_cmd``, ``store_cmd``, ``analyze_cmd``, ``backtest_cmd``, ``serve``,
``worker``, and the command groups: ``keys``, ``users_cmd``, …) and adds itself to
``main.app`` when imported. They are imported here, not from ``main``, so that no module of
the CLI imports one that imports it back (import-linter: siblings without cycles).
"""

from __future__ import annotations

# isort: off
# the order of these imports is the order ``regulars --help`` lists the commands in
from regulars.entrypoints.cli import (  # noqa: F401 - imported for the commands they add
    import_cmd,
    demo_cmd,
    store_cmd,
    analyze_cmd,
    backtest_cmd,
    customers_cmd,
    worklist_cmd,
    maturity_cmd,
    keys,
    tasks_cmd,
    goals_cmd,
    users_cmd,
    models_cmd,
    profiles_cmd,
    playbooks_cmd,
    playbooks_def_cmd,
    playbooks_send_cmd,
    playbooks_report_cmd,
    playbooks_run_cmd,
    serve,
    worker,
)
# isort: on
from regulars.entrypoints.cli.main import app, main
from regulars.entrypoints.cli.words import built_with

# every command and group is built with the classes that speak the reader's language
built_with(app)

__all__ = ["app", "main"]
