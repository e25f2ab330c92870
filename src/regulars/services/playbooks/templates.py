"""Choosing the language of a message (issue 20): the customer's, else the business's
default, else any the template has (a message in another language beats no message; the
choice is stable: the first language in alphabetical order)."""

from __future__ import annotations

from collections.abc import Iterable

from regulars.domain.playbooks.model import Template


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
