"""The command line in the reader's language: --lang / REGULARS_LANG, Typer's own words,
usage errors, and the terminal's figures in ru and et (the default stays English)."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from regulars.entrypoints.cli.app import app
from regulars.entrypoints.cli.language import chosen_language
from regulars.i18n import ngettext, use_language

from .test_cli_output import _customers, _words

runner = CliRunner()


@pytest.mark.parametrize(("argv", "env", "expected"), [
    (["--lang", "ru", "demo"], {}, "ru"),
    (["--lang=et", "status"], {"REGULARS_LANG": "ru"}, "et"),
    (["demo"], {"REGULARS_LANG": "ru_RU.UTF-8"}, "ru"),
    (["import", "--lang", "ru"], {}, None),  # not a root option: the command's own
    (["--lang", "de", "demo"], {"REGULARS_LANG": "ru"}, None),  # refused by the option
    ([], {}, None),
])
def test_the_language_is_read_before_the_commands(argv, env, expected):
    assert chosen_language(argv, env) == expected


def test_typer_words_in_russian_and_estonian():
    ru = runner.invoke(app, ["--lang", "ru", "--help"], env={"COLUMNS": "100"})
    assert ru.exit_code == 0
    assert "Использование: regulars" in ru.output
    for words in ("Параметры", "Команды", "Показать эту справку и выйти.",
                  "[переменная окружения: REGULARS_LANG]"):
        assert words in ru.output
    et = runner.invoke(app, ["--help"], env={"COLUMNS": "100", "REGULARS_LANG": "et"})
    assert "Kasutus: regulars" in et.output and "Käsud" in et.output
    assert "Näita seda abi ja välju." in et.output
    en = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert "Usage: regulars" in en.output and "Show this message and exit." in en.output
    # the language of one run does not stay for the next
    assert "Commands" in en.output and "Команды" not in en.output


def test_usage_errors_in_the_readers_language():
    ru = runner.invoke(app, ["--lang", "ru", "keys", "create"])
    assert ru.exit_code == 2
    assert "Не указан параметр '--role'" in ru.output
    assert "Возможные значения: admin, manager" in ru.output
    et = runner.invoke(app, ["--lang", "et", "demo", "--customers", "x"])
    assert et.exit_code == 2
    assert "Vale väärtus: '--customers': oodati täisarvu" in et.output
    assert "Viga" in et.output
    en = runner.invoke(app, ["keys", "create"])
    assert "Missing option '--role'." in en.output


def test_an_unknown_language_is_a_usage_error_naming_those_regulars_speaks():
    for args, env in ((["--lang", "de", "status"], {}), (["status"], {"REGULARS_LANG": "de"})):
        result = runner.invoke(app, args, env={**env, "COLUMNS": "200"})
        assert result.exit_code == 2
        assert "regulars does not speak 'de'; it speaks en, ru, and et" in result.output


def _at_risk_lines(lang: str, width: int = 80) -> list[str]:
    from regulars.entrypoints.cli.summary import at_risk as ranked
    from regulars.entrypoints.cli.summary import print_at_risk

    console = Console(record=True, width=width, soft_wrap=True)
    with use_language(lang):
        print_at_risk(console, ranked(_words(_customers())), 10, currency="EUR")
    return console.export_text().splitlines()


def test_the_at_risk_list_in_russian_and_estonian_with_the_currency():
    ru = _at_risk_lines("ru")
    assert ru[0] == "клиенты под риском, по ценности под риском (топ 10)"
    assert "выручка до сих пор 10,00\u00a0€" in ru[1]
    assert "ценность под риском 9,00\u00a0€" in ru[1]
    et = _at_risk_lines("et")
    assert et[0] == "ohus olevad kliendid ohus oleva väärtuse järgi (TOP 10)"
    assert "käive seni 10,00\u00a0€" in et[1]
    # English keeps its codes and gains the currency sign
    assert "regular · active  revenue so far €10.00" in _at_risk_lines("en")[1]


def test_counts_with_a_noun_take_each_languages_plural():
    with use_language("ru"):
        assert [ngettext("NPS ({n} answer)", "NPS ({n} answers)", n).format(n=n)
                for n in (1, 2, 5)] == ["NPS (1 ответ)", "NPS (2 ответа)", "NPS (5 ответов)"]
    with use_language("et"):
        assert ngettext("NPS ({n} answer)", "NPS ({n} answers)", 2).format(n=2) == \
            "NPS (2 vastust)"


def test_figures_in_the_readers_formats():
    from regulars.entrypoints.cli.main import CountColumn
    from regulars.entrypoints.cli.summary import money, pct, signed

    with use_language("ru"):
        assert money(2571769.5, "RUB") == "2\u00a0571\u00a0769,50\u00a0₽"
        assert pct(0.256) == "25,6\u00a0%"
        assert signed(-12.5) == "−12,5"
    with use_language("en"):
        assert money(2571769.5) == "2,571,769.50" and signed(34.7) == "+34.7"
    assert CountColumn  # the progress bar's rows are written by fmt_number too
