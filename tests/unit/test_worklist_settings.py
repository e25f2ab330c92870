"""The [worklist] and [contact_policy] settings: defaults, per-manager overrides, and clear
errors naming the key."""

from __future__ import annotations

from datetime import time

import pytest

from regulars.config import load_settings
from regulars.domain.contact_policy import CapRule
from regulars.domain.errors import ConfigError


def test_the_defaults_are_the_issues_and_the_articles():
    s = load_settings(None, timezone="Europe/Tallinn")
    rules, policy = s.worklist_rules(), s.contact_rules()
    assert (rules.daily_capacity, rules.recontact_after_days, rules.week_days) == (15, 30, 7)
    assert rules.default_owner is None and rules.time_zone == "Europe/Tallinn"
    assert policy.caps == (CapRule("former", None, "any", 2, 365),
                           CapRule("all", None, "marketing", 4, 30))
    assert policy.quiet_hours == (time(21), time(9)) and policy.quiet_days == {"sunday"}
    assert policy.zone == "Europe/Tallinn"


def test_a_manager_has_their_own_zone_and_capacity():
    s = load_settings(None, worklist={"managers": {"Anna Kask": {
        "time_zone": "Europe/Moscow", "daily_capacity": 5}}})
    rules = s.worklist_rules()
    assert rules.zone("Anna Kask") == "Europe/Moscow" and rules.capacity("Anna Kask") == 5
    assert rules.zone("Mart Tamm") == "UTC" and rules.capacity("Mart Tamm") == 15


def test_caps_are_a_list_of_rules():
    s = load_settings(None, contact_policy={"caps": [
        {"who": "loyal", "channels": ["sms", "messenger"], "purpose": "marketing", "max": 1,
         "days": 7}], "quiet_hours": "none"})
    policy = s.contact_rules()
    assert policy.caps == (CapRule("loyal", frozenset({"sms", "messenger"}), "marketing", 1, 7),)
    assert policy.quiet_hours is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"worklist": {"daily_capacity": 0}}, "worklist.daily_capacity"),
    ({"worklist": {"managers": {"Anna": {"time_zone": "Mars/Base"}}}},
     "worklist.managers.Anna.time_zone: unknown time zone 'Mars/Base'"),
    ({"worklist": {"small_customer_reasons": ["rich"]}}, "unknown reason 'rich'"),
    ({"contact_policy": {"caps": [{"who": "vips", "max": 1, "days": 2}]}},
     "unknown customers 'vips'"),
    ({"contact_policy": {"caps": [{"channels": ["fax"], "max": 1, "days": 2}]}},
     "unknown channel 'fax'"),
    ({"contact_policy": {"caps": [{"max": 1, "days": 0}]}}, "contact_policy.caps.0.days"),
    ({"contact_policy": {"quiet_hours": "9pm-9am"}}, "not a range of clock times"),
    ({"contact_policy": {"quiet_days": ["caturday"]}}, "unknown day 'caturday'"),
    ({"contact_policy": {"quiet_days": ["monday", "tuesday", "wednesday", "thursday",
                                        "friday", "saturday", "sunday"]}},
     "every day of the week is quiet"),
])
def test_a_bad_value_is_a_clear_error_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_settings(None, **overrides)
