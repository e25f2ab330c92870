"""The one place user-facing text goes through.

Every sentence a person reads (CLI output, error reports, evidence, web pages) is wrapped in
``_()`` so that it can be translated with gettext. The businesses the source articles speak to
work in Russian and Estonian; catalogues for them come later (``locale/<lang>/LC_MESSAGES``).

The language is taken from ``REGULARS_LANG`` (or the usual ``LANGUAGE``/``LC_ALL``/``LANG``);
a missing catalogue falls back to the English source text.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

DOMAIN = "regulars"
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def _translation(lang: str | None) -> gettext.NullTranslations:
    languages = [lang] if lang else None
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=languages, fallback=True)


def _(message: str) -> str:
    """Translate ``message`` into the user's language (identity until catalogues exist)."""
    return _translation(os.environ.get("REGULARS_LANG")).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware translation: ``ngettext("{n} row", "{n} rows", n).format(n=n)``."""
    return _translation(os.environ.get("REGULARS_LANG")).ngettext(singular, plural, n)
