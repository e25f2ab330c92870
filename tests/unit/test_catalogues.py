"""The catalogues are complete: every message of the sources is in ru, et and en, translated,
not fuzzy, with the source's placeholders and the language's number of plural forms, and the
shipped .mo says what its .po says. A new English string without translations fails here."""

from __future__ import annotations

import gettext
import importlib.util
import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "regulars" / "locale"
LANGUAGES = ("ru", "et", "en")
PLURALS = {"ru": 3, "et": 2, "en": 2}


def _load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["i18n_script"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every message in the sources today, freshly extracted."""
    pot = tmp_path_factory.mktemp("pot") / "regulars.pot"
    script = _load_script()
    cwd = Path.cwd()
    try:
        script.extract(pot)
    finally:
        import os

        os.chdir(cwd)
    with pot.open("rb") as f:
        return read_po(f)


def _catalog(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "regulars.po").open("rb") as f:
        return read_po(f)


def _key(message: Message) -> object:
    ident = tuple(message.id) if isinstance(message.id, tuple | list) else message.id
    return (ident, message.context)


def _forms(message: Message) -> list[str]:
    value = message.string
    return list(value) if isinstance(value, tuple | list) else [value]


def _fields(text: str) -> set[str]:
    """The ``{name}`` placeholders of a format string (``{{`` is a literal brace)."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


_PERCENT = re.compile(r"%(?:\([a-z_]+\))?[sdif]")


def _source_forms(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_source_message_is_in_the_catalogue(template: Catalog, lang: str) -> None:
    catalog = _catalog(lang)
    missing = [m.id for m in template if m.id and catalog.get(m.id, m.context) is None]
    assert not missing, (f"{len(missing)} messages are not in {lang} "
                         f"(run scripts/i18n.py update and translate them): {missing[:10]}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(template: Catalog, lang: str) -> None:
    catalog = _catalog(lang)
    wanted = {_key(m) for m in template if m.id}
    untranslated = [m.id for m in catalog
                    if m.id and _key(m) in wanted and not all(f.strip() for f in _forms(m))]
    fuzzy = [m.id for m in catalog if m.id and _key(m) in wanted and m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated in {lang}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy (review, then drop the flag) in {lang}: {fuzzy[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_and_plural_forms_match_the_source(lang: str) -> None:
    catalog = _catalog(lang)
    assert catalog.num_plurals == PLURALS[lang], catalog.plural_forms
    wrong: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        sources = _source_forms(message)
        forms = _forms(message)
        if len(sources) > 1 and len(forms) != PLURALS[lang]:
            wrong.append(f"{sources[0]!r}: {len(forms)} plural forms, {lang} has "
                         f"{PLURALS[lang]}")
            continue
        expected = set().union(*(_fields(s) for s in sources))
        percent = set().union(*(_PERCENT.findall(s) for s in sources))
        for form in forms:
            if not form:
                continue
            fields = _fields(form)
            # a plural form may leave out {n} where the language says "one" in a word
            allowed = fields == expected or (len(sources) > 1 and fields <= expected)
            if not allowed:
                wrong.append(f"{sources[0]!r} -> {form!r}: placeholders {sorted(fields)} "
                             f"instead of {sorted(expected)}")
            if set(_PERCENT.findall(form)) != percent:
                wrong.append(f"{sources[0]!r} -> {form!r}: % placeholders differ")
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_shipped_mo_says_what_the_po_says(lang: str) -> None:
    directory = LOCALE / lang / "LC_MESSAGES"
    mo = directory / "regulars.mo"
    assert mo.exists(), f"{mo} is missing: run scripts/i18n.py compile"
    with mo.open("rb") as f:
        compiled = {_key(m): _forms(m) for m in read_mo(f) if m.id}
    catalog = _catalog(lang)
    source = {_key(m): _forms(m) for m in catalog if m.id and not m.fuzzy and all(_forms(m))}
    # (Babel writes an untranslated plural entry with the source's forms; it reads the same)
    stale = {k for k in source if compiled.get(k) != source[k]}
    stale |= set(compiled) - {_key(m) for m in catalog if m.id}
    assert not stale, (f"{mo} is stale: run scripts/i18n.py compile ({len(stale)} messages "
                       f"differ, e.g. {sorted(map(str, stale))[:3]})")


@pytest.mark.parametrize(("lang", "forms"), [
    ("ru", {1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 21: 0, 22: 1, 111: 2}),
    ("et", {1: 0, 2: 1, 5: 1, 21: 1}),
])
def test_plural_rules_are_the_languages_own(lang: str, forms: dict[int, int]) -> None:
    catalog = _catalog(lang)
    rule = gettext.c2py(catalog.plural_expr)
    assert {n: rule(n) for n in forms} == forms
