"""The playbooks a business has (issue 20): the shipped sets load and check, a business's file
replaces a shipped playbook, and what runs is what [playbooks] switches on."""

from __future__ import annotations

from pathlib import Path

import pytest

from regulars.adapters.playbook_files import file_documents, shipped_documents
from regulars.adapters.templates import JinjaEngine
from regulars.bootstrap import playbook_library
from regulars.config import load_settings
from regulars.domain.playbooks import model as m
from regulars.domain.playbooks.parse import PlaybooksInvalid
from regulars.i18n import use_language
from regulars.services.playbooks.definitions import Document, build_library

SIGNAL_PLAYBOOKS = {"overdue": "overdue_reminder", "shrinking_orders": "shrinking_orders_call",
                    "detractor": "detractor_apology", "dropped_addons": "dropped_addons_check"}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGULARS_CONFIG", raising=False)
    return tmp_path


def test_the_shipped_sets_load_with_every_template_in_three_languages() -> None:
    library = build_library(shipped_documents(), JinjaEngine())
    assert library.sets() == ["communication_plan", "retention"]
    assert len(library.playbooks) == 12
    for name in library.templates.names():
        assert library.templates.languages(name) == ["en", "et", "ru"], name
    # nothing runs until a set is switched on
    assert library.enabled() == []


def test_the_retention_set_has_one_playbook_per_signal_and_the_win_back() -> None:
    library = build_library(shipped_documents(), JinjaEngine())
    from regulars.analytics.signals import SIGNALS

    for signal, name in SIGNAL_PLAYBOOKS.items():
        assert signal in SIGNALS
        playbook = library.get(name)
        assert playbook.trigger == m.Trigger(kind="change", field="signal", to=signal)
        assert playbook.goal == m.Goal("order_placed", 30)
        assert playbook.exit_when_unmatched
    apology = library.get("detractor_apology")
    assert apology.steps == (m.CreateTask("apology_call", "call_detractor", due_in_days=2,
                                          note="Transactional: hear the complaint out and "
                                               "apologise."),)
    win_back = library.get("win_back_valuable")
    assert win_back.reentry == m.REENTRY_NEVER
    assert win_back.trigger == m.Trigger(kind="change", field="status", to="lost")


def test_the_communication_plan_follows_article_001() -> None:
    library = build_library(shipped_documents(), JinjaEngine())
    assert library.get("new_year_greeting").trigger == m.Trigger(
        kind="date", base="holiday", holiday="new_year", offset_days=-3)
    assert library.get("quarterly_call").trigger.every == "quarter"
    assert library.get("messenger_touch").steps[-1] == m.Send("message", "messenger",
                                                              "messenger_news")
    invitations = [s for s in library.get("event_invitation").steps if isinstance(s, m.Send)]
    assert len(invitations) == 2  # 1-2 a year
    # former customers hear from the plan once a year: the New Year greeting
    former = [p.name for p in library.playbooks.values()
              if p.set == "communication_plan" and "lost" in repr(p.conditions)
              and "ne" not in {c.op for c in (*p.conditions.all_, *p.conditions.any_)
                               if c.field == "status"}]
    assert former == ["new_year_greeting"]


def test_a_business_file_replaces_a_shipped_playbook_and_sets_switch_on(here: Path) -> None:
    (here / "mine.toml").write_text("""
[playbook.overdue_reminder]
title = "Our own reminder"
set = "retention"
trigger = { kind = "change", field = "signal", to = "overdue" }
[[playbook.overdue_reminder.steps]]
id = "sms"
kind = "send"
channel = "sms"
template = "win_back_offer"
""", encoding="utf-8")
    (here / "regulars.toml").write_text("""
[playbooks]
enabled = ["retention"]
disabled = ["win_back_valuable"]
files = ["mine.toml"]
control_share = 0.2

[playbook.vip_tag]
set = "own"
trigger = { kind = "event", event = "first_order" }
[[playbook.vip_tag.steps]]
id = "tag"
kind = "tag"
tag = "new"
""", encoding="utf-8")
    library = playbook_library(load_settings())
    assert library.get("overdue_reminder").title == "Our own reminder"
    assert library.get("overdue_reminder").source == "mine.toml"
    assert library.get("vip_tag").source == "regulars.toml"
    assert sorted(p.name for p in library.enabled()) == [
        "detractor_apology", "dropped_addons_check", "overdue_reminder", "shrinking_orders_call"]
    assert library.control_share_of(library.get("vip_tag")) == 0.2


