"""Choosing the language of a message (issue 20): the customer's, else the business's
default, else any the template has (a message in another language beats no message; the
choice is stable: the first language in alphabetical order)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from regulars.domain.playbooks.model import TEMPLATE_VARIABLES, Playbook, Template

if TYPE_CHECKING:
    from regulars.services.playbooks.ports import Templates


def _base(language: str | None) -> str | None:
    if not language:
        return None
    return language.replace("_", "-").split("-")[0].lower()


class TemplateSet:
    """:class:`~regulars.services.playbooks.ports.Templates` over parsed templates."""

    def __init__(self, templates: Iterable[Template], default_language: str):
        self._by_name: dict[str, dict[str, Template]] = {}
        for template in templates:
            self._by_name.setdefault(template.name, {})[template.language] = template
        self.default_language = default_language

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def languages(self, name: str) -> list[str]:
        return sorted(self._by_name.get(name, {}))

    def all(self) -> list[Template]:
        return [t for name in self.names() for t in self._by_name[name].values()]

    def choose(self, name: str, language: str | None) -> Template | None:
        versions = self._by_name.get(name)
        if not versions:
            return None
        for wanted in (language, _base(language), self.default_language,
                       _base(self.default_language)):
            if wanted and wanted in versions:
                return versions[wanted]
        return versions[min(versions)]


def template_context(facts: Mapping[str, object], *, business: Mapping[str, str],
                     playbook: Playbook, unsubscribe_url: str = "",
                     coupon: Mapping[str, str] | None = None) -> dict[str, object]:
    """What a template may name (:data:`~regulars.domain.playbooks.model.TEMPLATE_VARIABLES`)
    for one customer: ``customer.*`` from their facts, ``business.*`` from ``[playbooks]``,
    the playbook, the unsubscribe link and the coupon of an earlier step."""
    name = str(facts.get("name") or "")
    customer = {key: facts.get(key) for key in TEMPLATE_VARIABLES["customer"] or ()}
    customer.update(
        name=name, first_name=name.split(maxsplit=1)[0] if name.split() else "",
        attributes=dict(facts.get("attributes") or {}),  # type: ignore[call-overload]
    )
    manager = facts.get("manager")
    return {
        "customer": customer,
        "business": {key: business.get(key, "") for key in TEMPLATE_VARIABLES["business"] or ()},
        "manager": {"name": manager or ""},
        "playbook": {"name": playbook.name, "title": playbook.title},
        "unsubscribe_url": unsubscribe_url,
        "coupon": dict(coupon or {"code": "", "reward": ""}),
    }


if TYPE_CHECKING:  # mypy checks that the set is what the other parts expect
    def _is_templates(templates: TemplateSet) -> Templates:
        return templates
