"""Where settings come from: the TOML file, ``REGULARS_…`` variables and code overrides.

pydantic-settings reads the sources; this module reads them a second time, itself, to refuse a
key nobody knows (a typo is an error, not silently ignored) and to remember which source set
each key (its provenance, which ``regulars config show`` prints and every error message names).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from regulars.config.pydantic_words import error_message
from regulars.config.reference import _catalogue, _sections, _top_level
from regulars.domain.errors import ConfigError
from regulars.i18n import _, fmt_number, ngettext

ENV_PREFIX: Final = "REGULARS_"
CONFIG_ENV_VAR: Final = "REGULARS_CONFIG"
DEFAULT_CONFIG_FILE: Final = Path("regulars.toml")
_NESTED: Final = "__"

# The TOML file of the Settings being built; set by load_settings for the duration of one
# construction. Unset means the usual lookup (REGULARS_CONFIG, then ./regulars.toml).
_config_file: ContextVar[Path | None] = ContextVar("regulars_config_file", default=None)


def env_var_name(key: str) -> str:
    """The environment variable that sets a dotted key: ``REGULARS_ANALYSIS__RFM_BINS``."""
    return ENV_PREFIX + key.replace(".", _NESTED).upper()


# --- reading the sources ourselves, to check keys and to know where each value came from ---------


def _resolve_config_file(config_file: Path | None) -> Path | None:
    """The TOML file to read, or ``None`` when the default one does not exist."""
    if config_file is not None:
        named, how = Path(config_file), _("named in code")
    elif os.environ.get(CONFIG_ENV_VAR):
        named, how = (
            Path(os.environ[CONFIG_ENV_VAR]),
            _("named by {var}").format(var=CONFIG_ENV_VAR),
        )
    else:
        default = DEFAULT_CONFIG_FILE.absolute()
        if default.exists() and not default.is_file():
            raise ConfigError(_("{path}: not a file").format(path=default))
        return default if default.exists() else None
    named = named.absolute()
    if not named.is_file():
        if named.exists():
            problem = _("configuration file {path} ({how}) is not a file")
        else:
            problem = _("configuration file {path} ({how}) does not exist")
        raise ConfigError(problem.format(path=named, how=how))
    return named


def _active_config_file() -> Path | None:
    """The file chosen by load_settings, or else the usual lookup (for a bare ``Settings()``)."""
    return _config_file.get() or _resolve_config_file(None)


def _file_label(path: Path) -> str:
    return f"{path.name} ({path})"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _("{path}: not valid TOML: {error}").format(path=path, error=exc)
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read: {error}").format(path=path, error=exc.strerror or exc)
        ) from None


def _normalise_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nest dotted keys and spell the import section as in TOML (``import``)."""
    sections = {s.attribute: s.name for s in _sections()}
    result: dict[str, Any] = {}
    for raw_key, value in values.items():
        head, _dot, rest = raw_key.partition(".")
        head = sections.get(head, head)
        if rest:
            existing = result.setdefault(head, {})
            if isinstance(existing, dict):
                existing[rest] = value
            else:  # a whole section object and a dotted key for it: the dotted key wins
                result[head] = {**_as_mapping(existing), rest: value}
        elif isinstance(result.get(head), dict) and isinstance(value, Mapping):
            result[head] = {**value, **result[head]}
        else:
            result[head] = value
    return result


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return {}


def _set_keys(data: Mapping[str, Any]) -> Iterator[str]:
    """The dotted keys a source sets, including keys no setting has."""
    sections = {s.name for s in _sections()}
    for key, value in data.items():
        if key in sections and (
            isinstance(value, Mapping | BaseModel)
            or (dataclasses.is_dataclass(value) and not isinstance(value, type))
        ):
            for sub in _as_mapping(value):
                yield f"{key}.{sub}"
        else:
            yield key


