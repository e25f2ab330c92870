"""Which language a ``regulars`` command line asks for: ``--lang`` or ``REGULARS_LANG``.

Read before anything of Typer runs (the console script, :mod:`.console`, before the commands are
imported; the root group, :class:`.common.Commands`, for the whole run), so this module imports
nothing but :mod:`regulars.i18n`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from regulars.i18n import normalise_language

LANG_OPTION = "--lang"
LANG_ENV = "REGULARS_LANG"


def chosen_language(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The language the command line asks for: ``--lang X`` / ``--lang=X`` among the root
    options (before the command's name), else ``REGULARS_LANG``; None when neither names a
    language regulars speaks (the root option then says why)."""
    asked: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == LANG_OPTION:
            asked = next(args, None)
        elif arg.startswith(LANG_OPTION + "="):
            asked = arg.partition("=")[2]
        elif arg == "--" or not arg.startswith("-"):
            break  # the command's name: what follows is the command's own
    if asked is not None:
        return normalise_language(asked)
    return normalise_language(environ.get(LANG_ENV))
