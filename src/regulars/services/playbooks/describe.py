"""Playbooks shown to people and to programs (issue 20): each part in words, in the reader's
language, for ``regulars playbooks list/show``; and as plain data (codes, never words) for
``--format json``, the HTTP API and Python. Also the preview: a playbook's messages rendered
for one customer, nothing sent."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import time
from typing import Any

from regulars.domain.playbooks import model as m
from regulars.domain.worklist import ACTION_NAMES
from regulars.i18n import N_, _, fmt_list, fmt_number, fmt_percent, ngettext
from regulars.services.playbooks.definitions import Library
from regulars.services.playbooks.ports import Facts, TemplateEngine, TemplateRenderError
from regulars.services.playbooks.templates import TemplateSet, template_context

_EVERY = {"week": N_("every week"), "month": N_("every month"),
          "quarter": N_("every quarter"), "year": N_("every year")}
_CHANNELS = {"email": N_("e-mail"), "sms": N_("SMS"), "messenger": N_("messenger"),
             "phone": N_("phone"), "meeting": N_("meeting")}
_OPS = {"eq": N_("{field} is {value}"), "ne": N_("{field} is not {value}"),
        "in": N_("{field} is one of {value}"), "not_in": N_("{field} is none of {value}"),
        "gte": N_("{field} ≥ {value}"), "lte": N_("{field} ≤ {value}"),
        "gt": N_("{field} > {value}"), "lt": N_("{field} < {value}"),
        "has": N_("{field} include {value}"), "lacks": N_("{field} do not include {value}")}
_EVENTS = {"first_order": N_("the first order"), "order_placed": N_("an order"),
           "signed_up": N_("a sign-up"), "cart_abandoned": N_("an abandoned cart"),
           "nps_answered": N_("an NPS answer"), "review_posted": N_("a review")}


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=fmt_number(n))


def _channel(code: str) -> str:
    return _(_CHANNELS[code]) if code in _CHANNELS else code


def _event(code: str) -> str:
    return _(_EVENTS[code]) if code in _EVENTS else _("the event {name}").format(name=code)


def _clock(at: time) -> str:
    return at.strftime("%H:%M")


def trigger_words(trigger: m.Trigger) -> str:
    """``when the status becomes lost``, ``3 days before the holiday new_year``, …"""
    if trigger.kind == m.EVENT:
        return _("on {event}").format(event=_event(trigger.event or ""))
    if trigger.kind == m.CHANGE:
        if trigger.field == "signal":
            return _("when the signal {to} is raised").format(to=trigger.to)
        text = _("when the {field} becomes {to}").format(field=trigger.field, to=trigger.to)
        if trigger.from_:
            text += " " + _("(from {value})").format(value=trigger.from_)
        return text
    if trigger.kind == m.DATE:
        if trigger.base == m.HOLIDAY:
            day = _("the holiday {name}").format(name=trigger.holiday)
        elif trigger.base == m.ATTRIBUTE:
            day = _("the day in the attribute {name}").format(name=trigger.attribute)
        elif trigger.base == m.BIRTHDAY:
            day = _("the birthday")
        else:
            day = _("the anniversary of the first order")
        offset = trigger.offset_days
        if offset < 0:
            return _("{days} before {day}").format(days=_days(-offset), day=day)
        if offset > 0:
            return _("{days} after {day}").format(days=_days(offset), day=day)
        return _("on {day}").format(day=day)
    every = _(_EVERY[trigger.every or ""]) if trigger.every in _EVERY else str(trigger.every)
    if trigger.offset_days:
        return _("{every}, on its day {n}").format(every=every,
                                                  n=fmt_number(trigger.offset_days + 1))
    return every


def _value(value: object) -> str:
    if isinstance(value, tuple | list):
        return fmt_list([str(v) for v in value])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def clause_words(clause: m.Clause) -> str:
    if clause.op == "exists":
        return (_("{field} is known") if clause.value else _("{field} is not known")).format(
            field=clause.field)
    return _(_OPS[clause.op]).format(field=clause.field, value=_value(clause.value))


def condition_words(condition: m.Condition) -> str:
    if condition.empty:
        return _("every customer")
    parts = [clause_words(c) for c in condition.all_]
    if condition.any_:
        parts.append(_("at least one of: {clauses}").format(
            clauses="; ".join(clause_words(c) for c in condition.any_)))
    return "; ".join(parts)


def step_words(step: m.Step) -> str:
    if isinstance(step, m.Wait):
        parts = []
        if step.days:
            parts.append(_days(step.days))
        if step.hours:
            parts.append(ngettext("{n} hour", "{n} hours", step.hours).format(
                n=fmt_number(step.hours)))
        text = _("wait {time}").format(time=" ".join(parts)) if parts else ""
        if step.until:
            until = _("until {clock} in the customer's time zone").format(
                clock=_clock(step.until))
            text = f"{text}, {until}" if text else _("wait") + " " + until
        return text
    if isinstance(step, m.Branch):
        text = _("if {condition}, go to {then}").format(
            condition=condition_words(step.condition), then=step.then)
        if step.else_:
            text += _(", otherwise to {step}").format(step=step.else_)
        return text
    if isinstance(step, m.Send):
        purpose = _("transactional") if step.purpose == m.TRANSACTIONAL else _("marketing")
        return _("send {template} by {channel} ({purpose})").format(
            template=step.template, channel=_channel(step.channel), purpose=purpose)
    if isinstance(step, m.CreateTask):
        action = _(ACTION_NAMES[step.action]) if step.action in ACTION_NAMES else step.action
        return _("a task for the manager: {action}, by {channel}, due in {days}").format(
            action=action, channel=_channel(step.channel), days=_days(step.due_in_days))
    if isinstance(step, m.AwardPoints):
        return ngettext("award {n} point", "award {n} points", step.points).format(
            n=fmt_number(step.points))
    if isinstance(step, m.IssueCoupon):
        return _("issue a coupon for {reward}").format(reward=step.reward)
    if isinstance(step, m.Tag):
        return (_("remove the tag {tag}") if step.remove else _("add the tag {tag}")).format(
            tag=step.tag)
    if isinstance(step, m.CallWebhook):
        return _("call the webhook {url}").format(url=step.url)
    return _("end the journey")


def goal_words(playbook: m.Playbook) -> str:
    if playbook.goal is None:
        return _("none")
    return _("{event} within {days}").format(event=_event(playbook.goal.event),
                                            days=_days(playbook.goal.days))


def reentry_words(playbook: m.Playbook) -> str:
    if playbook.reentry == m.REENTRY_NEVER:
        return _("once per customer, ever")
    if playbook.reentry == m.REENTRY_AFTER_DAYS:
        return _("again {days} after the previous entry").format(
            days=_days(playbook.reentry_days))
    return _("again once the previous journey has ended")


def share_words(share: float) -> str:
    return fmt_percent(share, 0)


# --- as data --------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, time):
        return _clock(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k.rstrip("_"): _plain(v) for k, v in value.items()}
    return value


def step_data(step: m.Step) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": m.step_kind(step)}
    data.update(_plain(dataclasses.asdict(step)))
    if isinstance(step, m.Branch):  # a clause as written: {field, <op>: value}
        data["condition"] = condition_data(step.condition)
    return data


def condition_data(condition: m.Condition) -> dict[str, Any]:
    def clause(c: m.Clause) -> dict[str, Any]:
        return {"field": c.field, c.op: _plain(c.value)}
    return {"all": [clause(c) for c in condition.all_], "any": [clause(c) for c in condition.any_]}


def playbook_data(library: Library, playbook: m.Playbook, *,
                  steps: bool = True) -> dict[str, Any]:
    """A playbook as plain data: codes as written in its file."""
    trigger = {k: v for k, v in _plain(dataclasses.asdict(playbook.trigger)).items()
               if v is not None and not (k == "offset_days" and v == 0)}
    data: dict[str, Any] = {
        "name": playbook.name, "title": playbook.title, "set": playbook.set,
        "enabled": library.is_enabled(playbook.name), "trigger": trigger,
        "conditions": condition_data(playbook.conditions),
        "goal": None if playbook.goal is None else dataclasses.asdict(playbook.goal),
        "reentry": playbook.reentry, "reentry_days": playbook.reentry_days,
        "exit_when_unmatched": playbook.exit_when_unmatched,
        "control_share": library.control_share_of(playbook),
        "steps_count": len(playbook.steps), "version": playbook.version,
        "source": playbook.source, "description": playbook.description,
    }
    if steps:
        data["steps"] = [step_data(s) for s in playbook.steps]
    return data


# --- the preview ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PreviewMessage:
    """A send step of a playbook rendered for one customer (``problem``: why it could not
    be; the journey would skip it)."""

    step: str
    channel: str
    purpose: str
    template: str
    language: str | None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preview(library: Library, engine: TemplateEngine, name: str, facts: Facts, *,
            language: str | None = None) -> list[PreviewMessage]:
    """Each send step of playbook ``name`` rendered for the customer of ``facts``, in
    ``language`` (default the customer's; the template's choice of language applies)."""
    playbook = library.get(name)
    templates: TemplateSet = library.templates
    wanted = language or _text(facts.get("language"))
    context = template_context(facts, business=library.business, playbook=playbook,
                               unsubscribe_url="https://example.invalid/unsubscribe/preview",
                               coupon={"code": "PREVIEW", "reward": "-"})
    messages: list[PreviewMessage] = []
    for step in playbook.steps:
        if not isinstance(step, m.Send):
            continue
        template = templates.choose(step.template, wanted)
        base = PreviewMessage(step=step.id, channel=step.channel, purpose=step.purpose,
                              template=step.template,
                              language=template.language if template else None)
        if template is None:
            messages.append(dataclasses.replace(base, problem=_("no such template")))
            continue
        try:
            rendered = engine.render(template, context)
        except TemplateRenderError as exc:
            messages.append(dataclasses.replace(base, problem=exc.reason))
            continue
        messages.append(dataclasses.replace(base, subject=rendered.subject, text=rendered.text,
                                            html=rendered.html))
    return messages


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
