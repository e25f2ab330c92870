"""`regulars maturity` through the console script: the questionnaire as JSON in Russian, an
answers file scored (a parameter left out takes the data's suggestion), kept only with --save
and compared with the previous one, and a bad file refused naming file, line and key."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from regulars import bootstrap
from regulars.domain.maturity import PARAMETERS
from regulars.domain.tables import Kind


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A small business: 3 regulars (one with a manager) and a newcomer, NPS answers in every
    quarter of the year to the last order."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    services = bootstrap.open_api(bootstrap.load_settings(database_url=url,
                                                          api={"live_map": False}))
    try:
        rows = [(Kind.CUSTOMERS, {"customer_id": c, "manager": "Mari" if c == "A" else None})
                for c in "ABCD"]
        rows += [(Kind.ORDERS, {"order_id": f"{c}{m}", "customer_id": c,
                                "ordered_at": datetime(2025, m, 10), "amount": 40})
                 for c in "ABC" for m in (2, 5, 9)]
        rows += [(Kind.ORDERS, {"order_id": "D1", "customer_id": "D",
                                "ordered_at": datetime(2025, 12, 1), "amount": 40})]
        rows += [(Kind.FEEDBACK, {"feedback_id": f"f{m}", "customer_id": "B",
                                  "at": datetime(2025, m, 15), "nps": 8}) for m in (1, 4, 7, 10)]
        services.ingest.run(rows)
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]
    return url


def test_the_questionnaire_as_json_in_russian(regulars, tmp_path) -> None:
    run = regulars(tmp_path, "--lang", "ru", "maturity", "--questions", "--format", "json")
    assert run.returncode == 0, run.stderr
    q = json.loads(run.stdout)
    assert [p["parameter"] for p in q["parameters"]] == list(PARAMETERS)
    assert all(len(p["levels"]) == 5 for p in q["parameters"])
    assert q["parameters"][0]["name"] == "Целеполагание"
    assert q["parameters"][0]["levels"][1]["description"] == (
        "Фиксируется количество и доля постоянных клиентов, целей не ставится")
    assert not (tmp_path / "regulars.db").exists()  # the questions need no store


def test_an_answers_file_scored_kept_and_compared(regulars, tmp_path, store) -> None:
    # two runs (the console script starts in about 3 s): the first kept, the second a dry run
    # that compares with it and keeps nothing
    levels = dict.fromkeys(PARAMETERS, 2) | {"team": 1, "culture": 1, "reputation": 3}
    del levels["interaction"]  # left out: the data's suggestion (NPS in 4 of 4 quarters: 4)
    answers = tmp_path / "answers.toml"
    answers.write_text("".join(f"{k} = {v}\n" for k, v in levels.items()), encoding="utf-8")
    args = ("maturity", "--answers", str(answers), "--format", "json", "--database-url", store)

    kept = regulars(tmp_path, *args, "--save", "--by", "owner")
    assert kept.returncode == 0, kept.stderr
    result = json.loads(kept.stdout)
    by = {p["parameter"]: p for p in result["parameters"]}
    assert by["interaction"]["level"] == 4 and by["interaction"]["source"] == "suggestion"
    assert by["goal_setting"]["suggested_level"] == 2 and by["goal_setting"]["source"] == "answer"
    assert result["stage"] == 2  # 12 of 16 at level 2
    assert [g["parameter"] for g in result["gaps"]] == ["team", "culture"]
    steps = result["next_steps"]
    assert 1 <= len(steps) <= 3 and steps[0]["level"] == 2
    assert all(s["level"] <= 3 for s in steps)
    assert result["saved"] is not None and result["previous"] is None

    answers.write_text(answers.read_text(encoding="utf-8").replace("team = 1", "team = 2"),
                       encoding="utf-8")
    again = regulars(tmp_path, "--lang", "et", *args)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["previous"]["assessment_id"] == result["saved"]["assessment_id"]
    assert second["stage_change"] == 0 and second["saved"] is None
    changes = {p["parameter"]: p["change"] for p in second["parameters"]}
    assert changes["team"] == 1 and changes["culture"] == 0
    assert second["stage_name"] == "Traditsioon"
    assert _kept(store) == 1  # the dry run kept nothing


def _kept(store: str) -> int:
    engine = sa.create_engine(store)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from maturity_assessments"))
                       .scalar() or 0)
    finally:
        engine.dispose()


def test_a_bad_answers_file_names_file_line_and_key(regulars, tmp_path, store) -> None:
    answers = tmp_path / "bad.toml"
    answers.write_text("goal_setting = 2\nbudget = 3\nteam = 7\n", encoding="utf-8")
    run = regulars(tmp_path, "maturity", "--answers", str(answers), "--save",
                   "--database-url", store)
    assert run.returncode == 2
    assert f"{answers}, line 2: unknown parameter 'budget'" in run.stderr
    assert f"{answers}, line 3: team = 7: a level is a whole number from 1 to 5" in run.stderr
    assert _kept(store) == 0
