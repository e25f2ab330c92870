"""The ``regulars`` console script: the language first, then the commands.

Typer builds every command's help when the command modules are imported (``help=_("…")``), so
the language must be known before they are: :func:`main` reads ``--lang`` from the command line
(a root option, before the command's name) or else ``REGULARS_LANG``, makes it the process's
(``REGULARS_LANG`` for the child processes ``serve`` starts, and the language of this use), and
only then imports and runs the commands. ``regulars --lang ru --help`` and
``REGULARS_LANG=et regulars import --help`` are then wholly in that language.

A language regulars does not speak is left to the root option, which refuses it as a usage
error (exit code 2) naming the languages it speaks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from regulars.entrypoints.cli.language import LANG_ENV, chosen_language
from regulars.i18n import use_language


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    lang = chosen_language(args, os.environ)
    if lang is not None:
        os.environ[LANG_ENV] = lang
    with use_language(lang):
        from regulars.entrypoints.cli.app import app

        app(args=args, prog_name="regulars")


if __name__ == "__main__":  # pragma: no cover - python -m regulars.entrypoints.cli.console
    main()
