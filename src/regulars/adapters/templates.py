"""Message templates of the playbooks (issue 20): Jinja2, sandboxed, checked when loaded.

A business writes templates, so they are treated as untrusted: the immutable sandbox (no
attribute of Python internals, no changing lists), :class:`~jinja2.StrictUndefined` (a missing
value is an error, not an empty greeting), escaping in HTML only (a plain-text message with
``&amp;`` in it would be a bug), and no loader (a template cannot include a file of the
server). :meth:`JinjaEngine.check` refuses at load time what would fail at send time: syntax,
a name outside :data:`~regulars.domain.playbooks.model.TEMPLATE_VARIABLES`, a failure to render
with sample values.

Dates, numbers and money are written in the template's language through the filters ``date``,
``number`` and ``money`` (Babel, as everywhere else in the product).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes, pass_context
from jinja2 import Template as JinjaTemplate
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from regulars.domain.playbooks.model import TEMPLATE_VARIABLES, Template
from regulars.i18n import _, fmt_date, fmt_money, fmt_number, use_language
from regulars.services.playbooks.ports import Rendered, TemplateRenderError

if TYPE_CHECKING:
    from regulars.services.playbooks.ports import TemplateEngine

# an object whose own attributes are free-form (a customer's attributes: disc, founded, …)
_OPEN = {("customer", "attributes")}


def _as_day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return date.fromisoformat(value)
    raise TypeError(f"not a date: {value!r}")


def _date(value: object) -> str:
    return fmt_date(_as_day(value))


def _number(value: object, digits: int = 0) -> str:
    if value is None or isinstance(value, int | float | Decimal):
        return fmt_number(value, digits)
    return fmt_number(float(str(value)), digits)


def _money(value: object, currency: str | None = None) -> str:
    if value is None or isinstance(value, int | float | Decimal):
        return fmt_money(value, currency)
    return fmt_money(Decimal(str(value)), currency)


def _at_render(function: Callable[..., str]) -> Callable[..., str]:
    """The filter run when the template renders, never folded into a constant when it is
    compiled (``{{ 1234.5|money('EUR') }}`` would otherwise be written once, in the language
    of the moment, and a compiled template is reused in every language): Jinja folds a
    filter's call on constants unless the filter takes the render's context."""

    @pass_context
    def run(_context: Context, value: object, *args: Any) -> str:
        return function(value, *args)

    return run


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape,
                                        keep_trailing_newline=True)
    env.filters.update(date=_at_render(_date), number=_at_render(_number),
                       money=_at_render(_money))
    return env


class _AnyKey(dict[str, Any]):
    """Sample attributes: whatever name a template reads, it has a value."""

    def __missing__(self, key: str) -> str:
        return "sample"


def sample_context() -> dict[str, object]:
    """Values for every template variable, to try a template with before any customer."""
    return {
        "customer": {
            "customer_id": "C-1", "name": "Anna Kask", "first_name": "Anna",
            "email": "anna@example.com", "phone": "+372 5555 5555", "manager": "Mari",
            "rung": "regular", "status": "active", "tier": "gold", "points": 120,
            "orders": 5, "last_order_at": datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
            "attributes": _AnyKey(founded="2011-05-17", disc="D"),
        },
        "business": {"name": "Kohvik", "phone": "+372 600 0000", "email": "info@example.com",
                     "website": "https://example.com"},
        "manager": {"name": "Mari"},
        "playbook": {"name": "sample", "title": "Sample"},
        "unsubscribe_url": "https://example.com/u/sample",
        "coupon": {"code": "ABC-123", "reward": "coffee"},
    }


def _names_used(ast: nodes.Template) -> list[str]:
    """Every ``name`` and ``name.attribute`` (and ``name["attribute"]``) the template reads,
    as dotted paths, for names it does not set itself."""
    free = find_undeclared_variables(ast)
    found: list[str] = sorted(free)
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        inner = node.node
        if not (isinstance(inner, nodes.Name) and inner.name in free):
            continue
        if isinstance(node, nodes.Getattr):
            found.append(f"{inner.name}.{node.attr}")
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.append(f"{inner.name}.{node.arg.value}")
        else:
            found.append(f"{inner.name}[…]")
    return found


def _unknown(path: str) -> bool:
    head, _dot, attr = path.partition(".")
    if head not in TEMPLATE_VARIABLES:
        return True
    allowed = TEMPLATE_VARIABLES[head]
    if not attr:
        return False
    return allowed is None or attr not in allowed


class JinjaEngine:
    """The :class:`~regulars.services.playbooks.ports.TemplateEngine` of the product."""

    def __init__(self) -> None:
        self._plain = _environment(autoescape=False)
        self._html = _environment(autoescape=True)
        # compiled once: a year's schedule renders the same few templates many thousand times
        self._compiled: dict[tuple[bool, str], JinjaTemplate] = {}

    def _compile(self, env: ImmutableSandboxedEnvironment, source: str) -> JinjaTemplate:
        key = (env is self._html, source)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) > 1000:  # a bound, not a policy: templates are few
                self._compiled.clear()
            compiled = self._compiled[key] = env.from_string(source)
        return compiled

    def _parts(self, template: Template) -> list[tuple[str, str, ImmutableSandboxedEnvironment]]:
        parts = [("text", template.text, self._plain)]
        if template.subject is not None:
            parts.append(("subject", template.subject, self._plain))
        if template.html is not None:
            parts.append(("html", template.html, self._html))
        return parts

    def check(self, template: Template) -> list[str]:
        problems: list[str] = []
        for part, source, env in self._parts(template):
            try:
                ast = env.parse(source)
                used = _names_used(ast)  # compiles: an unknown filter shows here
            except TemplateSyntaxError as exc:
                problems.append(_("{part}: syntax error on line {line}: {error}").format(
                    part=part, line=exc.lineno, error=exc.message))
                continue
            if any(True for _n in ast.find_all((nodes.Include, nodes.Extends, nodes.Import,
                                                nodes.FromImport))):
                problems.append(_("{part}: a template may not include, extend or import "
                                  "another").format(part=part))
                continue
            unknown = [p for p in dict.fromkeys(used) if _unknown(p)]
            for path in unknown:
                problems.append(_("{part}: unknown template variable {name}").format(
                    part=part, name=path))
            if unknown:
                continue
            try:
                with use_language(template.language):
                    env.from_string(source).render(sample_context())
            except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
                problems.append(_("{part}: does not render with sample values: {error}").format(
                    part=part, error=exc))
        return problems

    def render(self, template: Template, context: Mapping[str, object]) -> Rendered:
        out: dict[str, str] = {}
        try:
            with use_language(template.language):
                for part, source, env in self._parts(template):
                    out[part] = self._compile(env, source).render(dict(context))
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateRenderError(template.name, template.language, str(exc)) from None
        subject = out.get("subject")
        return Rendered(
            # one line: a line break in a subject would start a header of its own
            subject=" ".join(subject.split()) if subject is not None else None,
            text=out["text"], html=out.get("html"))


if TYPE_CHECKING:  # mypy checks that the engine is what the other parts expect
    def _is_engine(engine: JinjaEngine) -> TemplateEngine:
        return engine
