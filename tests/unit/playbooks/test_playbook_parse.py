"""The playbooks file format (issue 20): what it builds, and every refusal, with its words."""

from __future__ import annotations

import tomllib
from datetime import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.playbooks import model as m
from regulars.domain.playbooks.parse import Parsed, PlaybooksInvalid, parse
from regulars.i18n import use_language

GOOD = """
[playbook.win_back_valuable]
title = "One win-back offer for a valuable lost customer"
set = "retention"
trigger = { kind = "change", field = "status", to = "lost" }
conditions = { all = [ { field = "money_at_stake", gte = 100 } ], any = [] }
goal = { event = "order_placed", days = 30 }
reentry = "never"
control_share = 0.2
[[playbook.win_back_valuable.steps]]
id = "wait"
kind = "wait"
days = 1
until = "10:00"
[[playbook.win_back_valuable.steps]]
id = "still_lost"
kind = "branch"
condition = { all = [ { field = "status", eq = "lost" } ] }
then = "offer"
else = "done"
[[playbook.win_back_valuable.steps]]
id = "offer"
kind = "send"
channel = "email"
template = "win_back_offer"
purpose = "marketing"
[[playbook.win_back_valuable.steps]]
id = "done"
kind = "exit"

[template.win_back_offer.ru]
subject = "Мы скучаем"
text = "Здравствуйте, {{ customer.first_name }}!"
html = "<p>Здравствуйте</p>"
"""


def load(text: str, **kwargs: Any) -> Parsed:
    return parse(tomllib.loads(text), "regulars.toml", **kwargs)


def errors_of(text: str, **kwargs: Any) -> list[str]:
    with use_language("en"), pytest.raises(PlaybooksInvalid) as caught:
        load(text, **kwargs)
    return [str(e) for e in caught.value.errors]


def with_step(step: str, extra: str = "") -> str:
    return f"""
[playbook.p]
trigger = {{ kind = "event", event = "order_placed" }}
[[playbook.p.steps]]
{step}
{extra}
[template.hello.en]
subject = "Hi"
text = "Hi"
"""


def test_the_documented_example_parses_into_the_model() -> None:
    parsed = load(GOOD)
    (pb,) = parsed.playbooks
    assert pb.name == "win_back_valuable"
    assert pb.set == "retention"
    assert pb.trigger == m.Trigger(kind="change", field="status", to="lost")
    assert pb.conditions == m.Condition(all_=(m.Clause("money_at_stake", "gte", 100),))
    assert pb.goal == m.Goal("order_placed", 30)
    assert pb.reentry == "never"
    assert pb.control_share == 0.2
    assert pb.source == "regulars.toml"
    assert pb.steps == (
        m.Wait(id="wait", days=1, until=time(10, 0)),
        m.Branch(id="still_lost", condition=m.Condition(all_=(m.Clause("status", "eq", "lost"),)),
                 then="offer", else_="done"),
        m.Send(id="offer", channel="email", template="win_back_offer", purpose="marketing"),
        m.Exit(id="done"),
    )
    (tpl,) = parsed.templates
    assert (tpl.name, tpl.language, tpl.subject) == ("win_back_offer", "ru", "Мы скучаем")


def test_goal_false_means_no_goal_and_defaults_apply() -> None:
    (pb,) = load("""
[playbook.p]
trigger = { kind = "cadence", every = "quarter" }
goal = false
[[playbook.p.steps]]
id = "call"
kind = "task"
action = "quarterly_call"
""").playbooks
    assert pb.goal is None
    assert pb.reentry == m.REENTRY_AFTER_EXIT
    assert pb.control_share is None
    assert pb.set == "custom"
    assert pb.steps == (m.CreateTask(id="call", action="quarterly_call"),)


