"""Playbooks files (TOML, already loaded) → :mod:`regulars.domain.playbooks.model` types.

A business writes playbooks in ``regulars.toml`` or in files of its own::

    [playbook.win_back_valuable]
    title = "One win-back offer for a valuable lost customer"
    set = "retention"
    trigger = { kind = "change", field = "status", to = "lost" }
    conditions = { all = [ { field = "money_at_stake", gte = 100 } ] }
    goal = { event = "order_placed", days = 30 }     # or goal = false
    reentry = "never"
    [[playbook.win_back_valuable.steps]]
    id = "offer"
    kind = "send"
    channel = "email"
    template = "win_back_offer"

    [template.win_back_offer.ru]
    subject = "…"
    text = "…"

Everything is checked when the file is loaded, not when a journey reaches a step: a typo in a
key, a branch that jumps back (which could loop for ever), a send to a template nobody wrote.
All the problems of a file are collected and raised together, each naming file, playbook and
step, so a business fixes them in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from regulars.domain.errors import InputError
from regulars.domain.playbooks import model as m
from regulars.domain.tasks import CHANNELS as TASK_CHANNELS
from regulars.i18n import _, ngettext

# the top-level tables of a playbooks file; ``templates`` is accepted as well because the
# model's docstring spells it so
PLAYBOOK_TABLE = "playbook"
TEMPLATE_TABLES = ("template", "templates")
DEFINITION_TABLES = (PLAYBOOK_TABLE, *TEMPLATE_TABLES)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

_PLAYBOOK_KEYS = ("title", "set", "description", "trigger", "conditions", "goal", "reentry",
                  "reentry_days", "control_share", "enabled", "exit_when_unmatched", "steps")
_TRIGGER_KEYS = {
    m.EVENT: ("kind", "event"),
    m.CHANGE: ("kind", "field", "to", "from"),
    m.DATE: ("kind", "base", "holiday", "attribute", "offset_days"),
    m.CADENCE: ("kind", "every", "offset_days"),
}
_STEP_KEYS = {
    "wait": ("days", "hours", "until"),
    "branch": ("condition", "then", "else"),
    "send": ("channel", "template", "purpose"),
    "task": ("action", "due_in_days", "channel", "note"),
    "award_points": ("points", "reason"),
    "issue_coupon": ("reward",),
    "tag": ("tag", "remove"),
    "webhook": ("url",),
    "exit": (),
}
_TEMPLATE_KEYS = ("subject", "text", "html")


@dataclass(frozen=True)
class PlaybookError:
    """One thing wrong in a playbooks file; ``playbook``/``step``/``template`` say where."""

    file: str
    playbook: str | None
    step: str | None
    message: str
    template: str | None = None

    def __str__(self) -> str:
        if self.playbook is not None and self.step is not None:
            return _('{file}: playbook "{playbook}", step "{step}": {message}').format(
                file=self.file, playbook=self.playbook, step=self.step, message=self.message)
        if self.playbook is not None:
            return _('{file}: playbook "{playbook}": {message}').format(
                file=self.file, playbook=self.playbook, message=self.message)
        if self.template is not None:
            return _('{file}: template "{template}": {message}').format(
                file=self.file, template=self.template, message=self.message)
        return f"{self.file}: {self.message}"


class PlaybooksInvalid(InputError):  # noqa: N818 - the name the playbooks' parts agreed on
    """Playbooks files that cannot be used; ``errors`` holds every problem found."""

    def __init__(self, errors: Sequence[PlaybookError]):
        self.errors = tuple(errors)
        n = len(self.errors)
        header = ngettext("{n} problem in the playbooks:", "{n} problems in the playbooks:",
                          n).format(n=n)
        super().__init__("\n".join([header, *(f"  - {e}" for e in self.errors)]))


@dataclass(frozen=True)
class Parsed:
    playbooks: tuple[m.Playbook, ...] = ()
    templates: tuple[m.Template, ...] = ()


@dataclass
class _Errors:
    file: str
    found: list[PlaybookError] = field(default_factory=list)

    def add(self, message: str, playbook: str | None = None, step: str | None = None,
            template: str | None = None) -> None:
        self.found.append(PlaybookError(self.file, playbook, step, message, template))


class _Bad(Exception):  # noqa: N818 - internal, never escapes parse()
    """A value that cannot be used; the caller records it where it is."""


# --- typed readers: each raises _Bad with a sentence --------------------------------------------

def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "text", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)


def _str(data: Mapping[str, Any], key: str, *, required: bool = False,
         default: str | None = None, empty: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _Bad(_("{key} is missing").format(key=key))
        return default
    if empty and value == "":
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(_("{key} must be a non-empty text, not {value!r}").format(key=key, value=value))
    return value.strip()


def _int(data: Mapping[str, Any], key: str, *, default: int = 0, minimum: int | None = 0,
         maximum: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(_("{key} must be a whole number, not {value!r}").format(key=key, value=value))
    if minimum is not None and value < minimum:
        raise _Bad(_("{key} must be at least {minimum}, not {value}").format(
            key=key, minimum=minimum, value=value))
    if maximum is not None and value > maximum:
        raise _Bad(_("{key} must be at most {maximum}, not {value}").format(
            key=key, maximum=maximum, value=value))
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _Bad(_("{key} must be true or false, not {value!r}").format(key=key, value=value))
    return value


def _one_of(value: str | None, key: str, allowed: Collection[str]) -> str | None:
    if value is not None and value not in allowed:
        raise _Bad(_("unknown {key} {value!r} (one of: {allowed})").format(
            key=key, value=value, allowed=", ".join(sorted(allowed))))
    return value


def _unknown_keys(data: Mapping[str, Any], allowed: Collection[str]) -> list[str]:
    return [_("unknown key {key!r} (known: {allowed})").format(
        key=key, allowed=", ".join(allowed)) for key in data if key not in allowed]


def _table(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(_("{what} must be a table, not {value!r}").format(what=what, value=value))
    return value


# --- conditions ---------------------------------------------------------------------------------

def _condition_field(name: object) -> str:
    if not isinstance(name, str):
        raise _Bad(_("a clause's field must be a text, not {value!r}").format(value=name))
    if name in m.CONDITION_FIELDS:
        return name
    if name.startswith(m.ATTRIBUTE_PREFIX) and len(name) > len(m.ATTRIBUTE_PREFIX):
        return name
    raise _Bad(_("unknown condition field {field!r} (one of: {allowed}, or attribute.<name>)")
               .format(field=name, allowed=", ".join(m.CONDITION_FIELDS)))


_SCALARS = (str, int, float, bool)


def _clause_value(op: str, value: object) -> object:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not all(isinstance(v, _SCALARS) for v in value):
            raise _Bad(_("{op} needs a list of values, not {value!r}").format(op=op, value=value))
        return tuple(value)
    if op in ("gte", "lte", "gt", "lt"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _Bad(_("{op} needs a number, not {value!r}").format(op=op, value=value))
        return value
    if op == "exists":
        if not isinstance(value, bool):
            raise _Bad(_("exists needs true or false, not {value!r}").format(value=value))
        return value
    if op in ("has", "lacks"):
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        if isinstance(value, str):
            return value
        raise _Bad(_("{op} needs a code or a list of codes, not {value!r}").format(
            op=op, value=value))
    if not isinstance(value, _SCALARS):
        raise _Bad(_("{op} needs a single value, not {value!r}").format(op=op, value=value))
    return value


# a condition field → the kind of code it holds (a list field holds codes of that kind)
_CODE_OF_FIELD = {"rung": "rung", "status": "status", "signals": "signal", "traits": "trait",
                  "rfm_segment": "rfm_segment"}
_CODE_OPS = ("eq", "ne", "in", "not_in", "has", "lacks")


def _known_codes(kind: str, value: object, codes: Mapping[str, Collection[str]]) -> None:
    """Refuse a code that no customer can have: a typo would make a playbook silently
    never run."""
    known = codes.get(kind)
    if not known:
        return
    wanted = value if isinstance(value, tuple | list) else (value,)
    folded = {k.casefold() for k in known}
    for code in wanted:
        if isinstance(code, str) and code.casefold() not in folded:
            raise _Bad(_("unknown {kind} {value!r} (one of: {allowed})").format(
                kind=kind, value=code, allowed=", ".join(known)))


def _clause(raw: object, codes: Mapping[str, Collection[str]]) -> m.Clause:
    data = _table(raw, _("a clause"))
    if "field" not in data:
        raise _Bad(_("a clause needs a field"))
    name = _condition_field(data["field"])
    ops = [k for k in data if k != "field"]
    unknown = [k for k in ops if k not in m.OPS]
    if unknown:
        raise _Bad(_("unknown condition operator {op!r} (one of: {allowed})").format(
            op=unknown[0], allowed=", ".join(m.OPS)))
    if len(ops) != 1:
        raise _Bad(_("a clause on {field!r} needs exactly one operator (one of: {allowed})")
                   .format(field=name, allowed=", ".join(m.OPS)))
    op = ops[0]
    value = _clause_value(op, data[op])
    if op in _CODE_OPS and name in _CODE_OF_FIELD:
        _known_codes(_CODE_OF_FIELD[name], value, codes)
    return m.Clause(field=name, op=op, value=value)


def parse_condition(raw: object, codes: Mapping[str, Collection[str]] | None = None,
                    ) -> tuple[m.Condition, list[str]]:
    """A condition table ``{ all = [...], any = [...] }``; its problems as sentences.
    ``codes``: the known codes by kind (rung, status, signal, trait, rfm_segment)."""
    problems: list[str] = []
    try:
        data = _table(raw, _("conditions"))
    except _Bad as exc:
        return m.Condition(), [str(exc)]
    problems += _unknown_keys(data, ("all", "any"))
    parts: dict[str, list[m.Clause]] = {"all": [], "any": []}
    for part in ("all", "any"):
        clauses = data.get(part, [])
        if not isinstance(clauses, list):
            problems.append(_("{key} must be a list of clauses, not {value!r}").format(
                key=part, value=clauses))
            continue
        for raw_clause in clauses:
            try:
                parts[part].append(_clause(raw_clause, codes or {}))
            except _Bad as exc:
                problems.append(str(exc))
    return m.Condition(all_=tuple(parts["all"]), any_=tuple(parts["any"])), problems


# --- triggers -----------------------------------------------------------------------------------

def _trigger(raw: object, events: Collection[str], codes: Mapping[str, Collection[str]],
             ) -> tuple[m.Trigger | None, list[str]]:
    try:
        data = _table(raw, _("trigger"))
        kind = _one_of(_str(data, "kind", required=True), _("trigger kind"), m.TRIGGER_KINDS)
    except _Bad as exc:
        return None, [str(exc)]
    assert kind is not None
    problems = _unknown_keys(data, _TRIGGER_KEYS[kind])
    trigger: m.Trigger | None = None
    try:
        if kind == m.EVENT:
            event = _one_of(_str(data, "event", required=True), _("event"), events)
            trigger = m.Trigger(kind=kind, event=event)
        elif kind == m.CHANGE:
            watched = _one_of(_str(data, "field", required=True), _("change field"),
                              m.CHANGE_FIELDS)
            trigger = m.Trigger(kind=kind, field=watched, to=_str(data, "to", required=True),
                                from_=_str(data, "from"))
            assert watched is not None
            _known_codes(watched, trigger.to, codes)
            if trigger.from_ is not None:
                _known_codes(watched, trigger.from_, codes)
        elif kind == m.DATE:
            base = _one_of(_str(data, "base", required=True), _("date base"), m.DATE_BASES)
            holiday = _str(data, "holiday", required=base == m.HOLIDAY)
            attribute = _str(data, "attribute", required=base == m.ATTRIBUTE)
            if base != m.HOLIDAY and holiday is not None:
                raise _Bad(_("holiday is only for base = \"holiday\""))
            if base != m.ATTRIBUTE and attribute is not None:
                raise _Bad(_("attribute is only for base = \"attribute\""))
            trigger = m.Trigger(kind=kind, base=base, holiday=holiday, attribute=attribute,
                                offset_days=_int(data, "offset_days", minimum=-366, maximum=366))
        else:
            every = _one_of(_str(data, "every", required=True), _("cadence"), m.CADENCES)
            trigger = m.Trigger(kind=kind, every=every,
                                offset_days=_int(data, "offset_days", minimum=0, maximum=364))
    except _Bad as exc:
        problems.append(str(exc))
    return trigger, problems


# --- steps --------------------------------------------------------------------------------------

def _time_of_day(data: Mapping[str, Any], key: str) -> time | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, time):  # TOML's own local time: until = 10:00:00
        return value
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise _Bad(_("{key} must be a time of day such as \"10:00\", not {value!r}").format(
            key=key, value=value))
    return time(int(match.group(1)), int(match.group(2)))


def _step(data: Mapping[str, Any], step_id: str, kind: str, channels: Collection[str],
          problems: list[str], codes: Mapping[str, Collection[str]]) -> m.Step:
    if kind == "wait":
        wait = m.Wait(id=step_id, days=_int(data, "days", maximum=3650),
                      hours=_int(data, "hours", maximum=24 * 366),
                      until=_time_of_day(data, "until"))
        if not (wait.days or wait.hours or wait.until):
            raise _Bad(_("a wait needs days, hours or until"))
        return wait
    if kind == "branch":
        condition, condition_problems = parse_condition(data.get("condition", {}), codes)
        problems += condition_problems
        if "condition" not in data:
            problems.append(_("condition is missing"))
        then = _str(data, "then", required=True)
        assert then is not None
        return m.Branch(id=step_id, condition=condition, then=then, else_=_str(data, "else"))
    if kind == "send":
        channel = _one_of(_str(data, "channel", required=True), _("channel"), channels)
        template = _str(data, "template", required=True)
        purpose = _one_of(_str(data, "purpose", default=m.MARKETING), _("purpose"),
                          (m.MARKETING, m.TRANSACTIONAL))
        assert channel is not None and template is not None and purpose is not None
        return m.Send(id=step_id, channel=channel, template=template, purpose=purpose)
    if kind == "task":
        action = _str(data, "action", required=True)
        channel = _one_of(_str(data, "channel", default="phone"), _("task channel"),
                          TASK_CHANNELS)
        assert action is not None and channel is not None
        return m.CreateTask(id=step_id, action=action,
                            due_in_days=_int(data, "due_in_days", maximum=365),
                            channel=channel, note=_str(data, "note"))
    if kind == "award_points":
        if "points" not in data:
            raise _Bad(_("{key} is missing").format(key="points"))
        reason = _str(data, "reason", default="playbook")
        assert reason is not None
        return m.AwardPoints(id=step_id, points=_int(data, "points", minimum=1,
                                                      maximum=10_000_000), reason=reason)
    if kind == "issue_coupon":
        reward = _str(data, "reward", required=True)
        assert reward is not None
        return m.IssueCoupon(id=step_id, reward=reward)
    if kind == "tag":
        tag = _str(data, "tag", required=True)
        assert tag is not None
        return m.Tag(id=step_id, tag=tag, remove=_bool(data, "remove", False))
    if kind == "webhook":
        url = _str(data, "url", required=True)
        assert url is not None
        if not url.startswith(("https://", "http://")):
            raise _Bad(_("url must start with https:// or http://, not {value!r}").format(
                value=url))
        return m.CallWebhook(id=step_id, url=url)
    return m.Exit(id=step_id)


def _steps(raw: object, errors: _Errors, playbook: str, channels: Collection[str],
           templates: Collection[str], codes: Mapping[str, Collection[str]],
           ) -> tuple[m.Step, ...]:
    if not isinstance(raw, list) or not raw:
        errors.add(_("steps must be a non-empty list of [[playbook.{name}.steps]] tables")
                   .format(name=playbook), playbook)
        return ()
    steps: list[m.Step] = []
    seen: dict[str, int] = {}  # id → its place, a step refused for its values included
    for number, item in enumerate(raw, start=1):
        where = f"#{number}"
        if not isinstance(item, Mapping):
            errors.add(_("a step must be a table, not {value!r}").format(value=item),
                       playbook, where)
            continue
        step_id = item.get("id")
        if not isinstance(step_id, str) or not _NAME.match(step_id):
            errors.add(_("a step needs an id (letters, digits, _ or -), not {value!r}")
                       .format(value=step_id), playbook, where)
            continue
        if step_id in seen:
            errors.add(_("duplicate step id {id!r}").format(id=step_id), playbook, step_id)
            continue
        seen[step_id] = len(seen)
        kind = item.get("kind")
        if kind not in _STEP_KEYS:
            errors.add(_("unknown step kind {kind!r} (one of: {allowed})").format(
                kind=kind, allowed=", ".join(_STEP_KEYS)), playbook, step_id)
            continue
        assert isinstance(kind, str)
        problems = _unknown_keys(item, ("id", "kind", *_STEP_KEYS[kind]))
        try:
            step = _step(item, step_id, kind, channels, problems, codes)
        except _Bad as exc:
            problems.append(str(exc))
        else:
            steps.append(step)
            if isinstance(step, m.Send) and step.template not in templates:
                problems.append(_("unknown template {name!r}").format(name=step.template))
        for problem in problems:
            errors.add(problem, playbook, step_id)
    _check_branches(steps, seen, errors, playbook)
    return tuple(steps)


def _check_branches(steps: Sequence[m.Step], position: Mapping[str, int], errors: _Errors,
                    playbook: str) -> None:
    # only forward jumps: then every journey ends, whatever the conditions say
    for step in steps:
        if not isinstance(step, m.Branch):
            continue
        for target in (step.then, step.else_):
            if target is None:
                continue
            if target not in position:
                errors.add(_("branch to an unknown step {target!r}").format(target=target),
                           playbook, step.id)
            elif position[target] <= position[step.id]:
                errors.add(_("branch back to step {target!r}: a cycle in branches (a branch "
                             "may only jump forward)").format(target=target), playbook, step.id)


# --- the playbook -------------------------------------------------------------------------------

def _goal(raw: object, events: Collection[str]) -> m.Goal | None:
    if raw is False:
        return None
    if raw is True:
        return m.Goal()
    data = _table(raw, _("goal"))
    unknown = _unknown_keys(data, ("event", "days"))
    if unknown:
        raise _Bad(unknown[0])
    event = _one_of(_str(data, "event", default=m.ORDER_PLACED), _("goal event"), events)
    assert event is not None
    return m.Goal(event=event, days=_int(data, "days", default=30, minimum=1, maximum=3650))


def _playbook(name: str, raw: object, errors: _Errors, events: Collection[str],
              channels: Collection[str], templates: Collection[str],
              codes: Mapping[str, Collection[str]]) -> m.Playbook | None:
    before = len(errors.found)
    if not _NAME.match(name):
        errors.add(_("a playbook's name may hold letters, digits, _, - and . only"), name)
    if not isinstance(raw, Mapping):
        errors.add(_("must be a table ([playbook.{name}]), not {value!r}").format(
            name=name, value=raw), name)
        return None
    for problem in _unknown_keys(raw, _PLAYBOOK_KEYS):
        errors.add(problem, name)
    values: dict[str, Any] = {}

    def read(what: str, reader: Any) -> None:
        try:
            values[what] = reader()
        except _Bad as exc:
            errors.add(str(exc), name)

    read("title", lambda: _str(raw, "title", default=name))
    read("set", lambda: _str(raw, "set", default="custom"))
    read("description", lambda: _str(raw, "description", default="", empty=True))
    read("reentry", lambda: _one_of(_str(raw, "reentry", default=m.REENTRY_AFTER_EXIT),
                                    _("reentry"), m.REENTRY))
    read("reentry_days", lambda: _int(raw, "reentry_days", maximum=36500))
    read("enabled", lambda: _bool(raw, "enabled", True))
    read("exit_when_unmatched", lambda: _bool(raw, "exit_when_unmatched", True))
    read("goal", lambda: _goal(raw.get("goal", True), events))
    read("control_share", lambda: _share(raw.get("control_share")))
    if values.get("reentry") == m.REENTRY_AFTER_DAYS and not values.get("reentry_days"):
        errors.add(_("reentry = \"after_days\" needs reentry_days of at least 1"), name)
    if "trigger" not in raw:
        errors.add(_("{key} is missing").format(key="trigger"), name)
        trigger = None
    else:
        trigger, problems = _trigger(raw["trigger"], events, codes)
        for problem in problems:
            errors.add(_("trigger: {problem}").format(problem=problem), name)
    condition, problems = parse_condition(raw.get("conditions", {}), codes)
    for problem in problems:
        errors.add(_("conditions: {problem}").format(problem=problem), name)
    steps = _steps(raw.get("steps"), errors, name, channels, templates, codes)
    if len(errors.found) > before or trigger is None:
        return None
    return m.Playbook(
        name=name, title=values["title"], set=values["set"], trigger=trigger, steps=steps,
        conditions=condition, goal=values["goal"],
        exit_when_unmatched=values["exit_when_unmatched"], reentry=values["reentry"],
        reentry_days=values["reentry_days"], control_share=values["control_share"],
        enabled=values["enabled"], description=values["description"], source=errors.file)


def _share(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise _Bad(_("control_share must be a number from 0 up to (not including) 1, not "
                     "{value!r}").format(value=value))
    return float(value)


# --- templates ----------------------------------------------------------------------------------

def _templates(raw: object, errors: _Errors) -> list[m.Template]:
    found: list[m.Template] = []
    try:
        table = _table(raw, _("template"))
    except _Bad as exc:
        errors.add(str(exc))
        return found
    for name, languages in table.items():
        if not _NAME.match(name):
            errors.add(_("a template's name may hold letters, digits, _, - and . only"),
                       template=name)
        if not isinstance(languages, Mapping) or not languages:
            errors.add(_("must hold one table per language ([template.{name}.en])").format(
                name=name), template=name)
            continue
        for language, body in languages.items():
            where = f"{name}.{language}"
            if not _LANGUAGE.match(language):
                errors.add(_("{value!r} is not a language code (such as ru, et or en)").format(
                    value=language), template=where)
                continue
            if not isinstance(body, Mapping):
                errors.add(_("must be a table with subject, text and html"), template=where)
                continue
            problems = _unknown_keys(body, _TEMPLATE_KEYS)
            try:
                text = _str(body, "text", required=True)
                subject = _str(body, "subject")
                html = _str(body, "html")
            except _Bad as exc:
                problems.append(str(exc))
            for problem in problems:
                errors.add(problem, template=where)
            if not problems:
                assert text is not None
                found.append(m.Template(name=name, language=language, text=text,
                                        subject=subject, html=html, source=errors.file))
    return found


def template_names(data: Mapping[str, Any]) -> set[str]:
    """The names of the templates a loaded file defines (before checking them), so a
    playbook in one file may send a template of another."""
    names: set[str] = set()
    for key in TEMPLATE_TABLES:
        table = data.get(key)
        if isinstance(table, Mapping):
            names.update(str(k) for k in table)
    return names


# --- the file -----------------------------------------------------------------------------------

def parse(data: Mapping[str, Any], source: str, *, custom_events: Collection[str] = (),
          known_templates: Collection[str] = (), channels: Collection[str] = m.SEND_CHANNELS,
          definitions_only: bool = False,
          codes: Mapping[str, Collection[str]] | None = None) -> Parsed:
    """The playbooks and templates of one loaded TOML document.

    ``source`` names the file in errors. A send may name a template of this document or one
    of ``known_templates`` (another file's). ``definitions_only``: the document is a playbooks
    file of its own, so any other top-level key is a mistake (in ``regulars.toml`` the other
    keys are settings, checked by the settings). ``codes``: the codes a customer can have, by
    kind (``rung``, ``status``, ``signal``, ``trait``, ``rfm_segment``; the analytics own
    them, so the caller passes them): a trigger or clause naming another is refused.

    Raises :class:`PlaybooksInvalid` with every problem of the document.
    """
    errors = _Errors(source)
    if definitions_only:
        for key in data:
            if key not in DEFINITION_TABLES:
                errors.add(_("unknown table {key!r} (a playbooks file holds [playbook.…] and "
                             "[template.…] tables)").format(key=key))
    events = (*m.KNOWN_EVENTS, *custom_events)
    templates: list[m.Template] = []
    for key in TEMPLATE_TABLES:
        if key in data:
            templates += _templates(data[key], errors)
    names = {*template_names(data), *known_templates}
    playbooks: list[m.Playbook] = []
    raw_playbooks = data.get(PLAYBOOK_TABLE, {})
    if not isinstance(raw_playbooks, Mapping):
        errors.add(_("playbook must be a table of playbooks ([playbook.<name>])"))
        raw_playbooks = {}
    for name, raw in raw_playbooks.items():
        playbook = _playbook(str(name), raw, errors, events, channels, names, codes or {})
        if playbook is not None:
            playbooks.append(playbook)
    if errors.found:
        raise PlaybooksInvalid(errors.found)
    return Parsed(playbooks=tuple(playbooks), templates=tuple(templates))
