"""The playbooks' report through its three doors: ``regulars playbooks report`` (a table in
the reader's language, json and csv for machines), ``GET /v1/playbooks/report`` and
``regulars.api.playbook_report``, over the rows of tests/support/effect_rows.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from typer.testing import CliRunner

from regulars import api, bootstrap
from regulars.adapters.db.api_store import SqlApiStore
from regulars.entrypoints.cli.app import app
from regulars.services.api import ApiServices

from ...support.effect_rows import AS_OF, fill


@pytest.fixture
def filled(store_url: str) -> str:
    store = SqlApiStore(store_url)
    fill(store.writer)
    store.close()
    return store_url


def _run(*args: str):
    from regulars.entrypoints.cli.common import out

    width, out.width = out.width, 250  # whole cells, as on a wide terminal
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        out.width = width


def test_the_table_speaks_russian(filled: str) -> None:
    got = _run("--lang", "ru", "playbooks", "report", "--as-of", "2026-06-01",
               "--playbook", "win_back", "--database-url", filled)
    assert got.exit_code == 0, got.output
    # Babel writes no-break spaces in numbers and before % and €
    text = got.stdout.replace("\u00a0", " ").replace("\u202f", " ")
    assert "Сценарий win_back" in text
    assert "доля достигших цели (заказ в течение 30 дней)" in text
    # 40 % against 20 %: +20 pp, Newcombe -26.2 ... +46.9; revenue +28 (Welch -3.51 ... 59.51)
    assert "40,0 % (8)" in text and "20,0 % (1)" in text
    assert "+20,0 п. п. (−26,2 … +46,9)" in text
    assert "+28,00 € (−3,51 € … +59,51 €)" in text
    assert "пока не отличить от отсутствия эффекта" in text
    assert "достигнут предел контактов 3, нет согласия на этот канал 2" in text
    assert "ещё 3 в окне учтены отдельно" in text
    for english in ("goal rate", "treated", "skipped", "Playbook"):
        assert english not in text


def test_json_and_csv_are_the_same_in_every_language(filled: str) -> None:
    args = ["playbooks", "report", "--as-of", "2026-06-01", "--database-url", filled]
    for fmt in ("json", "csv"):
        en, ru = (_run(*lang, *args, "--format", fmt) for lang in ([], ["--lang", "ru"]))
        assert en.exit_code == ru.exit_code == 0, ru.output
        assert en.stdout_bytes == ru.stdout_bytes, fmt
    body = json.loads(_run(*args, "--format", "json").stdout)
    wb = body["playbooks"][1]
    assert (wb["playbook"], wb["treated"]["goals"], wb["control"]["goals"]) == ("win_back", 8, 1)
    assert wb["goal_rate_uplift"]["verdict"] == "unclear"
    rows = list(csv.DictReader(io.StringIO(_run(*args, "--format", "csv").stdout)))
    assert [r["playbook"] for r in rows] == ["birthday", "win_back"]
    assert (rows[1]["treated_goal_rate"], rows[1]["control_goal_rate"],
            rows[1]["goal_rate_uplift_low"]) == ("0.4", "0.2", "-0.261521")
    assert rows[0]["goal_rate_uplift_verdict"] == "no_interval"


def test_bad_dates_end_with_exit_2_naming_the_option(filled: str) -> None:
    bad = _run("playbooks", "report", "--since", "June", "--database-url", filled)
    assert bad.exit_code == 2 and "--since" in bad.output
    crossed = _run("playbooks", "report", "--since", "2026-05-02", "--until", "2026-05-01",
                   "--database-url", filled)
    assert crossed.exit_code == 2
    assert "until (2026-05-01) is before since (2026-05-02)" in crossed.stderr


def test_an_empty_store_says_so(store_url: str) -> None:
    got = _run("playbooks", "report", "--database-url", store_url)
    assert got.exit_code == 0 and "No journeys yet" in got.stdout


def test_the_python_facade(filled: str) -> None:
    settings = bootstrap.load_settings(database_url=filled, timezone="Europe/Tallinn")
    # the March entrants (2026-03-01 10:00 UTC) are in, the May ones out
    got = api.playbook_report(settings, playbook="win_back", since=date(2026, 3, 1),
                              until=date(2026, 3, 31), as_of=AS_OF)
    (wb,) = got.playbooks
    assert (wb.treated.entrants, wb.treated.goals, wb.control.goals) == (20, 8, 1)
    assert wb.goal_rate is not None and wb.goal_rate.low == pytest.approx(-0.26152, abs=2e-5)


@pytest.fixture
def http_filled(services: ApiServices) -> ApiServices:
    fill(services.store.writer)  # type: ignore[attr-defined]
    return services


def test_http_report(http_filled: ApiServices, call) -> None:
    got = call("readonly", "GET", "/v1/playbooks/report",
               params={"as_of": "2026-06-01T03:00:00+03:00", "playbook": "win_back"})
    assert got.status_code == 200, got.text
    (wb,) = got.json()["playbooks"]
    assert wb["treated"]["compared"] == 20 and wb["control"]["goal_rate"] == 0.2
    assert wb["goal_rate_uplift"]["high"] == pytest.approx(0.46902, abs=2e-5)
    assert wb["steps"][1]["skipped_by_reason"] == {"cap": 3, "no_consent": 2}
    assert call("integration", "GET", "/v1/playbooks/report").status_code == 403
    assert call(None, "GET", "/v1/playbooks/report").status_code == 401


def test_http_bad_input_is_a_problem_naming_the_field(http_filled: ApiServices,
                                                      call) -> None:
    crossed = call("admin", "GET", "/v1/playbooks/report",
                   params={"since": "2026-05-02", "until": "2026-05-01"})
    assert crossed.status_code == 422
    assert crossed.headers["content-type"].startswith("application/problem+json")
    assert crossed.json()["errors"][0]["field"] == "until"
    bad = call("admin", "GET", "/v1/playbooks/report", params={"confidence": "2"})
    assert bad.status_code == 422
    # a number is not a moment (pydantic alone would read 0.5 as half a second after 1970)
    epoch = call("admin", "GET", "/v1/playbooks/report", params={"as_of": "0.5"})
    assert epoch.status_code == 422 and "as_of" in epoch.text
    ru = call("admin", "GET", "/v1/playbooks/report",
              params={"since": "2026-05-02", "until": "2026-05-01"},
              headers={"Accept-Language": "ru"})
    assert "раньше, чем since" in ru.json()["detail"]
