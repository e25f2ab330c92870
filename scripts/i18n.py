"""Manage the gettext catalogues (ru, et, en) with Babel: extract, update, compile, status.

    .venv/bin/python scripts/i18n.py update     # extract every message, merge into each .po
    .venv/bin/python scripts/i18n.py compile    # .po -> .mo (shipped beside the .po)
    .venv/bin/python scripts/i18n.py status     # what is left to translate, per language

The workflow for a new or changed message: write it in English in the code (``_()``,
``ngettext()``, ``N_()`` or ``{{ _() }}`` in a template), run ``update``, translate the new
entries of ``ru`` and ``et`` in ``src/regulars/locale/<lang>/LC_MESSAGES/regulars.po`` (terms from
``docs/glossary.md``; an entry marked fuzzy is a guess to review, then drop the flag), run
``compile``. The English catalogue is the source text itself and is rewritten by ``update``.
The suite (``tests/unit/test_catalogues.py``) fails on any message missing, fuzzy or with
placeholders or plural forms that differ from the source.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "regulars" / "locale"
DOMAIN = "regulars"
LANGUAGES = ("ru", "et", "en")


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(pot: Path) -> None:
    """Every message in the sources (Python and the Jinja2 templates) into ``pot``."""
    os.chdir(ROOT)  # locations relative to the checkout: src/regulars/...
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_",
        "-c", "TRANSLATORS:", "--add-location=file", "--no-wrap", "--sort-by-file",
        "--project=regulars", "--copyright-holder=the regulars authors",
        "--msgid-bugs-address=https://github.com/regulars/regulars/issues",
        "-o", str(pot), "src",
    ])


def update() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / f"{DOMAIN}.pot"
        extract(pot)
        for lang in LANGUAGES:
            po = po_path(lang)
            command = "update" if po.exists() else "init"
            args = ["pybabel", "-q", command, "-i", str(pot), "-d", str(LOCALE), "-D", DOMAIN,
                    "-l", lang, "--no-wrap"]
            if command == "update":
                args += ["--ignore-obsolete"]
            CommandLineInterface().run(args)
    _english_is_the_source()


def _english_is_the_source() -> None:
    """The en catalogue says the source text, always: a changed message changes it too."""
    po = po_path("en")
    with po.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if not message.id:
            continue
        message.string = tuple(message.id) if isinstance(message.id, tuple | list) else message.id
        message.flags.discard("fuzzy")
        message.previous_id = []
    with po.open("wb") as f:
        write_po(f, catalog, width=0, include_previous=False)


def compile_all() -> None:
    CommandLineInterface().run(["pybabel", "compile", "-d", str(LOCALE), "-D", DOMAIN,
                                "--statistics"])


def status() -> int:
    left = 0
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as f:
            catalog = read_po(f)
        missing = [m for m in catalog if m.id and (not m.string or not all(
            m.string if isinstance(m.string, tuple | list) else [m.string]))]
        fuzzy = [m for m in catalog if m.id and m.fuzzy]
        print(f"{lang}: {len(catalog)} messages, {len(missing)} untranslated, {len(fuzzy)} fuzzy")
        left += len(missing) + len(fuzzy)
    return 1 if left else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["extract", "update", "compile", "status"])
    parser.add_argument("-o", "--output", type=Path, default=LOCALE / f"{DOMAIN}.pot",
                        help="where extract writes the template")
    args = parser.parse_args()
    if args.command == "extract":
        extract(args.output)
    elif args.command == "update":
        update()
    elif args.command == "compile":
        compile_all()
    else:
        return status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
