"""GET /v1/playbooks and /v1/playbooks/{name} on a real server (issue 20): the shipped sets
as data, what runs, one playbook's steps, a 404 problem for an unknown name, in the caller's
language."""

from __future__ import annotations

from typing import Any

import pytest

from regulars.config import Settings


@pytest.fixture
def api_settings(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Settings:
    from regulars import bootstrap

    monkeypatch.chdir(tmp_path)  # no regulars.toml of the developer's
    monkeypatch.delenv("REGULARS_CONFIG", raising=False)
    return bootstrap.load_settings(
        database_url=store_url, api={"live_map": False},
        playbooks={"enabled": ["retention"], "control_share": 0.2,
                   "disabled": ["dropped_addons_check"]})


def test_the_list_says_what_runs(call: Any) -> None:
    r = call("manager", "GET", "/v1/playbooks")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enabled_sets"] == ["retention"]
    by_name = {p["name"]: p for p in body["playbooks"]}
    assert len(by_name) == 12
    assert by_name["overdue_reminder"]["enabled"] is True
    assert by_name["dropped_addons_check"]["enabled"] is False  # switched off by name
    assert by_name["new_year_greeting"]["enabled"] is False     # its set is off
    trigger = by_name["overdue_reminder"]["trigger"]
    assert {k: v for k, v in trigger.items() if v is not None} == {
        "kind": "change", "field": "signal", "to": "overdue"}
    assert trigger["from"] is None  # the schema's name, not Python's from_
    assert by_name["new_year_greeting"]["goal"] is None
    assert by_name["overdue_reminder"]["control_share"] == 0.2
    assert "steps" not in by_name["overdue_reminder"]


def test_one_playbook_with_its_steps_and_a_404_for_none(call: Any) -> None:
    r = call("admin", "GET", "/v1/playbooks/win_back_valuable")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reentry"] == "never"
    assert body["conditions"] == {"all": [{"field": "traits", "has": "golden"}], "any": []}
    assert [s["kind"] for s in body["steps"]] == ["wait", "send"]
    assert body["steps"][1] == {"kind": "send", "id": "offer", "channel": "email",
                                "template": "win_back_offer", "purpose": "marketing"}
    missing = call("admin", "GET", "/v1/playbooks/nope", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "unknown playbook 'nope'" in missing.json()["detail"]
    assert call("readonly", "GET", "/v1/playbooks").status_code == 403
