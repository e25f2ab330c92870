"""The business's settings: built-in defaults, ``regulars.toml``, environment, code.

Every threshold of the domain spec has its default here (or in
:class:`regulars.analytics.params.MapParams`, which is used as is), and every business can change
it ("each company must define for itself whom it counts as a regular customer").

Sources, lowest to highest precedence:

1. the built-in defaults;
2. the business's TOML file: ``regulars.toml`` in the working directory, or the file named by
   ``REGULARS_CONFIG``, or ``load_settings(config_file=...)``;
3. environment variables ``REGULARS_<KEY>`` and, for a key in a section,
   ``REGULARS_<SECTION>__<KEY>`` (e.g. ``REGULARS_ANALYSIS__REGULAR_MIN_ORDERS=4``);
4. keyword overrides passed in code: ``load_settings(analysis={"regular_min_orders": 4})`` or
   ``load_settings(**{"analysis.regular_min_orders": 4})``.

A key nobody knows is an error, not a silently ignored typo, and every error is a
:class:`ConfigError` whose message names where the value came from (file or variable), the key
and the problem. :func:`effective_settings` tells, for every key, its value, where it came from
and what it means (``regulars config show``).

The package: :mod:`~regulars.config.settings` (the model and :func:`load_settings`),
:mod:`~regulars.config.sources` (reading the sources, provenance, error messages),
:mod:`~regulars.config.reference` (the catalogue of keys for ``config show`` and the docs),
:mod:`~regulars.config.sections` and :mod:`~regulars.config.loyalty` (the sections).
"""

from __future__ import annotations

from regulars.config.loyalty import LoyaltySettings
from regulars.config.reference import (
    SettingValue,
    effective_settings,
    settings_reference,
)
from regulars.config.sections import ApiSettings, ImportSettings, InputSettings, WebSettings
from regulars.config.settings import Settings, load_settings
from regulars.config.sources import CONFIG_ENV_VAR, DEFAULT_CONFIG_FILE, ENV_PREFIX, env_var_name
from regulars.domain.errors import ConfigError

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "ApiSettings",
    "ConfigError",
    "ImportSettings",
    "InputSettings",
    "LoyaltySettings",
    "SettingValue",
    "Settings",
    "WebSettings",
    "effective_settings",
    "env_var_name",
    "load_settings",
    "settings_reference",
]