def test_every_step_kind_parses() -> None:
    (pb,) = load("""
[playbook.p]
trigger = { kind = "date", base = "attribute", attribute = "founded", offset_days = -3 }
[[playbook.p.steps]]
id = "a"
kind = "award_points"
points = 50
[[playbook.p.steps]]
id = "b"
kind = "issue_coupon"
reward = "coffee"
[[playbook.p.steps]]
id = "c"
kind = "tag"
tag = "vip"
remove = true
[[playbook.p.steps]]
id = "d"
kind = "webhook"
url = "https://example.com/hook"
""").playbooks
    assert pb.trigger == m.Trigger(kind="date", base="attribute", attribute="founded",
                                   offset_days=-3)
    assert pb.steps == (m.AwardPoints("a", 50), m.IssueCoupon("b", "coffee"),
                        m.Tag("c", "vip", remove=True), m.CallWebhook("d", "https://example.com/hook"))


def test_a_custom_event_is_known_once_named() -> None:
    text = with_step('id = "x"\nkind = "exit"').replace('"order_placed"', '"visited_fair"')
    assert errors_of(text) == [
        'regulars.toml: playbook "p": trigger: unknown event \'visited_fair\' (one of: '
        "cart_abandoned, first_order, nps_answered, order_placed, review_posted, signed_up)"]
    assert load(text, custom_events=["visited_fair"]).playbooks[0].trigger.event == "visited_fair"


@pytest.mark.parametrize(("trigger", "message"), [
    ('{ kind = "sometimes" }', "trigger: unknown trigger kind 'sometimes' (one of: cadence, "
                               "change, date, event)"),
    ('{ kind = "change", field = "mood", to = "bad" }',
     "trigger: unknown change field 'mood' (one of: rung, signal, status, tier)"),
    ('{ kind = "date", base = "easter" }',
     "trigger: unknown date base 'easter' (one of: attribute, birthday, "
     "first_order_anniversary, holiday)"),
    ('{ kind = "cadence", every = "fortnight" }',
     "trigger: unknown cadence 'fortnight' (one of: month, quarter, week, year)"),
    ('{ kind = "date", base = "holiday" }', "trigger: holiday is missing"),
    ('{ kind = "event", event = "order_placed", evnt = "x" }',
     "trigger: unknown key 'evnt' (known: kind, event)"),
])
def test_a_bad_trigger_is_refused_naming_the_playbook(trigger: str, message: str) -> None:
    text = with_step('id = "x"\nkind = "exit"').replace(
        '{ kind = "event", event = "order_placed" }', trigger)
    assert errors_of(text) == [f'regulars.toml: playbook "p": {message}']


@pytest.mark.parametrize(("step", "message"), [
    ('id = "s"\nkind = "teleport"', "unknown step kind 'teleport' (one of: wait, branch, send, "
                                    "task, award_points, issue_coupon, tag, webhook, exit)"),
    ('id = "s"\nkind = "wait"\ndays = "x"', "days must be a whole number, not 'x'"),
    ('id = "s"\nkind = "wait"\ndays = true', "days must be a whole number, not True"),
    ('id = "s"\nkind = "wait"', "a wait needs days, hours or until"),
    ('id = "s"\nkind = "wait"\nuntil = "25:00"',
     "until must be a time of day such as \"10:00\", not '25:00'"),
    ('id = "s"\nkind = "wait"\nhours = 1\ndayz = 2',
     "unknown key 'dayz' (known: id, kind, days, hours, until)"),
    ('id = "s"\nkind = "send"\nchannel = "pigeon"\ntemplate = "hello"',
     "unknown channel 'pigeon' (one of: email, messenger, sms)"),
    ('id = "s"\nkind = "send"\nchannel = "email"\ntemplate = "bye"', "unknown template 'bye'"),
    ('id = "s"\nkind = "send"\nchannel = "email"', "template is missing"),
    ('id = "s"\nkind = "award_points"\npoints = 0', "points must be at least 1, not 0"),
    ('id = "s"\nkind = "task"\naction = "call"\nchannel = "fax"',
     "unknown task channel 'fax' (one of: email, meeting, messenger, phone, sms)"),
    ('id = "s"\nkind = "webhook"\nurl = "ftp://x"',
     "url must start with https:// or http://, not 'ftp://x'"),
])
def test_a_bad_step_is_refused_naming_playbook_and_step(step: str, message: str) -> None:
    assert errors_of(with_step(step)) == [f'regulars.toml: playbook "p", step "s": {message}']