def _raise_unknown_keys(data: Mapping[str, Any], origin: str) -> None:
    known = [e.key for e in _catalogue()]
    section_names = {s.name for s in _sections()}
    problems = []
    for key, value in data.items():
        if key in section_names and not (
            isinstance(value, Mapping | BaseModel)
            or (dataclasses.is_dataclass(value) and not isinstance(value, type))
        ):
            problems.append(
                _("{origin}: {key} must be a table ([{key}]), not {value!r}").format(
                    origin=origin, key=key, value=value
                )
            )
    for key in _set_keys(data):
        if key in known or key in section_names:
            continue
        problems.append(_unknown_key(origin, key))
    if problems:
        raise ConfigError(_join_problems(problems))


def _trace_sources(
    toml_data: Mapping[str, Any],
    toml_label: str,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> dict[str, str]:
    """Which source set each key: override > env > TOML (keys no setting has are kept too)."""
    sources = dict.fromkeys(_set_keys(toml_data), toml_label)
    sources.update(_env_keys(environ))
    sources.update(dict.fromkeys(_set_keys(overrides), "override"))
    return sources


def _env_keys(environ: Mapping[str, str]) -> dict[str, str]:
    """The dotted keys set by ``REGULARS_…`` variables, as pydantic-settings reads them."""
    # pydantic-settings matches names case-insensitively; a whole section may come as JSON
    # (REGULARS_ANALYSIS='{"rfm_bins": 4}') and its single keys override that JSON.
    top = {e.key for e in _top_level()}
    sections = {s.name for s in _sections()}
    by_json: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for var, raw in environ.items():
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper[len(ENV_PREFIX) :].lower()
        label = f"env {var}"
        if rest in top:
            by_name[rest] = label
        elif rest in sections:
            try:
                decoded = json.loads(raw)
            except ValueError as exc:
                # pydantic-settings would fail here too, without naming the variable
                raise ConfigError(
                    _("{origin}: the [{section}] section must be a JSON object: {error}").format(
                        origin=label, section=rest, error=exc
                    )
                ) from None
            if isinstance(decoded, dict):
                by_json.update({f"{rest}.{sub}": label for sub in decoded})
            else:
                by_name[rest] = label
        else:
            section, delimiter, name = rest.partition(_NESTED)
            if delimiter and section in sections and name:
                by_name[f"{section}.{name}"] = label
    return {**by_json, **by_name}


def _describe_validation_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    section_names = {s.attribute: s.name for s in _sections()}
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if loc:
            loc[0] = section_names.get(loc[0], loc[0])
        key = ".".join(loc) or _("(settings)")
        origin = sources.get(key) or next(
            (label for k, label in sources.items() if k.startswith(key + ".")), _("default")
        )
        if error["type"] in {"extra_forbidden", "unexpected_keyword_argument"}:
            problem = _unknown_key(origin, key)
        else:
            # pydantic's English message in our words, in the reader's language
            problem = _("{origin}: {key}: {message} (got {value!r})").format(
                origin=origin, key=key, message=error_message(error), value=error.get("input")
            )
        problems.append(problem)
    return _join_problems(problems)


def _unknown_key(origin: str, key: str) -> str:
    """An "unknown setting" problem, with the closest known key of the same section."""
    section, _dot, name = key.rpartition(".")
    siblings = [
        e.key.rpartition(".")[2] for e in _catalogue() if e.key.rpartition(".")[0] == section
    ]
    if not section:
        siblings += [s.name for s in _sections()]
    problem = _("{origin}: unknown setting {key!r}").format(origin=origin, key=key)
    close = difflib.get_close_matches(name, siblings, n=1)
    if close:
        suggestion = f"{section}.{close[0]}" if section else close[0]
        problem += " " + _("(did you mean {key!r}?)").format(key=suggestion)
    return problem


def _join_problems(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    n = len(problems)
    header = ngettext("{n} problem in the configuration:", "{n} problems in the configuration:",
                      n).format(n=fmt_number(n))
    return "\n".join([header, *(f"  - {p}" for p in problems)])
