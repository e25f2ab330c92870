"""How the report's CLI says an uplift: signs, units and the sentence of what it means, in the
reader's language."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

# the whole CLI first, in app.py's order: importing a command module alone would register its
# group on the app ahead of the others and change the order `regulars --help` lists them in
from regulars.entrypoints.cli import app as _app  # noqa: F401
from regulars.entrypoints.cli.playbooks_report_cmd import _interval, _meaning, _points, _points_unit
from regulars.i18n import use_language
from regulars.services.playbooks.effect import ArmRow, ReportFilter, report


def _nb(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_an_interval_above_zero_is_said_to_be_the_playbooks_doing() -> None:
    d = {"estimate": 0.041, "low": 0.008, "high": 0.09, "verdict": "better", "reason": None}
    with use_language("en"):
        assert _interval(d, _points_unit, _points) == "+4.1 pp (+0.8 … +9.0)"
        assert _meaning(d, "goal", 5).startswith("The playbook raised the goal rate")
    with use_language("ru"):
        assert _nb(_interval(d, _points_unit, _points)) == "+4,1 п. п. (+0,8 … +9,0)"
        assert _meaning(d, "revenue", 5).startswith("Сценарий повысил выручку")


def test_below_zero_and_too_small() -> None:
    d = {"estimate": -0.05, "low": -0.09, "high": -0.008, "verdict": "worse", "reason": None}
    with use_language("en"):
        assert _interval(d, _points_unit, _points) == "\u22125.0 pp (\u22129.0 … \u22120.8)"
    small = {"estimate": 0.1, "low": None, "high": None, "verdict": "no_interval",
             "reason": "small_arm"}
    with use_language("et"):
        assert _interval(small, _points_unit, _points) == "+10,0 pp"
        assert _meaning(small, "goal", 5) == ("Võrdlemiseks on veel liiga vähe sisenejaid: "
                                              "rühmas alla 5.")


rows = st.lists(st.tuples(st.sampled_from(["1", "2", "3"]), st.sampled_from(["treated", "control"]),
                          st.integers(0, 50), st.integers(0, 50), st.floats(0, 1e4)),
                max_size=12)


@given(rows)
def test_the_versions_add_up_to_the_playbook(parts) -> None:
    arms = []
    for version, arm, closed, extra, money in parts:
        goals = closed // 2
        arms.append(ArmRow("p", version, arm, closed + extra, closed, goals, money,
                           money * money, goals, goals))

    class Rows:
        def arms(self, *_a: object) -> list[ArmRow]:
            return arms

        def jobs(self, *_a: object) -> list:
            return []

        def messages(self, *_a: object) -> list:
            return []

    result = report(Rows(), ReportFilter(as_of=datetime(2026, 6, 1)))  # type: ignore[arg-type]
    if not arms:
        assert result.playbooks == []
        return
    (p,) = result.playbooks
    for side in ("treated", "control"):
        total = getattr(p, side)
        parts_of = [v[side] for v in p.versions.values()]
        assert total.entrants == sum(a.entrants for a in parts_of)
        assert total.closed == sum(a.closed for a in parts_of)
        assert total.goals == sum(a.goals for a in parts_of)
        assert 0 <= total.open == total.entrants - total.closed
    assert result.open == p.treated.open + p.control.open
