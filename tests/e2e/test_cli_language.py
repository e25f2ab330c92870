"""The console script in Russian and Estonian: help built in the chosen language, and files
for machines the same in every language."""

from __future__ import annotations


def test_help_is_wholly_in_the_chosen_language(regulars, tmp_path):
    ru = regulars(tmp_path, "--lang", "ru", "--help")
    assert ru.returncode == 0, ru.stderr
    # the commands' own help is built after --lang was read: Russian too
    assert "Знайте и удерживайте постоянных клиентов" in ru.stdout
    assert "Карта клиентов: ступень, статус, сигналы" in ru.stdout
    assert "Использование: regulars" in ru.stdout and "Команды" in ru.stdout
    assert "Show this message" not in ru.stdout
    et = regulars(tmp_path, "--lang", "et", "import", "--help")
    assert "Laadi andmebaasi klientide, tellimuste" in et.stdout
    assert "Kasutus: regulars import" in et.stdout and "Valikud" in et.stdout


def test_the_worklist_and_tasks_help_in_estonian_and_russian(regulars, tmp_path):
    et = regulars(tmp_path, "--lang", "et", "tasks", "--help")
    assert et.returncode == 0, et.stderr
    for words in ("Kliendihaldurite ülesanded", "Loetle ülesanded tähtaja järgi",
                  "Lisa ülesanne käsitsi", "Kas ülesanded toimivad?"):
        assert words in " ".join(et.stdout.split()), words
    assert "The managers' tasks" not in et.stdout
    plan = " ".join(regulars(tmp_path, "--lang", "et", "tasks", "plan", "--help").stdout.split())
    assert "Iga hommik" in plan and "Päev, mille kohta planeerida" in plan
    ru = " ".join(regulars(tmp_path, "--lang", "ru", "worklist", "--help").stdout.split())
    assert "С кем каждый менеджер связывается сегодня и почему" in ru
    assert "Только список этого менеджера." in ru and "Whom each manager" not in ru


def test_an_unknown_language_is_a_usage_error(regulars, tmp_path):
    result = regulars(tmp_path, "--lang", "fi", "status")
    assert result.returncode == 2
    assert "it speaks en, ru, and et" in " ".join(result.stderr.split())


def test_files_and_json_for_machines_are_the_same_in_every_language(regulars, tmp_path):
    made = regulars(tmp_path, "demo-data", "--out", "data", "--customers", "40")
    assert made.returncode == 0, made.stderr
    runs = {lang: regulars(tmp_path, "--lang", lang, "analyze", "data", "--out", f"{lang}.csv")
            for lang in ("en", "ru")}
    assert all(r.returncode == 0 for r in runs.values()), runs["ru"].stderr
    assert (tmp_path / "ru.csv").read_bytes() == (tmp_path / "en.csv").read_bytes()
    # while the summary on the terminal speaks Russian
    assert "лестница лояльности" in runs["ru"].stdout
    assert "карта клиентов на " in runs["ru"].stdout
    backtests = [regulars(tmp_path, "--lang", lang, "backtest", "data", "--as-of", "2025-06-30",
                          "--horizon", "90d", "--format", "json") for lang in ("en", "ru")]
    assert all(r.returncode == 0 for r in backtests), backtests[1].stderr
    assert backtests[0].stdout == backtests[1].stdout
