"""Settings: defaults < regulars.toml < REGULARS_… variables < overrides, and clear errors."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from regulars.analytics.params import MapParams
from regulars.config import (
    ConfigError,
    ImportSettings,
    Settings,
    effective_settings,
    env_var_name,
    load_settings,
    settings_reference,
)
from regulars.domain.errors import RegularsError
from regulars.entrypoints.cli.config_cmd import config_app


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No REGULARS_… variable and no regulars.toml from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("REGULARS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sources(settings: Settings) -> dict[str, str]:
    return {v.key: v.source for v in effective_settings(settings)}


# --- defaults ---------------------------------------------------------------------------------


def test_without_file_or_environment_every_setting_is_its_default() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite:///regulars.db"
    assert settings.currency == "EUR"
    assert settings.timezone == "UTC"
    assert settings.import_ == ImportSettings()
    assert settings.import_.max_errors == 20
    assert settings.import_.blacklist is None
    assert settings.import_.default_phone_country == "372"
    assert settings.import_.batch_rows == 100_000
    assert settings.analysis == MapParams()
    assert settings.config_file is None
    assert set(sources(settings).values()) == {"default"}


def test_analysis_defaults_are_map_params_not_a_copy_of_them() -> None:
    reference = {v.key: v.default for v in settings_reference()}

    for name in MapParams.names():
        assert reference[f"analysis.{name}"] == getattr(MapParams(), name)


# --- precedence -------------------------------------------------------------------------------


def test_precedence_is_default_then_toml_then_env_then_override(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = write_toml(
        isolated / "regulars.toml",
        'currency = "USD"\n[analysis]\nregular_min_orders = 4\nlost_max_days = 200\nrfm_bins = 6\n',
    )
    monkeypatch.setenv("REGULARS_ANALYSIS__LOST_MAX_DAYS", "100")
    monkeypatch.setenv("REGULARS_ANALYSIS__RFM_BINS", "7")

    settings = load_settings(analysis={"rfm_bins": 8})

    assert settings.analysis.returning_min_orders == 2  # default
    assert settings.currency == "USD"  # toml
    assert settings.analysis.regular_min_orders == 4  # toml
    assert settings.analysis.lost_max_days == 100  # env beats toml
    assert settings.analysis.rfm_bins == 8  # override beats env and toml
    assert settings.config_file == toml


def test_effective_settings_names_the_source_of_each_value(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = write_toml(
        isolated / "regulars.toml",
        'currency = "USD"\n[import]\nmax_errors = 5\n[analysis]\nregular_min_orders = 4\n'
        "lost_max_days = 200\nrfm_bins = 6\n",
    )
    monkeypatch.setenv("REGULARS_ANALYSIS__LOST_MAX_DAYS", "100")
    monkeypatch.setenv("REGULARS_ANALYSIS__RFM_BINS", "7")
    monkeypatch.setenv("REGULARS_TIMEZONE", "Europe/Tallinn")

    settings = load_settings(**{"analysis.rfm_bins": 8})
    by_key = {v.key: v for v in effective_settings(settings)}

    file_label = f"regulars.toml ({toml})"
    assert by_key["database_url"].source == "default"
    assert by_key["currency"].source == file_label
    assert by_key["import.max_errors"].source == file_label
    assert by_key["import.batch_rows"].source == "default"
    assert by_key["analysis.regular_min_orders"].source == file_label
    assert by_key["analysis.lost_max_days"].source == "env REGULARS_ANALYSIS__LOST_MAX_DAYS"
    assert by_key["timezone"].source == "env REGULARS_TIMEZONE"
    assert by_key["analysis.rfm_bins"].source == "override"
    assert by_key["analysis.rfm_bins"].value == 8
    assert by_key["analysis.rfm_bins"].default == 5
    assert by_key["analysis.regular_min_orders"].doc == MapParams.field_docs()["regular_min_orders"]


def test_keys_of_one_section_merge_across_sources(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(isolated / "regulars.toml", "[import]\nbatch_rows = 500\n")
    monkeypatch.setenv("REGULARS_IMPORT__MAX_ERRORS", "7")

    settings = load_settings(import_={"default_phone_country": "44"})

    assert settings.import_ == ImportSettings(
        max_errors=7, batch_rows=500, default_phone_country="44"
    )
    assert sources(settings)["import.default_phone_country"] == "override"


def test_a_whole_section_can_come_from_one_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_ANALYSIS", '{"regular_min_orders": 5, "lost_max_days": 90}')
    monkeypatch.setenv("REGULARS_ANALYSIS__LOST_MAX_DAYS", "60")

    settings = load_settings()

    assert settings.analysis.regular_min_orders == 5
    assert settings.analysis.lost_max_days == 60
    assert sources(settings)["analysis.regular_min_orders"] == "env REGULARS_ANALYSIS"
    assert sources(settings)["analysis.lost_max_days"] == "env REGULARS_ANALYSIS__LOST_MAX_DAYS"


def test_environment_variable_names_are_case_insensitive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("regulars_analysis__regular_min_orders", "6")

    settings = load_settings()

    assert settings.analysis.regular_min_orders == 6
    assert sources(settings)["analysis.regular_min_orders"] == (
        "env regulars_analysis__regular_min_orders"
    )


def test_a_bare_settings_reads_the_same_sources(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_orders = 4\n")
    monkeypatch.setenv("REGULARS_CURRENCY", "GBP")

    settings = Settings(**{"analysis.lost_max_days": 30})

    assert settings == load_settings(**{"analysis.lost_max_days": 30})
    assert sources(settings)["currency"] == "env REGULARS_CURRENCY"


def test_env_var_name_of_a_key() -> None:
    assert env_var_name("analysis.regular_min_orders") == "REGULARS_ANALYSIS__REGULAR_MIN_ORDERS"
    assert env_var_name("currency") == "REGULARS_CURRENCY"


# --- which file -------------------------------------------------------------------------------


def test_regulars_config_names_the_file(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_orders = 4\n")
    other = write_toml(isolated / "shop.toml", "[analysis]\nregular_min_orders = 5\n")
    monkeypatch.setenv("REGULARS_CONFIG", str(other))

    settings = load_settings()

    assert settings.analysis.regular_min_orders == 5
    assert sources(settings)["analysis.regular_min_orders"] == f"shop.toml ({other})"


def test_an_explicit_file_wins_over_regulars_config(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_CONFIG", str(isolated / "missing.toml"))
    explicit = write_toml(isolated / "explicit.toml", "[analysis]\nregular_min_orders = 6\n")

    assert load_settings(config_file=explicit).analysis.regular_min_orders == 6


def test_a_missing_explicit_file_is_an_error(isolated: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(config_file=isolated / "missing.toml")


def test_a_missing_file_named_by_regulars_config_is_an_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_CONFIG", str(isolated / "missing.toml"))

    with pytest.raises(ConfigError, match=r"missing\.toml.*REGULARS_CONFIG"):
        load_settings()


def test_a_missing_default_file_is_fine() -> None:
    assert load_settings().config_file is None


# --- errors -----------------------------------------------------------------------------------


def test_an_unknown_key_in_the_file_names_the_key_and_the_file(isolated: Path) -> None:
    toml = write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_order = 4\n")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    message = str(caught.value)
    assert "analysis.regular_min_order'" in message
    assert str(toml) in message
    assert "did you mean 'analysis.regular_min_orders'" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("curency = 'USD'\n", "curency"),
        ("[imports]\nmax_errors = 1\n", "imports"),
        ("[import]\nmax_error = 1\n", "import.max_error"),
        ("[loyalty]\npoints = 1\n", "loyalty.points"),
        ("[rewards]\npoints = 1\n", "rewards"),
    ],
)
def test_every_unknown_key_is_an_error(isolated: Path, text: str, key: str) -> None:
    write_toml(isolated / "regulars.toml", text)

    with pytest.raises(ConfigError, match=re.escape(f"unknown setting '{key}'")):
        load_settings()


def test_a_bad_value_in_the_file_names_the_file_key_and_problem(isolated: Path) -> None:
    toml = write_toml(isolated / "regulars.toml", '[analysis]\nregular_min_orders = "x"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings()

    message = str(caught.value)
    assert str(toml) in message
    assert "analysis.regular_min_orders" in message
    assert "not a whole number" in message
    assert "'x'" in message


def test_a_bad_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGULARS_IMPORT__BATCH_ROWS", "0")

    with pytest.raises(ConfigError, match=r"env REGULARS_IMPORT__BATCH_ROWS: import\.batch_rows"):
        load_settings()


def test_an_unknown_key_in_the_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_ANALYSIS__REGULAR_MIN_ORDER", "4")

    with pytest.raises(ConfigError, match="env REGULARS_ANALYSIS__REGULAR_MIN_ORDER"):
        load_settings()


def test_broken_json_in_a_section_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGULARS_ANALYSIS", "{not json")

    with pytest.raises(ConfigError, match="env REGULARS_ANALYSIS"):
        load_settings()


def test_unrelated_regulars_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_LANG", "et")
    monkeypatch.setenv("REGULARS_TEST_POSTGRES_URL", "postgresql://localhost/x")

    assert load_settings() == load_settings()


def test_an_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"override: unknown setting 'analysis\.rfm_bin'"):
        load_settings(**{"analysis.rfm_bin": 4})


def test_several_problems_are_reported_together(isolated: Path) -> None:
    write_toml(
        isolated / "regulars.toml",
        '[analysis]\nregular_min_orders = "x"\nrfm_bins = "y"\n',
    )

    with pytest.raises(ConfigError, match="2 problems") as caught:
        load_settings()

    assert "analysis.regular_min_orders" in str(caught.value)
    assert "analysis.rfm_bins" in str(caught.value)


def test_a_file_that_is_not_toml_is_an_error(isolated: Path) -> None:
    toml = write_toml(isolated / "regulars.toml", "[analysis\n")

    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_settings()

    assert str(toml) in str(caught.value)


def test_a_section_that_is_not_a_table_is_an_error(isolated: Path) -> None:
    write_toml(isolated / "regulars.toml", "analysis = 3\n")

    with pytest.raises(ConfigError, match=r"analysis must be a table"):
        load_settings()


def test_config_error_is_a_regulars_error() -> None:
    assert issubclass(ConfigError, RegularsError)


# --- values -----------------------------------------------------------------------------------


def test_timezone_must_be_a_known_iana_zone() -> None:
    assert load_settings(timezone="Europe/Tallinn").tzinfo == ZoneInfo("Europe/Tallinn")

    with pytest.raises(ConfigError, match=r"timezone.*unknown time zone 'Mars/Olympus'"):
        load_settings(timezone="Mars/Olympus")


def test_currency_is_a_three_letter_code_in_upper_case() -> None:
    assert load_settings(currency="usd").currency == "USD"

    with pytest.raises(ConfigError, match="currency"):
        load_settings(currency="euro")


@pytest.mark.parametrize("written", [372, "372", "+372", " 372 "])
def test_the_calling_code_may_be_written_as_a_number_or_with_a_plus(written: object) -> None:
    assert load_settings(
        import_={"default_phone_country": written}
    ).import_.default_phone_country == ("372")


@pytest.mark.parametrize("written", ["", "abc", "0", "3725"])
def test_the_calling_code_is_one_to_three_digits(written: str) -> None:
    with pytest.raises(ConfigError, match=r"import\.default_phone_country"):
        load_settings(import_={"default_phone_country": written})


def test_blacklist_is_a_path(isolated: Path) -> None:
    write_toml(isolated / "regulars.toml", '[import]\nblacklist = "junk.txt"\n')

    assert load_settings().import_.blacklist == Path("junk.txt")


def test_settings_are_immutable() -> None:
    settings = load_settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.currency = "USD"  # type: ignore[misc]


# --- the CLI ----------------------------------------------------------------------------------

runner = CliRunner()


def test_config_show_prints_key_value_source_and_description(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_orders = 4\n")

    result = runner.invoke(config_app, ["show"], env={"COLUMNS": "250"})

    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "analysis.regular_min_orders" in ln)
    assert "4" in line
    assert "regulars.toml" in line
    assert "Orders that make a customer a regular" in line


def test_config_show_json(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_orders = 4\n")
    monkeypatch.setenv("REGULARS_IMPORT__MAX_ERRORS", "9")

    result = runner.invoke(config_app, ["show", "--json"])

    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert rows["analysis.regular_min_orders"]["value"] == 4
    assert rows["analysis.regular_min_orders"]["default"] == 3
    assert rows["import.max_errors"] == {
        "key": "import.max_errors",
        "value": 9,
        "source": "env REGULARS_IMPORT__MAX_ERRORS",
        "description": "Problems listed in the report of a rejected input file.",
        "default": 20,
    }
    assert rows["import.blacklist"]["value"] is None
    assert rows["database_url"]["source"] == "default"


def test_config_show_reads_the_file_given_with_config(isolated: Path) -> None:
    other = write_toml(isolated / "shop.toml", "[analysis]\nrfm_bins = 4\n")

    result = runner.invoke(config_app, ["show", "--json", "--config", str(other)])

    rows = {row["key"]: row for row in json.loads(result.output)}
    assert rows["analysis.rfm_bins"]["value"] == 4
    assert rows["analysis.rfm_bins"]["source"] == f"shop.toml ({other})"


def test_config_show_reports_a_bad_file_and_fails(isolated: Path) -> None:
    write_toml(isolated / "regulars.toml", "[analysis]\nregular_min_order = 4\n")

    result = runner.invoke(config_app, ["show"])

    assert result.exit_code == 1
    assert "unknown setting 'analysis.regular_min_order'" in result.output


def test_config_init_writes_a_file_that_parses_back_to_the_defaults(isolated: Path) -> None:
    result = runner.invoke(config_app, ["init"])

    assert result.exit_code == 0, result.output
    written = isolated / "regulars.toml"
    data = tomllib.loads(written.read_text(encoding="utf-8"))
    assert set(data) == {"database_url", "currency", "timezone", "import", "input", "analysis",
                         "loyalty", "api", "worklist", "contact_policy", "web", "playbooks",
                         "email", "messages", "playbook_runner"}
    assert set(data["analysis"]) == set(MapParams.names())
    assert "blacklist" not in data["import"]  # unset by default: written commented out
    settings = load_settings()
    assert settings.config_file == written
    assert settings == load_settings(config_file=None)
    assert settings.analysis == MapParams()
    assert settings.import_ == ImportSettings()
    assert (settings.database_url, settings.currency, settings.timezone) == (
        "sqlite:///regulars.db",
        "EUR",
        "UTC",
    )


def test_config_init_explains_every_setting_in_a_comment(isolated: Path) -> None:
    runner.invoke(config_app, ["init", "shop.toml"])

    text = " ".join(
        line.removeprefix("# ")
        for line in (isolated / "shop.toml").read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    )
    for value in settings_reference():
        assert " ".join(value.doc.split()) in text, value.key


def test_config_init_refuses_to_overwrite_without_force(isolated: Path) -> None:
    existing = write_toml(isolated / "regulars.toml", "# mine\n")

    refused = runner.invoke(config_app, ["init"])

    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert existing.read_text(encoding="utf-8") == "# mine\n"

    forced = runner.invoke(config_app, ["init", "--force"])

    assert forced.exit_code == 0, forced.output
    assert "regular_min_orders = 3" in existing.read_text(encoding="utf-8")


def test_loyalty_section_has_exactly_the_domain_programmes_fields() -> None:
    from dataclasses import fields

    from regulars.config import LoyaltySettings
    from regulars.domain.loyalty import Programme

    assert set(LoyaltySettings.model_fields) == {f.name for f in fields(Programme)}


def test_no_loyalty_section_is_the_domain_programme_at_its_defaults() -> None:
    from regulars.domain.loyalty import Programme

    assert Settings().loyalty.programme("Europe/Tallinn") == Programme(timezone="Europe/Tallinn")


def test_loyalty_choices_are_the_domain_programmes_enums() -> None:
    # the settings spell each choice as a Literal (for mypy and the reference); the domain's
    # enums are the one definition of what the choices are
    from typing import get_args

    from regulars.config import LoyaltySettings
    from regulars.domain.loyalty.programme import _ENUM_FIELDS

    for name, enum in _ENUM_FIELDS.items():
        annotation = LoyaltySettings.model_fields[name].annotation
        assert get_args(annotation) == tuple(e.value for e in enum), name
