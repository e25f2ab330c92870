"""``regulars playbooks``: the group every playbooks command adds itself to (issue 20).

The commands live in modules by job (definitions, the schedule's run, the report), each
importing :data:`playbooks_app` and imported by ``app.py``.
"""

from __future__ import annotations

import typer

from regulars.entrypoints.cli.main import app
from regulars.i18n import _

playbooks_app = typer.Typer(
    help=_("Playbooks: engage, retain and win back customers on their own, and prove it."),
    no_args_is_help=True)
app.add_typer(playbooks_app, name="playbooks")
