"""pydantic's validation errors in our own words, in the reader's language.

pydantic writes its messages in English only ("Input should be a valid integer, unable to parse
string as an integer"); the settings file's problems and the HTTP API's 422 answers say instead
what is wrong, by the error's ``type``, in short words a shop owner reads: "not a whole
number", "field required". The messages our own validators raise (``value_error``) and our own
error types (``input_limit``) are already ours and already translated: they are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from regulars.i18n import N_, _, fmt_number, ngettext

_DATE = N_("not a valid date: write it as 2026-03-31")
_MOMENT = N_("not a valid date and time: write it as 2026-03-31T14:05:00Z")
_NUMBER = N_("not a valid number")
_WHOLE = N_("not a whole number")
_YES_NO = N_("not true or false")
_URL = N_("not a valid URL")

#: error type -> the message, when it needs nothing from the error's context
PLAIN: dict[str, str] = {
    "missing": N_("field required"),
    "extra_forbidden": N_("unknown field"),
    "unexpected_keyword_argument": N_("unknown field"),
    "json_invalid": N_("not valid JSON"),
    "json_type": N_("not valid JSON"),
    "int_parsing": _WHOLE, "int_type": _WHOLE, "int_from_float": _WHOLE,
    "int_parsing_size": N_("the number is too large"),
    "float_parsing": _NUMBER, "float_type": _NUMBER,
    "decimal_parsing": _NUMBER, "decimal_type": _NUMBER,
    "finite_number": N_("not a finite number"),
    "bool_parsing": _YES_NO, "bool_type": _YES_NO,
    "string_type": N_("not text"),
    "string_unicode": N_("not text"),
    "string_pattern_mismatch": N_("not in the expected form"),
    "date_parsing": _DATE, "date_type": _DATE, "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": N_("a date without a time of day is expected"),
    "datetime_parsing": _MOMENT, "datetime_type": _MOMENT,
    "datetime_from_date_parsing": _MOMENT, "datetime_object_invalid": _MOMENT,
    "timezone_aware": N_("the time needs a time zone, such as Z or +02:00"),
    "timezone_naive": N_("the time must not name a time zone"),
    "list_type": N_("a list is expected"), "tuple_type": N_("a list is expected"),
    "set_type": N_("a list is expected"),
    "dict_type": N_("an object is expected"), "model_type": N_("an object is expected"),
    "model_attributes_type": N_("an object is expected"),
    "url_parsing": _URL, "url_type": _URL, "url_scheme": N_("the URL must start with http:// "
                                                             "or https://"),
    "url_syntax_violation": _URL, "url_too_long": _URL,
    "uuid_parsing": N_("not a valid UUID"), "uuid_type": N_("not a valid UUID"),
    "none_required": N_("must be empty"),
    "frozen_field": N_("cannot be changed"), "frozen_instance": N_("cannot be changed"),
}

#: error type -> (the message with ``{limit}``, the context key naming the limit)
BOUNDED: dict[str, tuple[str, str]] = {
    "greater_than": (N_("must be greater than {limit}"), "gt"),
    "greater_than_equal": (N_("must be at least {limit}"), "ge"),
    "less_than": (N_("must be less than {limit}"), "lt"),
    "less_than_equal": (N_("must be at most {limit}"), "le"),
    "multiple_of": (N_("must be a multiple of {limit}"), "multiple_of"),
}

#: our own error types: the message is ours already (translated where it was raised)
OURS = frozenset({"input_limit", "value_error", "assertion_error"})


def _counted(kind: str, ctx: Mapping[str, Any]) -> str | None:
    """The messages with a count (each language has its plural forms: ngettext of literals)."""
    if kind == "string_too_short":
        n = int(ctx.get("min_length") or 0)
        text = ngettext("at least {n} character", "at least {n} characters", n)
    elif kind == "string_too_long":
        n = int(ctx.get("max_length") or 0)
        text = ngettext("at most {n} character", "at most {n} characters", n)
    elif kind == "too_short":
        n = int(ctx.get("min_length") or 0)
        text = ngettext("at least {n} item", "at least {n} items", n)
    elif kind == "too_long":
        n = int(ctx.get("max_length") or 0)
        text = ngettext("at most {n} item", "at most {n} items", n)
    elif kind == "decimal_max_digits":
        n = int(ctx.get("max_digits") or 0)
        text = ngettext("at most {n} digit", "at most {n} digits", n)
    elif kind == "decimal_max_places":
        n = int(ctx.get("decimal_places") or 0)
        text = ngettext("at most {n} decimal place", "at most {n} decimal places", n)
    elif kind == "decimal_whole_digits":
        n = int(ctx.get("whole_digits") or 0)
        text = ngettext("at most {n} digit before the decimal point",
                        "at most {n} digits before the decimal point", n)
    else:
        return None
    return text.format(n=fmt_number(n))


def _bound(value: object) -> str:
    """A limit as the reader writes numbers (whole ones with the language's separators)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return fmt_number(value)
    return str(value)


def _choices(expected: object) -> str:
    """pydantic's ``"'a', 'b' or 'c'"`` (English "or") as ``a, b, c``."""
    text = str(expected)
    quoted = re.findall(r"'([^']*)'", text)
    return ", ".join(quoted) if quoted else text


def error_message(error: Mapping[str, Any]) -> str:
    """One of pydantic's errors (an item of ``ValidationError.errors()``) in our words, in the
    current language."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind in OURS:
        cause = ctx.get("error")
        return str(cause) if cause is not None and str(cause) else str(error.get("msg", ""))
    if kind in PLAIN:
        return _(PLAIN[kind])
    if kind in BOUNDED:
        template, key = BOUNDED[kind]
        return _(template).format(limit=_bound(ctx.get(key)))
    counted = _counted(kind, ctx)
    if counted is not None:
        return counted
    if kind in ("literal_error", "enum"):
        return _("must be one of: {choices}").format(choices=_choices(ctx.get("expected")))
    if kind == "union_tag_invalid":
        return _("unknown kind {tag}; expected one of: {choices}").format(
            tag=ctx.get("tag"), choices=_choices(ctx.get("expected_tags")))
    if kind == "union_tag_not_found":
        return _("the field {field} is missing").format(
            field=str(ctx.get("discriminator", "")).strip("'"))
    return _("not a valid value")