def test_missing_and_duplicate_step_ids_are_refused() -> None:
    text = with_step('kind = "exit"', '[[playbook.p.steps]]\nid = "a"\nkind = "exit"\n'
                                      '[[playbook.p.steps]]\nid = "a"\nkind = "exit"')
    assert errors_of(text) == [
        "regulars.toml: playbook \"p\", step \"#1\": a step needs an id (letters, digits, _ or -),"
        " not None",
        "regulars.toml: playbook \"p\", step \"a\": duplicate step id 'a'",
    ]


def test_a_branch_back_or_to_itself_is_a_cycle_and_to_nowhere_is_unknown() -> None:
    text = with_step(
        'id = "w"\nkind = "wait"\ndays = 1',
        '[[playbook.p.steps]]\nid = "b"\nkind = "branch"\n'
        'condition = { all = [ { field = "orders", gte = 1 } ] }\nthen = "w"\nelse = "b"\n'
        '[[playbook.p.steps]]\nid = "c"\nkind = "branch"\ncondition = {}\nthen = "nowhere"')
    assert errors_of(text) == [
        'regulars.toml: playbook "p", step "b": branch back to step \'w\': a cycle in branches '
        "(a branch may only jump forward)",
        'regulars.toml: playbook "p", step "b": branch back to step \'b\': a cycle in branches '
        "(a branch may only jump forward)",
        "regulars.toml: playbook \"p\", step \"c\": branch to an unknown step 'nowhere'",
    ]


@pytest.mark.parametrize(("conditions", "message"), [
    ('{ all = [ { field = "colour", eq = "red" } ] }',
     "conditions: unknown condition field 'colour' (one of: "),
    ('{ all = [ { field = "orders", about = 3 } ] }',
     "conditions: unknown condition operator 'about' (one of: eq, ne, in, "),
    ('{ all = [ { field = "orders", gte = 3, lte = 5 } ] }',
     "conditions: a clause on 'orders' needs exactly one operator"),
    ('{ all = [ { field = "rung", in = "regular" } ] }',
     "conditions: in needs a list of values, not 'regular'"),
    ('{ every = [] }', "conditions: unknown key 'every' (known: all, any)"),
])
def test_a_bad_condition_is_refused(conditions: str, message: str) -> None:
    text = with_step('id = "x"\nkind = "exit"').replace(
        "[[playbook.p.steps]]", f"conditions = {conditions}\n[[playbook.p.steps]]", 1)
    (error,) = errors_of(text)
    assert error.startswith(f'regulars.toml: playbook "p": {message}')


def test_attribute_fields_are_conditions() -> None:
    text = with_step('id = "x"\nkind = "exit"').replace(
        "[[playbook.p.steps]]",
        'conditions = { any = [ { field = "attribute.disc", in = ["D", "I"] } ] }\n'
        "[[playbook.p.steps]]", 1)
    (pb,) = load(text).playbooks
    assert pb.conditions.any_ == (m.Clause("attribute.disc", "in", ("D", "I")),)


def test_unknown_playbook_keys_and_bad_values_are_all_collected() -> None:
    text = """
[playbook.p]
titel = "typo"
reentry = "sometimes"
control_share = 1.0
trigger = { kind = "event", event = "order_placed" }
[[playbook.p.steps]]
id = "x"
kind = "exit"
[playbook.q]
trigger = { kind = "event", event = "order_placed" }
steps = []
"""
    errors = errors_of(text)
    assert errors[0].startswith("regulars.toml: playbook \"p\": unknown key 'titel' (known: title,")
    assert errors[1:] == [
        "regulars.toml: playbook \"p\": unknown reentry 'sometimes' (one of: after_days, "
        "after_exit, never)",
        'regulars.toml: playbook "p": control_share must be a number from 0 up to (not '
        "including) 1, not 1.0",
        'regulars.toml: playbook "q": steps must be a non-empty list of '
        "[[playbook.q.steps]] tables",
    ]