def test_errors_of_every_file_come_together_naming_the_file(here: Path) -> None:
    (here / "bad.toml").write_text("[playbook.x\n", encoding="utf-8")
    (here / "worse.toml").write_text("""
[playbook.y]
trigger = { kind = "event", event = "order_placed" }
[[playbook.y.steps]]
id = "s"
kind = "send"
channel = "email"
template = "nice"
[template.nice.en]
subject = "Hi"
text = "Hi {{ customer.favourite_colour }}"
""", encoding="utf-8")
    with use_language("en"), pytest.raises(PlaybooksInvalid) as caught:
        documents = [*shipped_documents(), *file_documents([Path("worse.toml")], here)]
        build_library([*documents, Document("x", {})], JinjaEngine(), enabled_sets=["retnetion"])
    assert [str(e) for e in caught.value.errors] == [
        'worse.toml: playbook "y", step "s": template "nice" (en): text: unknown template '
        "variable customer.favourite_colour",
        "[playbooks]: enabled names the set 'retnetion', which no playbook belongs to (sets: "
        "communication_plan, custom, retention)",
    ]
    with use_language("en"), pytest.raises(PlaybooksInvalid) as caught:
        file_documents([Path("bad.toml"), Path("missing.toml")], here)
    assert [e.file for e in caught.value.errors] == ["bad.toml", "missing.toml"]
    assert "not valid TOML" in str(caught.value.errors[0])


def test_an_email_template_without_a_subject_is_refused() -> None:
    data = {"playbook": {"p": {"trigger": {"kind": "event", "event": "order_placed"},
                               "steps": [{"id": "s", "kind": "send", "channel": "email",
                                          "template": "t"}]}},
            "template": {"t": {"ru": {"text": "Привет"}}}}
    with use_language("en"), pytest.raises(PlaybooksInvalid) as caught:
        build_library([Document("f.toml", data)], JinjaEngine())
    assert [str(e) for e in caught.value.errors] == [
        'f.toml: playbook "p", step "s": template "t" (ru): an e-mail needs a subject']


def test_regulars_toml_with_playbooks_still_refuses_unknown_settings(here: Path) -> None:
    from regulars.domain.errors import ConfigError

    (here / "regulars.toml").write_text('[playbooks]\nenabld = ["retention"]\n'
                                        '[playbook.x]\ntitle = "x"\n', encoding="utf-8")
    with use_language("en"), pytest.raises(ConfigError) as caught:
        load_settings()
    assert "unknown setting 'playbooks.enabld'" in str(caught.value)


