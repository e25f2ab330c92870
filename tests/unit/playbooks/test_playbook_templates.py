"""Message templates (issue 20): the sandboxed Jinja2 engine's checks and rendering, and the
choice of language."""

from __future__ import annotations

from datetime import date

import pytest

from regulars.adapters.templates import JinjaEngine, sample_context
from regulars.domain.playbooks.model import Template
from regulars.i18n import use_language
from regulars.services.playbooks.ports import TemplateRenderError
from regulars.services.playbooks.templates import TemplateSet

ENGINE = JinjaEngine()


def tpl(text: str, *, html: str | None = None, subject: str | None = None,
        language: str = "en") -> Template:
    return Template(name="t", language=language, text=text, subject=subject, html=html)


def check(template: Template) -> list[str]:
    with use_language("en"):
        return ENGINE.check(template)


def test_a_good_template_passes() -> None:
    assert check(tpl("Hi {{ customer.first_name }}, {{ business.name }} "
                     "{{ customer.attributes.disc }} {{ unsubscribe_url }}",
                     subject="Hello {{ customer['name'] }}")) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("{{ customer.favourite_colour }}", "text: unknown template variable "
                                        "customer.favourite_colour"),
    ("{{ secret }}", "text: unknown template variable secret"),
    ("{{ unsubscribe_url.path }}", "text: unknown template variable unsubscribe_url.path"),
    ("{% if customer.name %}x", "text: syntax error on line 1: Unexpected end of template. "),
    ("{% include 'x.html' %}", "text: a template may not include, extend or import another"),
    ("{{ customer.name|nosuchfilter }}", "text: syntax error on line 1: No filter named "
                                         "'nosuchfilter'."),
    ("{{ customer.orders / 0 }}", "text: does not render with sample values: division by zero"),
    ("{{ customer.name.__class__ }}", "text: does not render with sample values: "),
])
def test_a_bad_template_is_refused_with_its_reason(text: str, problem: str) -> None:
    (found,) = check(tpl(text))
    assert found.startswith(problem)


def test_loop_variables_are_not_taken_for_unknown_ones() -> None:
    assert check(tpl("{% for t in ['a'] %}{{ t }}{% endfor %}{% set x = 1 %}{{ x }}")) == []


def test_html_is_escaped_and_text_is_not() -> None:
    context = sample_context()
    context["customer"] = {**context["customer"], "first_name": "<Tom & Jerry>"}  # type: ignore[dict-item]
    out = ENGINE.render(tpl("Hi {{ customer.first_name }}", subject="A\nB {{ manager.name }}",
                            html="<p>{{ customer.first_name }}</p>"), context)
    assert out.text == "Hi <Tom & Jerry>"
    assert out.html == "<p>&lt;Tom &amp; Jerry&gt;</p>"
    assert out.subject == "A B Mari"


def test_dates_and_money_in_the_templates_language() -> None:
    context = sample_context()
    text = "{{ customer.last_order_at|date }} {{ 1234.5|money('EUR') }} {{ 2571769|number }}"
    with use_language("en"):
        ru = ENGINE.render(tpl(text, language="ru"), context).text
        et = ENGINE.render(tpl(text, language="et"), context).text
        en = ENGINE.render(tpl(text, language="en"), context).text
    assert ru == "03.11.2026 1\xa0234,50\xa0€ 2\xa0571\xa0769"
    assert et == "03.11.2026 1\xa0234,50\xa0€ 2\xa0571\xa0769"
    assert en == "Nov 3, 2026 €1,234.50 2,571,769"
    assert ENGINE.render(tpl("{{ d|date }}"), {"d": date(2027, 1, 2)}).text == "Jan 2, 2027"


def test_a_missing_value_fails_the_render_instead_of_sending_a_blank() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        ENGINE.render(tpl("Hi {{ customer.first_name }}"), {"customer": {}})
    assert caught.value.template == "t"
    assert "first_name" in caught.value.reason


def test_the_language_is_the_customers_then_the_default_then_any() -> None:
    ru, et = tpl("ru", language="ru"), tpl("et", language="et")
    templates = TemplateSet([ru, et], default_language="et")
    assert templates.choose("t", "ru") is ru
    assert templates.choose("t", "ru-RU") is ru
    assert templates.choose("t", "en") is et          # the business's default
    assert TemplateSet([ru, et], default_language="en").choose("t", "de") is et  # any: first
    assert templates.choose("nope", "ru") is None


def test_every_variable_a_template_may_name_passes_the_check() -> None:
    from regulars.domain.playbooks.model import TEMPLATE_VARIABLES

    names = [name if attrs is None else f"{name}.{attr}"
             for name, attrs in TEMPLATE_VARIABLES.items() for attr in (attrs or (None,))]
    text = " ".join(f"{{{{ {n} }}}}" for n in names) + " {{ customer.attributes.anything }}"
    assert check(tpl(text, html=text, subject="{{ playbook.title }}")) == []