def test_a_playbooks_file_refuses_other_tables_and_bad_templates() -> None:
    text = """
[playbok.x]
title = "typo"
[template.hello.english]
text = "x"
[template.bye.en]
subject = "no text"
"""
    assert errors_of(text, definitions_only=True) == [
        "regulars.toml: unknown table 'playbok' (a playbooks file holds [playbook.…] and "
        "[template.…] tables)",
        "regulars.toml: template \"hello.english\": 'english' is not a language code (such as "
        "ru, et or en)",
        'regulars.toml: template "bye.en": text is missing',
    ]


def test_a_template_of_another_file_may_be_sent() -> None:
    text = with_step('id = "s"\nkind = "send"\nchannel = "sms"\ntemplate = "shipped"')
    (pb,) = load(text, known_templates={"shipped"}).playbooks
    assert pb.steps == (m.Send("s", "sms", "shipped"),)


def test_the_error_lines_are_translated() -> None:
    text = with_step('id = "s"\nkind = "teleport"')
    with use_language("ru"):
        with pytest.raises(PlaybooksInvalid) as caught:
            load(text)
        line = str(caught.value.errors[0])
    assert line == ('regulars.toml: сценарий "p", шаг "s": неизвестный вид шага \'teleport\' '
                    "(допустимо: wait, branch, send, task, award_points, issue_coupon, tag, "
                    "webhook, exit)")


def test_a_toml_local_time_is_a_time_of_day_too() -> None:
    (pb,) = load(with_step('id = "w"\nkind = "wait"\nuntil = 09:30:00')).playbooks
    assert pb.steps == (m.Wait(id="w", until=time(9, 30)),)


# --- branches: refused exactly when some branch jumps to itself or back ----------------------


@given(targets=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=1, max_size=6))
def test_a_branch_is_refused_exactly_when_it_does_not_jump_forward(
        targets: list[int | None]) -> None:
    # step i is a branch to step targets[i] when that is given, else a tag step
    steps = []
    for i, target in enumerate(targets):
        if target is None:
            steps.append({"id": f"s{i}", "kind": "tag", "tag": "x"})
        else:
            steps.append({"id": f"s{i}", "kind": "branch", "condition": {},
                          "then": f"s{target}"})
    data = {"playbook": {"p": {"trigger": {"kind": "cadence", "every": "month"},
                               "steps": steps}}}
    backwards = any(t is not None and t <= i for i, t in enumerate(targets))
    unknown = any(t is not None and t >= len(targets) for t in targets)
    try:
        parse(data, "f.toml")
    except PlaybooksInvalid as exc:
        messages = [e.message for e in exc.errors]
        assert backwards or unknown
        assert all("cycle in branches" in t or "unknown step" in t for t in messages)
        assert sum("cycle" in t for t in messages) == sum(
            t is not None and t <= i for i, t in enumerate(targets))
    else:
        assert not backwards and not unknown


CODES = {"rung": ("prospect", "regular", "loyal"), "signal": ("overdue", "detractor")}


def test_a_code_no_customer_can_have_is_refused_when_codes_are_known() -> None:
    text = with_step('id = "b"\nkind = "branch"\n'
                     'condition = { all = [ { field = "signals", has = ["overdue", "overdeu"] } ] }'
                     '\nthen = "e"', '[[playbook.p.steps]]\nid = "e"\nkind = "exit"').replace(
        '{ kind = "event", event = "order_placed" }',
        '{ kind = "change", field = "signal", to = "detractr" }').replace(
        "[[playbook.p.steps]]",
        'conditions = { all = [ { field = "rung", in = ["Regular", "golden"] } ] }\n'
        "[[playbook.p.steps]]", 1)
    assert errors_of(text, codes=CODES) == [
        'regulars.toml: playbook "p": trigger: unknown signal \'detractr\' (one of: overdue, '
        "detractor)",
        'regulars.toml: playbook "p": conditions: unknown rung \'golden\' (one of: prospect, '
        "regular, loyal)",
        'regulars.toml: playbook "p", step "b": unknown signal \'overdeu\' (one of: overdue, '
        "detractor)",
    ]
    # without the codes (a caller that does not know them) the same file parses
    assert load(text).playbooks[0].trigger.to == "detractr"
