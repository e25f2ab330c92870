"""The programme edited on the web, whatever the store (collected on the in-memory fake in
``tests/unit/loyalty`` and on SQLite and PostgreSQL in ``tests/integration/loyalty``): the
store becomes the source of every process, a differing file is not applied until adopted,
a stale edit is refused, a future version waits for its day, and what changed in words."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from regulars.domain.loyalty import Reward, RewardKind, Tier
from regulars.domain.loyalty.errors import (
    ProgrammeRuleError,
    RewardError,
    StaleProgrammeError,
)
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.programmes import (
    describe_changes,
    new_code,
    put_reward,
    put_tier,
    reward_part,
    rules_part,
    set_rules,
    tier_part,
)

from .loyalty import programme

COFFEE = Reward("coffee", "Coffee", RewardKind.FREE_ITEM, 100)


def add_coffee(service: LoyaltyService, base: int, author: str = "mari", **kw: object):
    return service.save_programme(lambda p: put_reward(p, COFFEE, new=True), base_version=base,
                                  part=reward_part("coffee"), author=author, **kw)  # type: ignore[arg-type]


def test_without_a_web_edit_the_file_is_the_source_as_before(store, clock):
    a = LoyaltyService(store, programme(), clock=clock)
    assert [(v.number, v.source) for v in a.versions()] == [(1, "file")]
    assert not a.from_web
    b = LoyaltyService(store, programme(points_per_unit=Decimal(2)), clock=clock)
    assert [v.number for v in b.versions()] == [1, 2]
    assert b.programme.points_per_unit == 2 and b.current_version == 2


def test_a_web_edit_makes_the_store_the_source_of_every_process(store, clock, caplog):
    server = LoyaltyService(store, programme(), clock=clock, refresh_seconds=0)
    v = add_coffee(server, 1, note="new on the menu")
    assert (v.number, v.source, v.author, v.note) == (2, "web", "mari", "new on the menu")
    # the process that saved it runs it at once
    assert server.programme.reward("coffee") == COFFEE and server.current_version == 2
    # another process (another worker, the CLI) with the same file: the store's rules
    cli = LoyaltyService(store, programme(), clock=clock)
    assert cli.programme.reward("coffee") == COFFEE and cli.from_web
    assert cli.file_differs  # the file lacks the coffee: it is not applied
    # a process started with a changed file records nothing and warns (once per process)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="regulars.loyalty"):
        changed = LoyaltyService(store, programme(points_per_unit=Decimal(5)), clock=clock)
        assert changed.programme.points_per_unit == 1
        assert changed.programme.points_per_unit == 1
    assert [v.number for v in changed.versions()] == [1, 2]
    assert sum("not applied" in r.message for r in caplog.records) == 1
    # until the file is adopted explicitly
    adopted = changed.adopt_file(author="ops", note="back to the file")
    assert (adopted.number, adopted.source) == (3, "file")
    assert changed.programme.points_per_unit == 5 and not changed.from_web
    assert changed.programme.reward("coffee") is None


def test_a_long_running_process_sees_another_ones_edit(store, clock):
    worker = LoyaltyService(store, programme(), clock=clock, refresh_seconds=0)
    assert worker.programme.reward("coffee") is None
    add_coffee(LoyaltyService(store, programme(), clock=clock), 1)
    assert worker.programme.reward("coffee") == COFFEE


def test_an_edit_on_a_stale_version_is_refused_when_its_part_changed(store, clock):
    a = LoyaltyService(store, programme(), clock=clock)
    b = LoyaltyService(store, programme(), clock=clock)
    a.versions(), b.versions()
    dearer = dataclasses.replace(COFFEE, points=120)
    add_coffee(a, 1)  # v2
    a.save_programme(lambda p: put_reward(p, dearer, new=False), base_version=2,
                     part=reward_part("coffee"), author="anna")  # v3
    cheaper = dataclasses.replace(COFFEE, points=80)
    with pytest.raises(StaleProgrammeError) as e:
        b.save_programme(lambda p: put_reward(p, cheaper, new=False), base_version=2,
                         part=reward_part("coffee"), author="boris")
    assert (e.value.base, e.value.version, e.value.author) == (2, 3, "anna")
    assert "version 3" in str(e.value) and "anna" in str(e.value)
    # an edit of another part on the same old version is kept, on top of the newest
    gift = b.programme.reward("gift")
    assert gift is not None
    v = b.save_programme(lambda p: put_reward(p, dataclasses.replace(gift, points=350),
                                              new=False),
                         base_version=2, part=reward_part("gift"), author="boris")
    assert v is not None and v.number == 4
    assert v.programme.reward("coffee").points == 120  # anna's change not lost
    assert v.programme.reward("gift").points == 350


def test_an_edit_that_changes_nothing_saves_no_version(store, clock):
    s = LoyaltyService(store, programme(), clock=clock)
    r100 = s.programme.reward("r100")
    assert s.save_programme(lambda p: put_reward(p, r100, new=False), base_version=1,
                            part=reward_part("r100"), author="mari") is None
    assert len(s.versions()) == 1


def test_a_version_for_a_later_day_waits_for_it(store, clock):
    s = LoyaltyService(store, programme(), clock=clock)
    today = s.programme.local(clock.at).date()
    v = s.save_programme(lambda p: set_rules(p, bonus_sign_up=150), base_version=1,
                         part=rules_part("bonus_sign_up"), author="mari",
                         starts=today + timedelta(days=3))
    assert v is not None and v.effective_from == s.programme.midnight(today + timedelta(days=3))
    assert s.programme.bonus_sign_up == 0 and s.current_version == 1
    assert s.newest_version().number == 2
    # an edit for now is refused before a scheduled version: versions apply in order
    with pytest.raises(ProgrammeRuleError) as e:
        add_coffee(s, 2)
    assert e.value.field == "starts"
    with pytest.raises(ProgrammeRuleError) as e:
        add_coffee(s, 2, starts=today - timedelta(days=1))
    assert e.value.field == "starts" and "has passed" in str(e.value)
    clock.advance(days=3)
    assert s.programme.bonus_sign_up == 150 and s.current_version == 2


def test_a_deactivated_reward_is_not_redeemed_and_its_offers_must_stop(store, clock):
    s = LoyaltyService(store, programme(bonus_sign_up=500), clock=clock)
    s.enrol("M")
    add_coffee(s, 1)
    off = dataclasses.replace(COFFEE, active=False)
    s.save_programme(lambda p: put_reward(p, off, new=False), base_version=2,
                     part=reward_part("coffee"), author="mari")
    with pytest.raises(RewardError, match="no longer offered"):
        s.redeem("M", "coffee", key="k1")
    assert s.redeem("M", "r100", key="k2").points == 100


def test_the_rules_across_the_programme_name_their_field():
    p = programme()
    with pytest.raises(ProgrammeRuleError) as e:
        put_reward(p, dataclasses.replace(COFFEE, code="r100"), new=True)
    assert e.value.field == "code"
    with pytest.raises(ProgrammeRuleError) as e:
        put_reward(p, dataclasses.replace(COFFEE, min_tier="diamond"), new=True)
    assert e.value.field == "min_tier"
    with pytest.raises(ProgrammeRuleError) as e:
        put_tier(p, Tier("bronze", Decimal(500)), new=True)
    assert e.value.field == "threshold"
    with pytest.raises(ProgrammeRuleError) as e:
        put_tier(p, Tier("base", Decimal(10)), new=False)
    assert e.value.field == "threshold"
    assert [t.name for t in put_tier(p, Tier("bronze", Decimal(100)), new=True).tiers] == [
        "base", "bronze", "silver", "gold"]
    assert tier_part("gold")(p) == p.tiers[-1]


def test_what_changed_is_said_in_words():
    old = programme()
    new = put_reward(old, COFFEE, new=True)
    newer = set_rules(put_reward(new, dataclasses.replace(COFFEE, points=120, stock=50),
                                 new=False), bonus_birthday=300)
    assert describe_changes(old, new) == ["reward 'Coffee' added"]
    assert describe_changes(new, newer) == [
        "reward 'Coffee': cost 100 points → 120 points",
        "reward 'Coffee': stock no limit → 50",
        "birthday bonus: 0 points → 300 points"]
    gone = put_reward(newer, dataclasses.replace(newer.reward("coffee"), active=False),
                      new=False)
    assert describe_changes(newer, gone) == ["reward 'Coffee' deactivated"]


def test_a_new_code_is_made_from_the_name():
    assert new_code("Free coffee!", []) == "free-coffee"
    assert new_code("Free coffee", ["free-coffee", "free-coffee-2"]) == "free-coffee-3"
    assert new_code("Кофе", []) == "reward"
    assert new_code("Tasuta kõrvits", []) == "tasuta-korvits"


def test_the_file_adopted_again_applies_from_now_even_when_equal(store, clock):
    s = LoyaltyService(store, programme(), clock=clock)
    add_coffee(s, 1)
    back = s.save_programme(lambda p: dataclasses.replace(p, rewards=tuple(
        r for r in p.rewards if r.code != "coffee")), base_version=2,
        part=lambda p: p.rewards, author="mari")
    assert back is not None and back.from_web and not s.file_differs
    v = s.adopt_file(author="ops")
    assert v.number == 4 and not s.from_web
