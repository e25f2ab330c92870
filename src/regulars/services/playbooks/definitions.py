"""All the playbooks a business has (issue 20): the shipped sets, its own files and the
``[playbook.…]`` tables of ``regulars.toml``, checked together, and which of them run.

Documents are read in order and a later one wins: a business's playbook named like a shipped
one replaces it (the shipped sets are editable without copying the package), and so does a
template of the same name (all its languages, so a message is never half the business's words
and half ours). Every template is tried with the engine in each language it has, so a template
that would fail at send time fails here, naming the playbook and step that send it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from regulars.domain.errors import InputError
from regulars.domain.playbooks import model as m
from regulars.domain.playbooks.parse import (
    PlaybookError,
    PlaybooksInvalid,
    parse,
    template_names,
)
from regulars.i18n import _
from regulars.services.playbooks.ports import TemplateEngine
from regulars.services.playbooks.templates import TemplateSet

SETTINGS_LABEL = "[playbooks]"


@dataclass(frozen=True)
class Document:
    """One loaded TOML document: ``source`` names it in errors; ``definitions_only`` when it
    is a playbooks file of its own (not ``regulars.toml``, whose other tables are settings)."""

    source: str
    data: Mapping[str, Any]
    definitions_only: bool = True


class UnknownPlaybookError(InputError):
    """No playbook has this name."""

    def __init__(self, name: str):
        super().__init__(_("unknown playbook {name!r} (see `regulars playbooks list`)")
                         .format(name=name))
        self.name = name


@dataclass(frozen=True)
class Library:
    """The playbooks by name (in the order they were read), their templates, and what runs."""

    playbooks: Mapping[str, m.Playbook]
    templates: TemplateSet
    enabled_sets: tuple[str, ...] = ()
    disabled: frozenset[str] = frozenset()
    control_share: float = 0.1
    custom_events: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())
    business: Mapping[str, str] = field(default_factory=dict)  # name, phone, email, website

    def get(self, name: str) -> m.Playbook:
        try:
            return self.playbooks[name]
        except KeyError:
            raise UnknownPlaybookError(name) from None

    def is_enabled(self, name: str) -> bool:
        """Whether the playbook runs: its set is switched on, it is not switched off by name,
        and its own ``enabled`` is not false."""
        playbook = self.get(name)
        return (playbook.enabled and playbook.set in self.enabled_sets
                and name not in self.disabled)

    def enabled(self) -> list[m.Playbook]:
        return [p for name, p in self.playbooks.items() if self.is_enabled(name)]

    def control_share_of(self, playbook: m.Playbook) -> float:
        return self.control_share if playbook.control_share is None else playbook.control_share

    def sets(self) -> list[str]:
        return sorted({p.set for p in self.playbooks.values()})


def customer_codes() -> dict[str, tuple[str, ...]]:
    """The codes the customer map gives a customer, by kind, which triggers and conditions
    may name."""
    from regulars.analytics.ladder import RUNGS, STATUSES
    from regulars.analytics.signals import SIGNALS
    from regulars.analytics.traits import RFM_SEGMENTS, TRAITS

    return {"rung": RUNGS, "status": STATUSES, "signal": SIGNALS, "trait": TRAITS,
            "rfm_segment": RFM_SEGMENTS}


def build_library(documents: Sequence[Document], engine: TemplateEngine, *,
                  unreadable: Sequence[PlaybookError] = (),
                  enabled_sets: Iterable[str] = (), disabled: Collection[str] = (),
                  control_share: float = 0.1, custom_events: Collection[str] = (),
                  default_language: str = "en",
                  business: Mapping[str, str] | None = None) -> Library:
    """Parse, merge and check ``documents``. Raises :class:`PlaybooksInvalid` with every
    problem of every document, and ``unreadable``'s (files that could not be read: the
    others are still checked, so one run names every problem)."""
    errors: list[PlaybookError] = list(unreadable)
    every_template = set().union(*(template_names(d.data) for d in documents))
    playbooks: dict[str, m.Playbook] = {}
    templates: dict[str, dict[str, m.Template]] = {}
    for document in documents:
        try:
            parsed = parse(document.data, document.source, custom_events=custom_events,
                           known_templates=every_template,
                           definitions_only=document.definitions_only, codes=customer_codes())
        except PlaybooksInvalid as exc:
            errors += exc.errors
            continue
        playbooks.update((p.name, p) for p in parsed.playbooks)
        mine: dict[str, dict[str, m.Template]] = {}
        for template in parsed.templates:
            mine.setdefault(template.name, {})[template.language] = template
        templates.update(mine)
    errors += _check_templates(playbooks.values(), templates, engine)
    enabled = tuple(enabled_sets)
    known_sets = {p.set for p in playbooks.values()}
    for name in enabled:
        if name not in known_sets:
            errors.append(PlaybookError(SETTINGS_LABEL, None, None, _(
                "enabled names the set {name!r}, which no playbook belongs to (sets: {sets})")
                .format(name=name, sets=", ".join(sorted(known_sets)) or "-")))
    for name in disabled:
        if name not in playbooks:
            errors.append(PlaybookError(SETTINGS_LABEL, None, None, _(
                "disabled names the playbook {name!r}, which does not exist").format(name=name)))
    if errors:
        raise PlaybooksInvalid(errors)
    return Library(
        playbooks=playbooks,
        templates=TemplateSet([t for v in templates.values() for t in v.values()],
                              default_language),
        enabled_sets=enabled, disabled=frozenset(disabled), control_share=control_share,
        custom_events=tuple(custom_events), sources=tuple(d.source for d in documents),
        business=dict(business or {}))


def _check_templates(playbooks: Iterable[m.Playbook],
                     templates: Mapping[str, Mapping[str, m.Template]],
                     engine: TemplateEngine) -> list[PlaybookError]:
    errors: list[PlaybookError] = []
    problems = {(name, lang): engine.check(t)
                for name, versions in templates.items() for lang, t in versions.items()}
    used: set[str] = set()
    for playbook in playbooks:
        for step in playbook.steps:
            if not isinstance(step, m.Send):
                continue
            used.add(step.template)
            for lang, template in sorted(templates.get(step.template, {}).items()):
                found = list(problems[(step.template, lang)])
                if step.channel == m.CHANNEL_EMAIL and template.subject is None:
                    found.append(_("an e-mail needs a subject"))
                for problem in found:
                    errors.append(PlaybookError(
                        template.source or playbook.source, playbook.name, step.id,
                        _('template "{name}" ({language}): {problem}').format(
                            name=step.template, language=lang, problem=problem)))
    for (name, lang), found in sorted(problems.items()):
        if name in used:
            continue
        for problem in found:
            errors.append(PlaybookError(templates[name][lang].source, None, None, problem,
                                        template=f"{name}.{lang}"))
    return errors