def test_a_set_switched_on_by_an_environment_variable(here: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_PLAYBOOKS__ENABLED", '["communication_plan"]')
    library = playbook_library(load_settings())
    assert library.enabled_sets == ("communication_plan",)
    assert len(library.enabled()) == 7


def test_every_step_kind_fits_the_http_schema() -> None:
    from regulars.entrypoints.http.schemas import PlaybookOut
    from regulars.services.playbooks.describe import playbook_data

    data = {"playbook": {"p": {
        "trigger": {"kind": "change", "field": "rung", "to": "loyal", "from": "regular"},
        "goal": False,
        "steps": [
            {"id": "w", "kind": "wait", "hours": 2},
            {"id": "b", "kind": "branch", "condition": {"any": [{"field": "tags", "has": "x"}]},
             "then": "t", "else": "e"},
            {"id": "a", "kind": "award_points", "points": 5},
            {"id": "c", "kind": "issue_coupon", "reward": "coffee"},
            {"id": "t", "kind": "tag", "tag": "x"},
            {"id": "h", "kind": "webhook", "url": "https://example.com/h"},
            {"id": "k", "kind": "task", "action": "call"},
            {"id": "e", "kind": "exit"},
        ]}}}
    library = build_library([Document("f.toml", data)], JinjaEngine())
    out = PlaybookOut.model_validate(playbook_data(library, library.get("p")))
    dumped = out.model_dump(by_alias=True, mode="json")
    assert dumped["trigger"]["from"] == "regular"
    assert dumped["goal"] is None
    assert dumped["steps"][1] == {"id": "b", "kind": "branch", "then": "t", "else": "e",
                                  "condition": {"all": [], "any": [{"field": "tags",
                                                                    "has": "x"}]}}
    assert [s["kind"] for s in dumped["steps"]] == [
        "wait", "branch", "award_points", "issue_coupon", "tag", "webhook", "task", "exit"]


def test_the_shipped_words_are_exactly_those_of_the_shipped_files() -> None:
    from regulars.services.playbooks.shipped_words import SHIPPED_WORDS, shown

    library = build_library(shipped_documents(), JinjaEngine())
    words = []
    for p in library.playbooks.values():
        words += [p.title, *([p.description] if p.description else [])]
        words += [s.note for s in p.steps if isinstance(s, m.CreateTask) and s.note]
    assert sorted(words) == sorted(SHIPPED_WORDS)
    with use_language("ru"):
        assert shown("Detractor: an apology call within two days") == (
            "Критик: извиняющийся звонок в течение двух дней")
        assert shown("Our own title") == "Our own title"


def _as_written(data: dict[str, object]) -> dict[str, object]:
    """A playbook's JSON back into the table a file holds (what `show --format json` says is
    what the file says)."""
    def clean(value: object) -> object:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    keep = ("title", "set", "description", "trigger", "conditions", "goal", "reentry",
            "reentry_days", "exit_when_unmatched", "steps")
    table = {k: clean(data[k]) for k in keep}
    if table["goal"] is None:
        table["goal"] = False
    return table


def test_a_playbooks_data_reads_back_as_the_same_playbook() -> None:
    library = build_library(shipped_documents(), JinjaEngine())
    templates = {n: {lang: {"subject": "s", "text": "t"} for lang in ("en",)}
                 for n in library.templates.names()}
    for playbook in library.playbooks.values():
        data = playbook_data_of(library, playbook)
        again = build_library([Document("again.toml", {
            "playbook": {playbook.name: _as_written(data)}, "template": templates})],
            JinjaEngine()).get(playbook.name)
        assert again.version == playbook.version, playbook.name
        assert again.steps == playbook.steps and again.trigger == playbook.trigger


def playbook_data_of(library: object, playbook: m.Playbook) -> dict[str, object]:
    from regulars.services.playbooks.describe import playbook_data

    return playbook_data(library, playbook)  # type: ignore[arg-type]


def test_the_python_facade(here: Path) -> None:
    from regulars import api
    from regulars.services.playbooks.definitions import UnknownPlaybookError

    (here / "extra.toml").write_text(
        '[playbook.mine]\nset = "own"\ntrigger = { kind = "event", event = "signed_up" }\n'
        '[[playbook.mine.steps]]\nid = "t"\nkind = "tag"\ntag = "new"\n', encoding="utf-8")
    settings = load_settings()
    listed = api.playbooks(settings, files=[Path("extra.toml")])
    assert [p["name"] for p in listed][-1] == "mine"
    assert listed[-1]["steps"] == [{"kind": "tag", "id": "t", "tag": "new", "remove": False}]
    assert api.playbook("quarterly_call", settings)["trigger"] == {
        "kind": "cadence", "every": "quarter", "offset_days": 14}
    with pytest.raises(UnknownPlaybookError):
        api.playbook("mine", settings)  # not named in [playbooks] files
